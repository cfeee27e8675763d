#include "fragua/train/text_encoder.h"

#include <xxhash.h>

#include "fragua/format/gguf.h"
#include "fragua/tokenize/tokenizer.h"

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

namespace {

ShardTokenizer describe(const tokenize::Tokenizer& tok, const std::string& path) {
  XXH64_state_t* st = XXH64_createState();
  XXH64_reset(st, 0);
  auto feed = [&](std::string_view s) {
    uint64_t n = s.size();
    XXH64_update(st, &n, sizeof(n));
    XXH64_update(st, s.data(), s.size());
  };
  feed(tok.spec().kind == tokenize::ModelKind::spm ? "spm" : "bpe");
  for (const auto& t : tok.spec().tokens) feed(t);
  for (const auto& m : tok.spec().merges) feed(m);
  uint64_t h = XXH64_digest(st);
  XXH64_freeState(st);
  ShardTokenizer info;
  auto slash = path.find_last_of('/');
  info.name = slash == std::string::npos ? path : path.substr(slash + 1);
  info.vocab_size = tok.n_vocab();
  info.fingerprint = fmt::format("{:016x}", h);
  info.bos = tok.bos_id();
  info.eos = tok.eos_id();
  return info;
}

class TokenizerEncoder final : public TextEncoder {
 public:
  TokenizerEncoder(tokenize::Tokenizer tok, const std::string& path)
      : tok_(std::move(tok)), info_(describe(tok_, path)) {}
  Result<std::vector<int32_t>> encode(std::string_view text) const override {
    // Special tokens are not parsed from corpus text: "<s>" in a document is text.
    return tok_.try_encode(text, false, false);  // a pre-tokenizer over its budget is an error
  }
  const ShardTokenizer& info() const override { return info_; }

 private:
  tokenize::Tokenizer tok_;
  ShardTokenizer info_;
};

}  // namespace

Result<ShardTokenizer> tokenizer_info_from_gguf(const std::string& path) {
  auto tok = FRAGUA_TRY(tokenize::Tokenizer::load(path));
  return describe(tok, path);
}

Result<std::unique_ptr<TextEncoder>> open_text_encoder(const std::string& spec) {
  if (spec == "byte") return make_byte_encoder();
  auto tok = FRAGUA_TRY(tokenize::Tokenizer::load(spec));
  return std::unique_ptr<TextEncoder>(std::make_unique<TokenizerEncoder>(std::move(tok), spec));
}

}  // namespace fragua::train
