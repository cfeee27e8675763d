// SPDX-License-Identifier: Apache-2.0
// Hugging Face checkpoint -> GGUF (`fragua convert`), as llama.cpp's convert_hf_to_gguf.py writes
// it for the Llama family, so the file runs in Fragua and in llama.cpp alike: config.json into
// the architecture's GGUF keys, safetensors tensors (one file or shards with
// model.safetensors.index.json) renamed through the architecture's tensor table with the Q/K row
// permutation, and the tokenizer (tokenizer.json or tokenizer.model, with tokenizer_config.json)
// as tokenizer.* keys. Streams tensor by tensor: memory stays near the largest tensor.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::model {

// The type of the matrices; norm gains and rope_freqs are always f32 (llama.cpp does the same).
// q8_0: ggml's reference quantizer (tensor/quantize.h), bit-identical to llama.cpp's; a matrix
// whose rows are not a multiple of 32 stays f16, as convert_hf_to_gguf.py falls back.
enum class OutType { f32, f16, bf16, q8_0 };
Result<OutType> parse_out_type(std::string_view name);
std::string_view out_type_name(OutType t);

// Which tokenizer file to read. automatic: tokenizer.model when present (SentencePiece, as
// llama.cpp's Llama converter prefers it), else tokenizer.json.
enum class HfTokenizerSource { automatic, json, sentencepiece };

struct ConvertOptions {
  OutType out_type = OutType::f16;
  HfTokenizerSource tokenizer = HfTokenizerSource::automatic;
  bool progress = true;  // a bar per tensor on stderr
  Env* env = nullptr;    // null: Env::posix()
};

struct ConvertReport {
  std::string architecture;  // the GGUF architecture ("llama", "granite")
  int64_t n_tensors = 0;
  int64_t n_params = 0;
  uint64_t n_bytes = 0;  // the output file
};

// Converts the model directory `hf_dir` into `out_path` (written atomically: any error leaves no
// file). Errors name the file and the field or tensor at fault.
Result<ConvertReport> convert_hf(const std::string& hf_dir, const std::string& out_path,
                                 const ConvertOptions& options = {});

// The tokenizer as convert_hf writes it: the tokenizer file, tokenizer_config.json's special
// tokens, add_bos/add_eos flags and chat template (chat_template.jinja when the config has
// none), padded with "[PAD<id>]" tokens up to n_vocab (config.json's vocab_size) as llama.cpp
// pads; a tokenizer larger than n_vocab is an error.
Result<tokenize::Tokenizer> load_hf_tokenizer(const std::string& hf_dir, HfTokenizerSource source, int64_t n_vocab,
                                              Env& env = Env::posix());

}  // namespace fragua::model
