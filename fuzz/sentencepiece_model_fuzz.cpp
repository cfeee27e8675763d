// libFuzzer target: SentencePiece ModelProto (.model) reading, then encode/decode.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fragua/tokenize/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto tok = fragua::tokenize::Tokenizer::from_sentencepiece_bytes(bytes, "fuzz.model");
  if (tok.ok()) {
    auto ids = tok->encode("Hola, món! Kaixo 123 \xF0\x9F\x99\x82 \xFF", true, false);
    (void)tok->decode(ids);
  }
  return 0;
}
