// SPDX-License-Identifier: Apache-2.0
#include "fragua/train/dataset.h"

#include <algorithm>
#include <charconv>
#include <tuple>

#include "fragua/base/json.h"
#include "fragua/base/lang.h"
#include "fragua/base/parse.h"
#include "fragua/base/utf8.h"
#include "fragua/train/model.h"

namespace fragua::train {

Result<std::vector<MixEntry>> parse_mix(const std::string& spec) {
  std::vector<MixEntry> out;
  for (auto& [lang, weight] : FRAGUA_TRY(parse_mixture(spec, "--mix"))) out.push_back({lang, weight});
  return out;
}

namespace {

// One language's token stream: consecutive segments (one per shard), split into training
// [0, split) and validation [split, total).
struct Stream {
  struct Segment {
    const uint32_t* tokens;
    uint64_t n;
    uint64_t start;  // position of the segment in the stream
  };
  std::vector<Segment> segments;
  uint64_t total = 0, split = 0;

  void copy(uint64_t pos, uint64_t n, int32_t* out) const {
    auto it = std::upper_bound(segments.begin(), segments.end(), pos,
                               [](uint64_t p, const Segment& s) { return p < s.start; });
    --it;
    while (n > 0) {
      uint64_t off = pos - it->start;
      uint64_t take = std::min(n, it->n - off);
      for (uint64_t i = 0; i < take; ++i) *out++ = static_cast<int32_t>(it->tokens[off + i]);
      n -= take;
      pos += take;
      ++it;
    }
  }
};

}  // namespace

struct Dataset::Impl {
  std::vector<std::string> paths;
  std::vector<TokenShard> shards;
  ShardTokenizer tokenizer;
  std::vector<LanguageSplit> langs;
  std::vector<Stream> streams;
  std::vector<double> cumulative;  // of the normalised weights
  Rng rng{1};
  std::vector<uint64_t> cursor, epoch;
  uint64_t batches = 0;

  size_t draw(int T, int32_t* tokens, int32_t* targets);
};

Dataset::Dataset() : impl_(std::make_unique<Impl>()) {}
Dataset::Dataset(Dataset&&) noexcept = default;
Dataset& Dataset::operator=(Dataset&&) noexcept = default;
Dataset::~Dataset() = default;
const ShardTokenizer& Dataset::tokenizer() const { return impl_->tokenizer; }
const std::vector<LanguageSplit>& Dataset::languages() const { return impl_->langs; }
const std::vector<std::string>& Dataset::shard_paths() const { return impl_->paths; }

namespace {

// The shards are memory-mapped (docs/architecture.md, "Files and Env"); their listing goes
// through env.
Result<std::vector<std::string>> list_shards(const std::string& dir, Env& env) {
  if (!env.is_directory(dir)) return not_found_error("{}: shard directory does not exist", dir);
  std::vector<std::string> paths;
  for (const auto& e : FRAGUA_TRY(env.list_dir(dir)))  // sorted by name
    if (e.name.size() > 4 && e.name.ends_with(".fts")) paths.push_back((dir.ends_with('/') ? dir : dir + "/") + e.name);
  if (paths.empty()) return not_found_error("{}: no token shards (*.fts); make them with `fragua corpus shard`", dir);
  return paths;
}

// Holds out whole documents from the end of the language until val_fraction of its tokens.
void split_language(const std::vector<const ShardLanguage*>& parts, double val_fraction, Stream& s, LanguageSplit& L) {
  uint64_t total_bytes = 0;
  for (const auto* p : parts) total_bytes += p->n_bytes;
  uint64_t want = static_cast<uint64_t>(val_fraction * static_cast<double>(s.total));
  uint64_t split = s.total, val_bytes = 0;
  for (size_t pi = parts.size(); pi-- > 0 && s.total - split < want;) {
    const ShardLanguage* p = parts[pi];
    for (uint64_t d = p->n_docs; d-- > 0 && s.total - split < want;) {
      split = s.segments[pi].start + p->doc(d).token_start;
      val_bytes += p->doc(d).n_bytes;
    }
  }
  s.split = split;
  L.train_tokens = split;
  L.val_tokens = s.total - split;
  L.val_bytes = val_bytes;
  L.train_bytes = total_bytes - val_bytes;
}

}  // namespace

Result<Dataset> Dataset::open(const DataConfig& cfg, Env& env) {
  Dataset ds;
  auto& I = *ds.impl_;
  I.paths = FRAGUA_TRY(list_shards(cfg.dir, env));
  std::vector<std::string> lang_names;
  std::vector<std::vector<const ShardLanguage*>> parts;
  for (const auto& p : I.paths) I.shards.push_back(FRAGUA_TRY(TokenShard::open(p)));
  I.tokenizer = I.shards[0].tokenizer();
  for (size_t si = 0; si < I.shards.size(); ++si) {
    const auto& tk = I.shards[si].tokenizer();
    if (tk.fingerprint != I.tokenizer.fingerprint || tk.vocab_size != I.tokenizer.vocab_size)
      return invalid_argument_error(
          "{}: made with tokenizer '{}' (vocab {}, fingerprint {}) but {} with '{}' (vocab {}, "
          "fingerprint {}): shards of one run must share a tokenizer",
          I.paths[si], tk.name, tk.vocab_size, tk.fingerprint, I.paths[0], I.tokenizer.name, I.tokenizer.vocab_size,
          I.tokenizer.fingerprint);
    for (const auto& L : I.shards[si].languages()) {
      if (L.tokens.empty()) continue;
      auto it = std::find(lang_names.begin(), lang_names.end(), L.lang);
      size_t li = static_cast<size_t>(it - lang_names.begin());
      if (it == lang_names.end()) {
        lang_names.push_back(L.lang);
        parts.emplace_back();
        I.streams.emplace_back();
      }
      parts[li].push_back(&L);
      I.streams[li].segments.push_back({L.tokens.data(), L.tokens.size(), I.streams[li].total});
      I.streams[li].total += L.tokens.size();
    }
  }
  // A mixture entry covers the languages it names and their variants ("ca" covers "ca-valencia"
  // unless that has an entry of its own); its weight is split over them by training tokens.
  std::vector<std::string> entries;
  for (const auto& m : cfg.mix) entries.push_back(m.lang);
  std::vector<LanguageSplit> splits(lang_names.size());
  std::vector<double> entry_tokens(entries.size(), 0);
  for (size_t li = 0; li < lang_names.size(); ++li) {
    splits[li].lang = lang_names[li];
    split_language(parts[li], cfg.val_fraction, I.streams[li], splits[li]);
    int e = mixture_entry(lang_names[li], entries);
    if (e >= 0) entry_tokens[static_cast<size_t>(e)] += static_cast<double>(splits[li].train_tokens);
  }
  for (size_t e = 0; e < entries.size(); ++e)
    if (entry_tokens[e] == 0)
      return invalid_argument_error("--mix: language '{}' has no training text in the shards of {} (they hold: {})",
                                    entries[e], cfg.dir, fmt::format("{}", fmt::join(lang_names, ", ")));
  double wsum = 0;
  for (size_t li = 0; li < lang_names.size(); ++li) {
    LanguageSplit L = std::move(splits[li]);
    if (cfg.mix.empty()) {
      L.weight = static_cast<double>(L.train_tokens);
    } else {
      int e = mixture_entry(L.lang, entries);
      L.weight = e < 0 ? 0.0
                       : cfg.mix[static_cast<size_t>(e)].weight * static_cast<double>(L.train_tokens) /
                             entry_tokens[static_cast<size_t>(e)];
    }
    if (L.weight > 0 && L.train_tokens < static_cast<uint64_t>(cfg.seq_len) + 1)
      return invalid_argument_error("{}: language '{}' has {} training tokens, fewer than seq_len + 1 = {}", cfg.dir,
                                    L.lang, L.train_tokens, cfg.seq_len + 1);
    wsum += L.weight;
    I.langs.push_back(L);
  }
  if (!(wsum > 0))
    return invalid_argument_error("{}: no language has a positive mixture weight and training text", cfg.dir);
  double acc = 0;
  for (auto& L : I.langs) {
    L.weight /= wsum;
    acc += L.weight;
    I.cumulative.push_back(acc);
  }
  I.rng = Rng(cfg.seed ^ 0x5eed0da7a0000000ull);
  I.cursor.assign(I.langs.size(), 0);
  I.epoch.assign(I.langs.size(), 0);
  return ds;
}

size_t Dataset::Impl::draw(int T, int32_t* tokens, int32_t* targets) {
  double u = rng.uniform();
  size_t li = 0;
  while (li + 1 < cumulative.size() && (u >= cumulative[li] || langs[li].weight == 0)) ++li;
  // Rounding can carry u past the last positive weight: never pick a language with none.
  while (langs[li].weight == 0 && li > 0) --li;
  const Stream& s = streams[li];
  if (cursor[li] + static_cast<uint64_t>(T) + 1 > s.split) {
    cursor[li] = 0;
    ++epoch[li];
  }
  if (tokens) {
    s.copy(cursor[li], static_cast<uint64_t>(T), tokens);
    s.copy(cursor[li] + 1, static_cast<uint64_t>(T), targets);
  }
  cursor[li] += static_cast<uint64_t>(T);
  return li;
}

void Dataset::next_batch(int B, int T, int32_t* tokens, int32_t* targets) {
  for (int b = 0; b < B; ++b) impl_->draw(T, tokens + static_cast<size_t>(b) * T, targets + static_cast<size_t>(b) * T);
  ++impl_->batches;
}

void Dataset::skip_batch(int B, int T) {
  for (int b = 0; b < B; ++b) impl_->draw(T, nullptr, nullptr);
  ++impl_->batches;
}

uint64_t Dataset::n_val_windows(size_t li, int T) const {
  const Stream& s = impl_->streams[li];
  uint64_t n = s.total - s.split;
  return n < static_cast<uint64_t>(T) + 1 ? 0 : (n - 1) / static_cast<uint64_t>(T);
}

void Dataset::val_window(size_t li, uint64_t i, int T, int32_t* tokens, int32_t* targets) const {
  const Stream& s = impl_->streams[li];
  uint64_t pos = s.split + i * static_cast<uint64_t>(T);
  s.copy(pos, static_cast<uint64_t>(T), tokens);
  s.copy(pos + 1, static_cast<uint64_t>(T), targets);
}

nlohmann::json Dataset::state() const {
  const auto& I = *impl_;
  nlohmann::json langs = nlohmann::json::object();
  for (size_t i = 0; i < I.langs.size(); ++i) langs[I.langs[i].lang] = {{"cursor", I.cursor[i]}, {"epoch", I.epoch[i]}};
  auto st = I.rng.state();
  // RNG words as strings: JSON numbers above 2^53 do not survive every reader.
  nlohmann::json rng = nlohmann::json::array();
  for (uint64_t w : st) rng.push_back(std::to_string(w));
  return {{"rng", rng}, {"languages", langs}, {"batches", I.batches}};
}

namespace {

// 2^62: far beyond any real count, and every sum of two still fits a uint64.
constexpr int64_t kMaxStateCount = int64_t{1} << 62;

Result<uint64_t> count_field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) return corruption_error("{}: missing \"{}\"", where, key);
  return static_cast<uint64_t>(
      FRAGUA_TRY(json_integer(j[key], fmt::format("{} \"{}\"", where, key), 0, kMaxStateCount)));
}

}  // namespace

Result<DataState> parse_data_state(const nlohmann::json& j, std::string_view origin) {
  DataState st;
  const std::string where = fmt::format("{}: \"data\"", origin);
  if (!j.is_object()) return corruption_error("{} is {}, expected an object", where, json_preview(j));
  if (!j.contains("rng") || !j["rng"].is_array() || j["rng"].size() != 4)
    return corruption_error("{}: \"rng\" must hold 4 words", where);
  bool all_zero = true;
  for (size_t i = 0; i < 4; ++i) {
    const auto& w = j["rng"][i];
    // Strict decimal: std::stoull would accept "-1" (as 2^64 - 1), "+5" and trailing junk.
    const std::string* s = w.is_string() ? w.get_ptr<const std::string*>() : nullptr;
    uint64_t v = 0;
    auto r = s ? std::from_chars(s->data(), s->data() + s->size(), v) : std::from_chars_result{};
    if (!s || s->empty() || (*s)[0] < '0' || (*s)[0] > '9' || r.ec != std::errc() || r.ptr != s->data() + s->size())
      return corruption_error("{}: \"rng\"[{}] is {}, expected a decimal 64-bit word as a string", where, i,
                              json_preview(w));
    st.rng[i] = v;
    all_zero = all_zero && v == 0;
  }
  if (all_zero)
    return corruption_error("{}: \"rng\" is all zero, a state xoshiro256** never reaches (it would draw 0 forever)",
                            where);
  st.batches = FRAGUA_TRY(count_field(j, "batches", where));
  if (!j.contains("languages") || !j["languages"].is_object())
    return corruption_error("{}: \"languages\" must be an object", where);
  for (auto it = j["languages"].begin(); it != j["languages"].end(); ++it) {
    const std::string lw = fmt::format("{}.languages.{}", where, terminal_safe(it.key()));
    const uint64_t cursor = FRAGUA_TRY(count_field(it.value(), "cursor", lw));
    const uint64_t epoch = FRAGUA_TRY(count_field(it.value(), "epoch", lw));
    st.languages[it.key()] = {cursor, epoch};
  }
  return st;
}

Status Dataset::restore(const nlohmann::json& j, std::string_view origin) {
  auto& I = *impl_;
  const DataState st = FRAGUA_TRY(parse_data_state(j, origin));
  std::vector<uint64_t> cursor(I.langs.size()), epoch(I.langs.size());
  for (size_t i = 0; i < I.langs.size(); ++i) {
    auto it = st.languages.find(I.langs[i].lang);
    if (it == st.languages.end())
      return corruption_error("{}: \"data\" has no position for language '{}' (other shards?)", origin,
                              I.langs[i].lang);
    std::tie(cursor[i], epoch[i]) = it->second;
    if (cursor[i] > I.streams[i].split)
      return invalid_argument_error("{}: data cursor {} of '{}' is past its {} training tokens (other shards?)", origin,
                                    cursor[i], I.langs[i].lang, I.streams[i].split);
  }
  I.cursor = std::move(cursor);
  I.epoch = std::move(epoch);
  I.batches = st.batches;
  I.rng.set_state(st.rng);
  return ok_status();
}

}  // namespace fragua::train
