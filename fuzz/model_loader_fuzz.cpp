// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the whole GGUF model loader from bytes. Metadata -> hyper-parameters (every
// value range-checked, model/config.cpp) -> tensor binding (shapes and dtypes against the
// configuration) -> packing for the CPU kernels; a model that loads then runs two tokens through
// a context of 8 positions on one thread. Every weight lies inside the input, so the input size
// bounds the work (-max_len 65536).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fragua/format/gguf.h"
#include "fragua/model/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fragua;
  auto file = format::GgufFile::parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.gguf");
  if (!file.ok()) return 0;
  auto model = model::Model::from_gguf(std::move(file).value());
  if (!model.ok()) return 0;
  (void)(*model)->config().summary();
  auto ctx = model::Context::create(**model, {.n_ctx = 8, .n_batch = 4, .n_threads = 1});
  if (!ctx.ok()) return 0;
  const int32_t last = static_cast<int32_t>((*model)->config().n_vocab - 1);
  const std::vector<int32_t> tokens = {0, last};
  (void)(*ctx)->decode(tokens);
  return 0;
}
