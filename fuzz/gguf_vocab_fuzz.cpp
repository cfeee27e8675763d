// libFuzzer target: a GGUF file's tokenizer.ggml.* metadata loaded as a tokenizer, then used.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fragua/format/gguf.h"
#include "fragua/tokenize/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto file = fragua::format::GgufFile::parse(bytes, "fuzz.gguf");
  if (!file.ok()) return 0;
  auto tok = fragua::tokenize::Tokenizer::from_gguf(*file);
  if (tok.ok()) {
    auto ids = tok->encode("Hola, món! Kaixo 123 \xF0\x9F\x99\x82 <s>\xFF", true, true);
    (void)tok->decode(ids, true);
  }
  return 0;
}
