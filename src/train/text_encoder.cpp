#include "fragua/train/text_encoder.h"

#include <xxhash.h>

#include "fragua/format/gguf.h"

namespace fragua::train {

namespace {

class ByteEncoder final : public TextEncoder {
 public:
  ByteEncoder() {
    info_.name = "byte";
    info_.vocab_size = 258;
    info_.bos = 256;
    info_.eos = 257;
    // Fixed: the byte vocabulary never changes.
    info_.fingerprint = "byte-v1";
  }
  Result<std::vector<int32_t>> encode(std::string_view text) const override {
    std::vector<int32_t> out;
    out.reserve(text.size());
    for (unsigned char c : text) out.push_back(c);
    return out;
  }
  const ShardTokenizer& info() const override { return info_; }

 private:
  ShardTokenizer info_;
};

}  // namespace

std::unique_ptr<TextEncoder> make_byte_encoder() { return std::make_unique<ByteEncoder>(); }

Result<ShardTokenizer> tokenizer_info_from_gguf(const std::string& path) {
  auto file = FRAGUA_TRY(format::GgufFile::open(path));
  const auto* tokens = FRAGUA_TRY(file.get_strings("tokenizer.ggml.tokens"));
  std::string model = FRAGUA_TRY(file.get_string_or("tokenizer.ggml.model", ""));
  XXH64_state_t* st = XXH64_createState();
  XXH64_reset(st, 0);
  auto feed = [&](const std::string& s) {
    uint64_t n = s.size();
    XXH64_update(st, &n, sizeof(n));
    XXH64_update(st, s.data(), s.size());
  };
  feed(model);
  for (const auto& t : *tokens) feed(t);
  uint64_t h = XXH64_digest(st);
  XXH64_freeState(st);
  ShardTokenizer info;
  auto slash = path.find_last_of('/');
  info.name = slash == std::string::npos ? path : path.substr(slash + 1);
  info.vocab_size = static_cast<int>(tokens->size());
  info.fingerprint = fmt::format("{:016x}", h);
  info.bos = static_cast<int>(FRAGUA_TRY(file.get_uint_or("tokenizer.ggml.bos_token_id", static_cast<uint64_t>(-1))));
  info.eos = static_cast<int>(FRAGUA_TRY(file.get_uint_or("tokenizer.ggml.eos_token_id", static_cast<uint64_t>(-1))));
  return info;
}

Result<std::unique_ptr<TextEncoder>> open_text_encoder(const std::string& spec) {
  if (spec == "byte") return make_byte_encoder();
  return unsupported_error("{}: tokenizer files need the tokenize subsystem, which this build does not link yet "
                           "(use --tokenizer byte)", spec);
}

}  // namespace fragua::train
