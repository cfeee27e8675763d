// SPDX-License-Identifier: Apache-2.0
#include "fragua/train/text_encoder.h"

#include <xxhash.h>

#include "fragua/base/data_files.h"
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

Result<tokenize::Tokenizer> make_byte_tokenizer() {
  tokenize::VocabSpec spec;
  spec.kind = tokenize::ModelKind::bpe;
  spec.byte_encode = true;
  spec.pre = "default";
  // GPT-2's bytes_to_unicode (Radford et al. 2019, encoder.py): the printable bytes '!'..'~',
  // 0xA1..0xAC and 0xAE..0xFF stand for themselves, the other 68 take U+0100, U+0101, ... in byte
  // order. (tokenize keeps its copy of the map private; ByteTokenizer.EncodesAsTheByteEncoder
  // checks that the two agree through the public encoder.)
  uint32_t shifted = 0x100;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    const uint32_t cp = printable ? b : shifted++;
    std::string utf8;
    if (cp < 0x80) {
      utf8 = std::string(1, static_cast<char>(cp));
    } else {
      utf8 += static_cast<char>(0xC0 | (cp >> 6));
      utf8 += static_cast<char>(0x80 | (cp & 0x3F));
    }
    spec.tokens.push_back(std::move(utf8));
  }
  spec.tokens.push_back("<s>");
  spec.tokens.push_back("</s>");
  spec.types.assign(256, tokenize::TokenType::normal);
  spec.types.push_back(tokenize::TokenType::control);
  spec.types.push_back(tokenize::TokenType::control);
  spec.bos_id = 256;
  spec.eos_id = 257;
  spec.add_bos = true;
  spec.info.emplace_back("source", "fragua byte encoder (byte-v1)");
  return tokenize::Tokenizer::from_spec(std::move(spec));
}

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

Result<std::string> default_tokenizer_path() {
  return find_data_file(fmt::format("tokenizers/{}.gguf", kDefaultTokenizerName));
}

}  // namespace fragua::train
