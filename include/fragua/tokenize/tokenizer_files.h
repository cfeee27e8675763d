// SPDX-License-Identifier: Apache-2.0
// A tokenizer written in the files other tools load it from, besides GGUF and tokenizer.json
// (Tokenizer::save_gguf, save_hf_json): `fragua tokenizer convert -o x.model` and
// `-o DIR/tokenizer.json`.
#pragma once

#include <string>

#include "fragua/base/error.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::tokenize {

// A SentencePiece ModelProto (.model) that spm_encode and libsentencepiece load: BPE, the pieces,
// scores and types, unk/bos/eos/pad ids, byte fallback, normalizer identity (NFKC tokenizers:
// nfkc). Refused (unsupported) for a byte-level BPE and without an unknown token.
Result<std::string> to_sentencepiece_model(const Tokenizer& tok);
// The same, written atomically; errors name `path`.
Status save_sentencepiece_model(const Tokenizer& tok, const std::string& path);

// Hugging Face's tokenizer_config.json (class, special tokens, add_bos/eos, the chat template as
// Jinja, added_tokens_decoder) and special_tokens_map.json, written into `dir` beside a
// tokenizer.json, so that AutoTokenizer.from_pretrained(dir) loads it.
Status save_hf_config(const Tokenizer& tok, const std::string& dir);

}  // namespace fragua::tokenize
