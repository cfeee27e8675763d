// SPDX-License-Identifier: Apache-2.0
// What sharding needs from a tokenizer: text -> token ids, and a description (name, vocab
// size, fingerprint, bos/eos) stored in every shard so training can refuse shards made with
// another vocabulary. The byte-level encoder (256 byte tokens, then <s> = 256 and </s> = 257)
// is built in so sharding and training work and are tested without a trained tokenizer; the
// tokenize subsystem's tokenizers plug in through the same interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/train/shard.h"

namespace fragua::tokenize {
class Tokenizer;
}  // namespace fragua::tokenize

namespace fragua::train {

class TextEncoder {
 public:
  virtual ~TextEncoder() = default;
  virtual Result<std::vector<int32_t>> encode(std::string_view text) const = 0;
  virtual const ShardTokenizer& info() const = 0;
};

std::unique_ptr<TextEncoder> make_byte_encoder();

// The byte encoder's vocabulary as a tokenizer the inference engine (and llama.cpp) runs, for
// `fragua export --tokenizer byte`: byte-level BPE ("gpt2" in GGUF) whose token b is byte b in
// GPT-2's byte-to-Unicode alphabet, no merges, then <s> = 256 and </s> = 257 (control), BOS
// added as every training document began with it. Encoding text gives exactly the byte
// encoder's ids.
Result<tokenize::Tokenizer> make_byte_tokenizer();

// A tokenizer file (GGUF or tokenizer.json) described as shards record it; the fingerprint is
// XXH64 over the model kind, every token and every merge (length-prefixed), as 16 hex digits.
Result<ShardTokenizer> tokenizer_info_from_gguf(const std::string& path);

// "byte" -> the built-in byte encoder; a path -> that tokenizer (fragua::tokenize).
Result<std::unique_ptr<TextEncoder>> open_text_encoder(const std::string& spec);

// Fragua's default tokenizer (issue 17): fragua-32k, shipped as data/tokenizers/fragua-32k.gguf
// and installed under <prefix>/share/fragua. `corpus shard` encodes with it and `train` records
// it when no tokenizer is given. The path is found as every bundled data file is
// (find_data_file), so an installed binary never reads the source tree.
inline constexpr std::string_view kDefaultTokenizerName = "fragua-32k";
Result<std::string> default_tokenizer_path();

}  // namespace fragua::train
