// SPDX-License-Identifier: Apache-2.0
// Files other tools load a Fragua tokenizer from, besides GGUF and tokenizer.json:
//  - a SentencePiece ModelProto (.model), written field by field in the protobuf wire format
//    that sentencepiece_model.cpp reads (sentencepiece_model.proto: ModelProto 1 pieces,
//    2 trainer_spec, 3 normalizer_spec; SentencePiece 1 piece, 2 score, 3 type; TrainerSpec
//    3 model_type, 4 vocab_size, 35 byte_fallback, 40..43 unk/bos/eos/pad id; NormalizerSpec
//    1 name, 3 add_dummy_prefix, 4 remove_extra_whitespaces, 5 escape_whitespaces), so that
//    spm_encode and libsentencepiece load it;
//  - Hugging Face's tokenizer_config.json and special_tokens_map.json, which
//    AutoTokenizer.from_pretrained(dir) reads beside tokenizer.json.
#include <cstring>

#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/tokenize/tokenizer_files.h"
#include "tokenize/chat_template.h"
#include "tokenize/tokenizer_impl.h"

namespace fragua::tokenize {

namespace {

// Protocol Buffers wire format: a key is varint(field << 3 | wire type).
void spm_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void spm_key(std::string& out, uint32_t field, uint32_t wire) { spm_varint(out, uint64_t{field} << 3 | wire); }
void spm_bytes(std::string& out, uint32_t field, std::string_view b) {
  spm_key(out, field, 2);
  spm_varint(out, b.size());
  out.append(b);
}
void spm_uint(std::string& out, uint32_t field, uint64_t v) {
  spm_key(out, field, 0);
  spm_varint(out, v);
}
// int32 fields: a negative value is sign-extended to ten bytes, as protobuf encodes it.
void spm_int32(std::string& out, uint32_t field, int32_t v) {
  spm_uint(out, field, static_cast<uint64_t>(static_cast<int64_t>(v)));
}
void spm_float(std::string& out, uint32_t field, float f) {
  spm_key(out, field, 5);
  uint32_t u = 0;
  std::memcpy(&u, &f, 4);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(u >> (8 * i)));  // little-endian
}

std::string token_or_null_text(const VocabSpec& s, int32_t id) {
  return id >= 0 && id < static_cast<int32_t>(s.tokens.size()) ? s.tokens[static_cast<size_t>(id)] : std::string();
}

}  // namespace

Result<std::string> to_sentencepiece_model(const Tokenizer& tok) {
  const VocabSpec& s = tok.spec();
  if (s.kind != ModelKind::spm)
    return unsupported_error(
        "a byte-level BPE tokenizer (GPT-2 style) has no SentencePiece form: write .gguf or tokenizer.json");
  if (s.unk_id < 0)
    return unsupported_error("SentencePiece needs an unknown token (<unk>) and this tokenizer has none");
  // SentencePiece's normalizers: identity and NFKC (nmt_nfkc also drops control characters). An
  // NFC tokenizer is written as identity: spm_encode then encodes NFC text as Fragua does, but
  // does not compose decomposed input (docs/tokenize.md).
  const char* normalizer = s.normalization == Normalization::nfkc ? "nfkc" : "identity";
  size_t n_byte_pieces = 0;
  std::string out;
  for (size_t i = 0; i < s.tokens.size(); ++i) {
    std::string piece;
    spm_bytes(piece, 1, s.tokens[i]);
    spm_float(piece, 2, s.scores.empty() ? 0.0f : s.scores[i]);
    TokenType t = s.types.empty() ? TokenType::normal : s.types[i];
    if (t == TokenType::undefined) t = TokenType::normal;
    // One UNKNOWN piece, at unk_id, as SentencePiece requires.
    if (static_cast<int32_t>(i) == s.unk_id) t = TokenType::unknown;
    else if (t == TokenType::unknown) t = TokenType::control;
    n_byte_pieces += t == TokenType::byte;
    spm_uint(piece, 3, static_cast<uint64_t>(t));
    spm_bytes(out, 1, piece);
  }
  std::string trainer;
  spm_uint(trainer, 3, 2);  // BPE
  spm_uint(trainer, 4, s.tokens.size());
  // SentencePiece's byte fallback needs all 256 <0xNN> pieces (it checks at load).
  spm_uint(trainer, 35, n_byte_pieces == 256 ? 1 : 0);
  spm_int32(trainer, 40, s.unk_id);
  spm_int32(trainer, 41, s.bos_id);
  spm_int32(trainer, 42, s.eos_id);
  spm_int32(trainer, 43, s.pad_id);
  spm_bytes(out, 2, trainer);
  std::string norm;
  spm_bytes(norm, 1, normalizer);
  spm_uint(norm, 3, s.add_space_prefix ? 1 : 0);
  spm_uint(norm, 4, s.remove_extra_whitespaces ? 1 : 0);
  spm_uint(norm, 5, 1);  // escape_whitespaces: ' ' is U+2581 in the pieces
  spm_bytes(out, 3, norm);
  return out;
}

Status save_sentencepiece_model(const Tokenizer& tok, const std::string& path) {
  auto bytes = to_sentencepiece_model(tok);
  if (!bytes.ok()) return std::move(bytes).error().with_context(path);
  return write_file_atomic(path, *bytes);
}

Status save_hf_config(const Tokenizer& tok, const std::string& dir) {
  const VocabSpec& s = tok.spec();
  nlohmann::ordered_json special = nlohmann::ordered_json::object();
  auto add = [&](const char* key, int32_t id) {
    if (const std::string t = token_or_null_text(s, id); !t.empty()) special[key] = t;
  };
  add("bos_token", s.bos_id);
  add("eos_token", s.eos_id);
  add("unk_token", s.unk_id);
  add("pad_token", s.pad_id);
  nlohmann::ordered_json config = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                                   {"add_bos_token", s.add_bos},
                                   {"add_eos_token", s.add_eos},
                                   {"clean_up_tokenization_spaces", false}};
  for (const auto& [k, v] : special.items()) config[k] = v;
  // transformers' apply_chat_template renders this Jinja text; a built-in name means nothing to it.
  if (!s.chat_template.empty()) config["chat_template"] = FRAGUA_TRY(chat_template_as_jinja(s.chat_template));
  // Control tokens, so that decode(skip_special_tokens=True) drops them as Fragua does.
  nlohmann::ordered_json decoder = nlohmann::ordered_json::object();
  for (size_t i = 0; i < s.tokens.size(); ++i) {
    const TokenType t = s.types.empty() ? TokenType::normal : s.types[i];
    if (t != TokenType::control && t != TokenType::unknown && t != TokenType::user_defined) continue;
    decoder[std::to_string(i)] = {{"content", s.tokens[i]},
                                  {"lstrip", false},
                                  {"normalized", false},
                                  {"rstrip", false},
                                  {"single_word", false},
                                  {"special", t != TokenType::user_defined}};
  }
  config["added_tokens_decoder"] = std::move(decoder);
  FRAGUA_TRY(write_file_atomic(dir + "/tokenizer_config.json", config.dump(2) + "\n"));
  return write_file_atomic(dir + "/special_tokens_map.json", special.dump(2) + "\n");
}

}  // namespace fragua::tokenize
