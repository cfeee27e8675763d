// The architecture registry: one entry per GGUF `general.architecture` string. Adding an
// architecture = one file in model/arch/ + one line in arch_registry.cpp + one test.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "fragua/format/gguf.h"
#include "fragua/model/config.h"

namespace fragua::model {

struct Architecture {
  std::string_view name;
  // Fills the architecture's hyper-parameters (after the shared decoder keys are read).
  Status (*read_hparams)(const format::GgufFile& file, ModelConfig& config);
};

const Architecture* find_architecture(std::string_view name);
std::string known_architectures();

// Shared by decoder-only transformers in llama.cpp's naming: {arch}.embedding_length, ...
// Every value is range-checked and the error names the key: a NaN, infinite or negative
// epsilon or RoPE base would otherwise load and produce NaN logits.
Status read_decoder_hparams(const format::GgufFile& file, ModelConfig& config);

// An integer hyper-parameter in [lo, hi]; absent: `def`, or not_found when there is none.
Result<int64_t> read_int_hparam(const format::GgufFile& file, const std::string& key, std::optional<int64_t> def,
                                int64_t lo, int64_t hi);
// A float hyper-parameter, finite and in (lo, hi] ([lo, hi] when lo_inclusive); absent: `def`.
Result<float> read_float_hparam(const format::GgufFile& file, const std::string& key, double def, double lo, double hi,
                                bool lo_inclusive);

namespace arch {
extern const Architecture llama;
extern const Architecture granite;
}  // namespace arch

}  // namespace fragua::model
