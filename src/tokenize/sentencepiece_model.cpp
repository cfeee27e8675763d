// SPDX-License-Identifier: Apache-2.0
// SentencePiece ModelProto (.model) reader. The file is a Protocol Buffers message
// (sentencepiece_model.proto); only the wire format is needed to read it: each field is a varint
// key (field number << 3 | wire type) followed by a varint, 4 or 8 fixed bytes, or a varint
// length and that many bytes. Fields read:
//   ModelProto     1: pieces (SentencePiece), 2: trainer_spec, 3: normalizer_spec
//   SentencePiece  1: piece, 2: score (float), 3: type (1 normal .. 6 byte)
//   TrainerSpec    3: model_type (1 unigram, 2 bpe, 3 word, 4 char), 35: byte_fallback,
//                  40..43: unk/bos/eos/pad id
//   NormalizerSpec 1: name, 3: add_dummy_prefix, 4: remove_extra_whitespaces,
//                  5: escape_whitespaces
#include <cstring>

#include "fragua/base/file.h"
#include "tokenize/tokenizer_impl.h"

namespace fragua::tokenize {

namespace {

class Wire {
 public:
  Wire(std::string_view bytes, uint64_t base, std::string_view origin) : b_(bytes), base_(base), origin_(origin) {}
  bool done() const { return pos_ >= b_.size(); }
  uint64_t offset() const { return base_ + pos_; }

  Result<uint64_t> varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= b_.size()) return fail("truncated varint");
      auto c = static_cast<uint8_t>(b_[pos_++]);
      v |= static_cast<uint64_t>(c & 0x7F) << shift;
      if (!(c & 0x80)) return v;
    }
    return fail("varint longer than 10 bytes");
  }
  // Reads the next field: its number, wire type, and (for length-delimited) the payload.
  struct Field {
    uint32_t number, wire;
    uint64_t value;           // varint / fixed
    std::string_view bytes;   // length-delimited
    uint64_t payload_offset;  // absolute offset of `bytes`
  };
  Result<Field> field() {
    uint64_t at = offset();
    uint64_t key = FRAGUA_TRY(varint());
    Field f{static_cast<uint32_t>(key >> 3), static_cast<uint32_t>(key & 7), 0, {}, 0};
    if (f.number == 0) return fail_at(at, "field number 0");
    switch (f.wire) {
      case 0:
        f.value = FRAGUA_TRY(varint());
        break;
      case 1:
        f.value = FRAGUA_TRY(fixed(8));
        break;
      case 5:
        f.value = FRAGUA_TRY(fixed(4));
        break;
      case 2: {
        uint64_t len = FRAGUA_TRY(varint());
        if (len > b_.size() - pos_)
          return fail_at(at, fmt::format("field {} claims {} bytes, {} remain", f.number, len, b_.size() - pos_));
        f.payload_offset = offset();
        f.bytes = b_.substr(pos_, len);
        pos_ += len;
        break;
      }
      default:
        return fail_at(at, fmt::format("unsupported wire type {} for field {}", f.wire, f.number));
    }
    return f;
  }

 private:
  Result<uint64_t> fixed(int n) {
    if (b_.size() - pos_ < static_cast<size_t>(n)) return fail("truncated fixed-width field");
    uint64_t v = 0;
    std::memcpy(&v, b_.data() + pos_, static_cast<size_t>(n));  // little-endian host
    pos_ += static_cast<size_t>(n);
    return v;
  }
  Error fail(std::string_view what) const { return fail_at(offset(), what); }
  Error fail_at(uint64_t at, std::string_view what) const {
    return corruption_error("{}: SentencePiece model: {} at byte offset {}", origin_, what, at);
  }
  std::string_view b_;
  size_t pos_ = 0;
  uint64_t base_;
  std::string_view origin_;
};

float as_float(uint64_t bits) {
  uint32_t u = static_cast<uint32_t>(bits);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

struct SpmModel {
  VocabSpec spec;
  int model_type = 1;
  bool byte_fallback = false;
  std::string normalizer = "nmt_nfkc";
  bool add_dummy_prefix = true, remove_extra_whitespaces = true, escape_whitespaces = true;
  int32_t unk = 0, bos = 1, eos = 2, pad = -1;
};

Status read_piece(std::string_view bytes, uint64_t base, std::string_view origin, SpmModel& m) {
  Wire w(bytes, base, origin);
  std::string piece;
  float score = 0;
  int type = 1;
  while (!w.done()) {
    auto f = FRAGUA_TRY(w.field());
    if (f.number == 1 && f.wire == 2)
      piece.assign(f.bytes);
    else if (f.number == 2 && f.wire == 5)
      score = as_float(f.value);
    else if (f.number == 3 && f.wire == 0)
      type = static_cast<int>(f.value);
  }
  if (piece.empty()) return corruption_error("{}: SentencePiece model: empty piece at byte offset {}", origin, base);
  m.spec.tokens.push_back(std::move(piece));
  m.spec.scores.push_back(score);
  m.spec.types.push_back(type >= 1 && type <= 6 ? static_cast<TokenType>(type) : TokenType::undefined);
  return {};
}

int32_t as_id(uint64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }  // int32 varints sign-extend

Status read_trainer(std::string_view bytes, uint64_t base, std::string_view origin, SpmModel& m) {
  Wire w(bytes, base, origin);
  while (!w.done()) {
    auto f = FRAGUA_TRY(w.field());
    if (f.wire != 0) continue;
    switch (f.number) {
      case 3:
        m.model_type = static_cast<int>(f.value);
        break;
      case 35:
        m.byte_fallback = f.value != 0;
        break;
      case 40:
        m.unk = as_id(f.value);
        break;
      case 41:
        m.bos = as_id(f.value);
        break;
      case 42:
        m.eos = as_id(f.value);
        break;
      case 43:
        m.pad = as_id(f.value);
        break;
      default:
        break;
    }
  }
  return {};
}

Status read_normalizer(std::string_view bytes, uint64_t base, std::string_view origin, SpmModel& m) {
  Wire w(bytes, base, origin);
  while (!w.done()) {
    auto f = FRAGUA_TRY(w.field());
    if (f.number == 1 && f.wire == 2)
      m.normalizer.assign(f.bytes);
    else if (f.number == 3 && f.wire == 0)
      m.add_dummy_prefix = f.value != 0;
    else if (f.number == 4 && f.wire == 0)
      m.remove_extra_whitespaces = f.value != 0;
    else if (f.number == 5 && f.wire == 0)
      m.escape_whitespaces = f.value != 0;
  }
  return {};
}

}  // namespace

Result<Tokenizer> Tokenizer::from_sentencepiece_bytes(std::string_view bytes, std::string_view origin) {
  SpmModel m;
  Wire w(bytes, 0, origin);
  while (!w.done()) {
    auto f = FRAGUA_TRY(w.field());
    if (f.wire != 2) continue;
    if (f.number == 1)
      FRAGUA_TRY(read_piece(f.bytes, f.payload_offset, origin, m));
    else if (f.number == 2)
      FRAGUA_TRY(read_trainer(f.bytes, f.payload_offset, origin, m));
    else if (f.number == 3)
      FRAGUA_TRY(read_normalizer(f.bytes, f.payload_offset, origin, m));
  }
  if (m.spec.tokens.empty()) return corruption_error("{}: SentencePiece model has no pieces", origin);
  if (m.model_type != 2)
    return unsupported_error("{}: SentencePiece model type {} is not supported (only BPE, type 2)", origin,
                             m.model_type);
  if (!m.escape_whitespaces)
    return unsupported_error("{}: SentencePiece models without escape_whitespaces are not supported", origin);
  VocabSpec& s = m.spec;
  s.kind = ModelKind::spm;
  s.pre = "default";
  const auto n = static_cast<int32_t>(s.tokens.size());
  auto id_or_none = [n](int32_t id) { return id >= 0 && id < n ? id : -1; };
  s.unk_id = id_or_none(m.unk);
  s.bos_id = id_or_none(m.bos);
  s.eos_id = id_or_none(m.eos);
  s.pad_id = id_or_none(m.pad);
  s.add_bos = false;  // spm_encode adds nothing unless asked
  s.add_space_prefix = m.add_dummy_prefix;
  s.remove_extra_whitespaces = m.remove_extra_whitespaces;
  if (m.normalizer == "identity") {
    s.normalization = Normalization::none;
  } else if (m.normalizer == "nfkc" || m.normalizer == "nmt_nfkc") {
    s.normalization = Normalization::nfkc;  // nmt_nfkc also drops control characters: not reproduced
  } else {
    return unsupported_error("{}: SentencePiece normalization rule '{}' is not supported (identity, nfkc, nmt_nfkc)",
                             origin, m.normalizer);
  }
  s.info.emplace_back("source", "sentencepiece");
  s.info.emplace_back("sentencepiece.normalizer", m.normalizer);
  auto tok = from_spec(std::move(m.spec));
  if (!tok.ok()) return tok.error().with_context(origin);
  return tok;
}

Result<Tokenizer> Tokenizer::from_sentencepiece_model(const std::string& path) {
  auto file = FRAGUA_TRY(MappedFile::open(path));
  return from_sentencepiece_bytes(file.view(), path);
}

}  // namespace fragua::tokenize
