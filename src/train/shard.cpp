// SPDX-License-Identifier: Apache-2.0
#include "fragua/train/shard.h"
#include "fragua/base/json.h"

#include <algorithm>
#include <cstring>

#include <xxhash.h>

namespace fragua::train {

namespace {

constexpr char kMagic[8] = {'F', 'R', 'G', 'S', 'H', 'A', 'R', 'D'};
constexpr uint64_t kMaxHeader = 64ull << 20;
// JSON values in the header, counted before parsing (about 50 bytes of parse tree each): a
// shard's header holds a few per language plus its provenance.
constexpr size_t kMaxHeaderValues = size_t{1} << 20;

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T>
void store(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}
uint64_t pad8(uint64_t n) { return (n + 7) / 8 * 8; }
std::string hex64(uint64_t v) { return fmt::format("{:016x}", v); }

}  // namespace

nlohmann::json ShardTokenizer::to_json() const {
  return {{"name", name}, {"vocab_size", vocab_size}, {"fingerprint", fingerprint}, {"bos", bos}, {"eos", eos}};
}

Result<ShardTokenizer> ShardTokenizer::from_json(const nlohmann::json& j, std::string_view where) {
  ShardTokenizer t;
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string() || !j.contains("vocab_size") ||
      !j["vocab_size"].is_number_integer() || !j.contains("fingerprint") || !j["fingerprint"].is_string())
    return corruption_error("{}: header field \"tokenizer\" needs name, vocab_size and fingerprint", where);
  t.name = j["name"];
  t.fingerprint = j["fingerprint"];
  // Read as int64 and range-checked before narrowing: 2^32 + 5 must not become 5.
  const std::string field = fmt::format("{}: tokenizer", where);
  t.vocab_size = static_cast<int>(FRAGUA_TRY(json_integer(j["vocab_size"], field + " vocab_size", 1, 1 << 24)));
  if (j.contains("bos") && j["bos"].is_number_integer())
    t.bos = static_cast<int>(FRAGUA_TRY(json_integer(j["bos"], field + " bos", -1, 1 << 24)));
  if (j.contains("eos") && j["eos"].is_number_integer())
    t.eos = static_cast<int>(FRAGUA_TRY(json_integer(j["eos"], field + " eos", -1, 1 << 24)));
  return t;
}

ShardDoc ShardLanguage::doc(uint64_t i) const {
  return {load<uint64_t>(docs + i * 16), load<uint64_t>(docs + i * 16 + 8)};
}

struct TokenShard::Impl {
  std::string path;
  MappedFile mapped;
  std::unique_ptr<uint64_t[]> owned;  // aligned copy when parse() gets unaligned bytes
  ShardTokenizer tokenizer;
  nlohmann::json provenance;
  std::vector<ShardLanguage> langs;
};

TokenShard::TokenShard() : impl_(std::make_unique<Impl>()) {}
TokenShard::TokenShard(TokenShard&&) noexcept = default;
TokenShard& TokenShard::operator=(TokenShard&&) noexcept = default;
TokenShard::~TokenShard() = default;
const std::string& TokenShard::path() const { return impl_->path; }
const ShardTokenizer& TokenShard::tokenizer() const { return impl_->tokenizer; }
const nlohmann::json& TokenShard::provenance() const { return impl_->provenance; }
const std::vector<ShardLanguage>& TokenShard::languages() const { return impl_->langs; }

Result<TokenShard> TokenShard::open(const std::string& path) {
  auto mapped = FRAGUA_TRY(MappedFile::open(path));
  auto shard = FRAGUA_TRY(parse(mapped.view(), path));
  shard.impl_->mapped = std::move(mapped);
  return shard;
}

namespace {

Status check_language(const nlohmann::json& L, size_t li, const uint8_t* data, uint64_t data_len, int vocab,
                      const std::string& name, ShardLanguage& out) {
  std::string where = fmt::format("{}: header languages[{}]", name, li);
  for (const char* f : {"n_docs", "n_tokens", "n_bytes", "tokens_offset", "docs_offset"})
    if (!L.contains(f) || !L[f].is_number_unsigned())
      return corruption_error("{}: missing or invalid \"{}\"", where, f);
  if (!L.contains("lang") || !L["lang"].is_string()) return corruption_error("{}: missing \"lang\"", where);
  out.lang = L["lang"];
  uint64_t n_tok = L["n_tokens"], n_docs = L["n_docs"], t_off = L["tokens_offset"], d_off = L["docs_offset"];
  out.n_bytes = L["n_bytes"];
  out.n_docs = n_docs;
  if (t_off % 8 != 0 || d_off % 8 != 0) return corruption_error("{}: offsets must be multiples of 8", where);
  if (n_tok > data_len / 4 || t_off > data_len - n_tok * 4)
    return corruption_error("{}: tokens [{}, +{}) run past the data section ({} bytes)", where, t_off, n_tok * 4,
                            data_len);
  if (n_docs > data_len / 16 || d_off > data_len - n_docs * 16)
    return corruption_error("{}: document index [{}, +{}) runs past the data section ({} bytes)", where, d_off,
                            n_docs * 16, data_len);
  if (n_tok > 0 && n_docs == 0) return corruption_error("{}: {} tokens but no documents", where, n_tok);
  out.tokens = {reinterpret_cast<const uint32_t*>(data + t_off), n_tok};
  out.docs = data + d_off;
  uint64_t prev = 0, bytes = 0;
  for (uint64_t i = 0; i < n_docs; ++i) {
    ShardDoc d = out.doc(i);
    if ((i == 0 && d.token_start != 0) || d.token_start < prev || d.token_start >= n_tok)
      return corruption_error("{}: document {} starts at token {} (previous {}, {} tokens)", where, i, d.token_start,
                              prev, n_tok);
    prev = d.token_start;
    if (__builtin_add_overflow(bytes, d.n_bytes, &bytes))
      return corruption_error("{}: document byte counts overflow 64 bits at document {}", where, i);
  }
  if (bytes != out.n_bytes)
    return corruption_error("{}: documents hold {} bytes, header says {}", where, bytes, out.n_bytes);
  for (uint64_t i = 0; i < n_tok; ++i)
    if (out.tokens[i] >= static_cast<uint32_t>(vocab))
      return corruption_error("{}: token {} at file offset {} is {} but the vocabulary has {} entries", where, i,
                              t_off + i * 4, out.tokens[i], vocab);
  return ok_status();
}

}  // namespace

Result<TokenShard> TokenShard::parse(std::string_view bytes, std::string name) {
  TokenShard s;
  auto& I = *s.impl_;
  I.path = name;
  if (reinterpret_cast<uintptr_t>(bytes.data()) % 8 != 0) {
    I.owned.reset(new uint64_t[(bytes.size() + 7) / 8]);
    std::memcpy(I.owned.get(), bytes.data(), bytes.size());
    bytes = std::string_view(reinterpret_cast<const char*>(I.owned.get()), bytes.size());
  }
  const auto* base = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 24 || std::memcmp(base, kMagic, 8) != 0)
    return corruption_error("{}: not a Fragua token shard (bad magic at offset 0; expected \"FRGSHARD\")", name);
  uint32_t version = load<uint32_t>(base + 8);
  if (version != kShardVersion)
    return unsupported_error(
        "{}: token shard version {} at offset 8 (this Fragua reads version {}; re-shard with `fragua corpus shard`)",
        name, version, kShardVersion);
  uint64_t n_header = load<uint64_t>(base + 16);
  if (n_header > kMaxHeader || n_header > bytes.size() - 24)
    return corruption_error("{}: header length {} at offset 16 runs past the end of the file ({} bytes)", name,
                            n_header, bytes.size());
  if (size_t at = json_value_count_violation(bytes.substr(24, n_header), kMaxHeaderValues);
      at != std::string_view::npos)
    return corruption_error("{}: header holds more than {} JSON values (byte offset {})", name, kMaxHeaderValues,
                            24 + at);
  nlohmann::json h = FRAGUA_TRY(parse_json(bytes.substr(24, n_header), name, 24));
  if (!h.is_object()) return corruption_error("{}: header at offset 24 is not a JSON object", name);
  if (!h.contains("tokenizer")) return corruption_error("{}: header has no \"tokenizer\"", name);
  I.tokenizer = FRAGUA_TRY(ShardTokenizer::from_json(h["tokenizer"], name));
  I.provenance = h.value("provenance", nlohmann::json::object());
  uint64_t data_start = pad8(24 + n_header);
  if (data_start > bytes.size()) return corruption_error("{}: file ends inside the header padding", name);
  const uint8_t* data = base + data_start;
  uint64_t data_len = bytes.size() - data_start;
  if (!h.contains("data_xxh64") || !h["data_xxh64"].is_string())
    return corruption_error("{}: header has no \"data_xxh64\"", name);
  std::string sum = hex64(XXH64(data, data_len, 0));
  if (sum != h["data_xxh64"].get<std::string>())
    return corruption_error(
        "{}: data section (offset {}, {} bytes) fails its checksum (XXH64 {} != header {}): the file is damaged", name,
        data_start, data_len, sum, h["data_xxh64"].get<std::string>());
  if (!h.contains("languages") || !h["languages"].is_array())
    return corruption_error("{}: header has no \"languages\" array", name);
  for (size_t i = 0; i < h["languages"].size(); ++i) {
    ShardLanguage L;
    FRAGUA_TRY(check_language(h["languages"][i], i, data, data_len, I.tokenizer.vocab_size, name, L));
    I.langs.push_back(std::move(L));
  }
  return s;
}

ShardWriter::ShardWriter(ShardTokenizer tokenizer, nlohmann::json provenance)
    : tokenizer_(std::move(tokenizer)), provenance_(std::move(provenance)) {}

void ShardWriter::add(const std::string& lang, std::span<const int32_t> tokens, uint64_t n_bytes) {
  if (tokens.empty()) return;
  auto it = std::find_if(langs_.begin(), langs_.end(), [&](const Lang& l) { return l.lang == lang; });
  if (it == langs_.end()) {
    langs_.push_back({lang, {}, {}, 0});
    it = langs_.end() - 1;
  }
  it->docs.push_back({it->tokens.size(), n_bytes});
  for (int32_t t : tokens) it->tokens.push_back(static_cast<uint32_t>(t));
  it->n_bytes += n_bytes;
  n_tokens_ += tokens.size();
}

void ShardWriter::clear() {
  langs_.clear();
  n_tokens_ = 0;
}

std::string ShardWriter::to_bytes() const {
  std::string data;
  nlohmann::json langs = nlohmann::json::array();
  for (const auto& L : langs_) {
    uint64_t t_off = data.size();
    data.append(reinterpret_cast<const char*>(L.tokens.data()), L.tokens.size() * 4);
    data.resize(pad8(data.size()), '\0');
    uint64_t d_off = data.size();
    for (const auto& d : L.docs) {
      store<uint64_t>(data, d.token_start);
      store<uint64_t>(data, d.n_bytes);
    }
    langs.push_back({{"lang", L.lang},
                     {"n_docs", L.docs.size()},
                     {"n_tokens", L.tokens.size()},
                     {"n_bytes", L.n_bytes},
                     {"tokens_offset", t_off},
                     {"docs_offset", d_off}});
  }
  nlohmann::json h = {{"format", "fragua.token_shard"},
                      {"version", kShardVersion},
                      {"provenance", provenance_},
                      {"tokenizer", tokenizer_.to_json()},
                      {"data_xxh64", hex64(XXH64(data.data(), data.size(), 0))},
                      {"languages", langs}};
  std::string header = h.dump();
  std::string out(kMagic, 8);
  store<uint32_t>(out, kShardVersion);
  store<uint32_t>(out, 0);
  store<uint64_t>(out, header.size());
  out += header;
  out.resize(pad8(out.size()), '\0');
  return out + data;
}

Status ShardWriter::write(const std::string& path, Env& env) const { return write_file_atomic(path, to_bytes(), env); }

}  // namespace fragua::train
