// libFuzzer target: Hugging Face tokenizer.json loading, then encode/decode of a fixed text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fragua/tokenize/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto tok = fragua::tokenize::Tokenizer::from_hf_json_text(bytes, "fuzz.json");
  if (tok.ok()) {
    auto ids = tok->encode("Hola, món! Kaixo 123 \xF0\x9F\x99\x82 <s>\xFF", true, true);
    (void)tok->decode(ids, true);
  }
  return 0;
}
