// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: a GGUF file's tokenizer.ggml.* metadata loaded as a tokenizer, then arbitrary
// text encoded and decoded with it, and the files written for it loaded back (input layout:
// tokenizer_fuzz_input.h).
#include "tokenizer_fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = fragua::fuzz::split_tokenizer_input(data, size);
  auto file = fragua::format::GgufFile::parse(in.file, "fuzz.gguf");
  if (!file.ok()) return 0;
  auto tok = fragua::tokenize::Tokenizer::from_gguf(*file);
  if (tok.ok()) fragua::fuzz::exercise(*tok, in.text);
  return 0;
}
