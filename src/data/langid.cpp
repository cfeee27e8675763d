// SPDX-License-Identifier: Apache-2.0
// Language identification: scoring, model file, sentence splitting. Training is in
// langid_trainer.cpp.
//
// Model file: magic "FRAGLID\0", u32 version (2), u32 header length, JSON header (languages,
// bucket bits, cost scale, calibration, provenance), u64 compressed length, zstd-compressed table of
// 2^bits rows x 16 uint8 costs. A cost c stands for a log-weight of -c * scale / 255 relative to
// the best class of that bucket, so scores add in integers. Version 2 added the calibration's
// length buckets: a version-1 reader would ignore them and print confidences the model was not
// calibrated for, so the version changed; version-1 files still load (every bucket scale 1).
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "fragua/base/lang.h"
#include "fragua/base/data_files.h"
#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/runtime_options.h"
#include "fragua/data/clean.h"
#include "fragua/data/langid.h"
#include "langid_features.h"
#include "langid_impl.h"

namespace fragua::data {
using namespace langid_detail;

LangIdModel::LangIdModel() : impl_(std::make_unique<Impl>()) {}
LangIdModel::~LangIdModel() = default;
LangIdModel::LangIdModel(LangIdModel&&) noexcept = default;
LangIdModel& LangIdModel::operator=(LangIdModel&&) noexcept = default;

const std::vector<std::string>& LangIdModel::languages() const { return impl_->langs; }

namespace {

constexpr char kMagic[8] = {'F', 'R', 'A', 'G', 'L', 'I', 'D', '\0'};
constexpr uint32_t kVersion = 2;
constexpr uint32_t kOldestVersion = 1;
// Length buckets in a model header: the fitted set has 7; this bounds what a file may claim.
constexpr size_t kMaxLengthBuckets = 64;
// Longest language tag in a model header (BCP 47 tags are at most 35 characters).
constexpr size_t kMaxLangTag = 35;

}  // namespace

void LangIdModel::Impl::score(std::string_view text, Scores& s) const {
  // Rows are fetched in batches, each prefetched as soon as its hash is known, so the cache
  // misses on the table (4 MB at 18 bits) overlap instead of queueing one by one.
  const uint8_t* t = table.data();
  constexpr int kBatch = 64;
  uint32_t pending[kBatch];
  int np = 0;
  auto flush = [&] {
    // 64 rows x 255 fits in 16 bits: narrow lanes, twice the adds per vector instruction.
    uint16_t acc[kStride] = {};
    for (int k = 0; k < np; ++k) {
      const uint8_t* row = t + static_cast<size_t>(pending[k]) * kStride;
      for (int l = 0; l < kStride; ++l) acc[l] = static_cast<uint16_t>(acc[l] + row[l]);
    }
    for (int l = 0; l < kStride; ++l) s.cost[l] += acc[l];
    s.n += static_cast<uint32_t>(np);
    np = 0;
  };
  for_each_feature(text, bits, [&](uint32_t b) {
    __builtin_prefetch(t + static_cast<size_t>(b) * kStride);
    pending[np++] = b;
    if (np == kBatch) flush();
  });
  flush();
  s.words += static_cast<uint32_t>(std::min<size_t>(count_langid_words(text), UINT32_MAX));
}

std::vector<LangIdLengthBucket> default_langid_length_buckets() {
  return {{1, 1}, {2, 1}, {3, 1}, {4, 1}, {7, 1}, {12, 1}, {0, 1}};
}

double LangIdCalibration::scale_for(size_t words) const {
  for (const auto& b : buckets)
    if (b.max_words == 0 || words <= b.max_words) return b.scale;
  return 1;
}

size_t count_langid_words(std::string_view t) {
  size_t n = 0;
  bool in = false;
  for (char ch : t) {
    const auto c = static_cast<unsigned char>(ch);
    const bool letter = c >= 0x80 || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    n += letter && !in;
    in = letter;
  }
  return n;
}

void LangIdModel::Impl::class_nats(const Scores& s, double* nats) const {
  for (size_t l = 0; l < langs.size(); ++l) nats[l] = -static_cast<double>(s.cost[l]) * scale / 255.0;
}

void LangIdModel::Impl::base_log_posteriors(const double* nats, uint32_t n_features, uint32_t words,
                                             const LangIdCalibration& c, double* out) const {
  const double temp = std::max(1e-3, (c.t0 + c.t_per_feature * static_cast<double>(n_features)) * c.scale_for(words));
  const size_t B = base_names.size();
  for (size_t b = 0; b < B; ++b) out[b] = -1e300;
  // A base language's score is the log-sum-exp over its classes (ca + ca-valencia).
  for (size_t l = 0; l < langs.size(); ++l) {
    double v = nats[l] / temp;
    double& x = out[base_index[l]];
    x = x <= -1e299 ? v : std::max(x, v) + std::log1p(std::exp(-std::fabs(x - v)));
  }
  double mx = -1e300;
  for (size_t b = 0; b < B; ++b) mx = std::max(mx, out[b]);
  double sum = 0;
  for (size_t b = 0; b < B; ++b) sum += std::exp(out[b] - mx);
  const double lse = mx + std::log(sum);
  for (size_t b = 0; b < B; ++b) out[b] -= lse;
}

LangGuess LangIdModel::Impl::decide(const Scores& s) const {
  LangGuess g;
  const int L = static_cast<int>(langs.size());
  // No letters ("12345", "--"): nothing to tell a language by.
  if (s.n == 0 || s.words == 0 || L == 0) {
    g.lang = g.base_lang = "und";
    return g;
  }
  double nats[kStride];
  class_nats(s, nats);
  int best = 0;
  for (int l = 1; l < L; ++l)
    if (nats[l] > nats[best]) best = l;
  // The Valencian variant only when it is ahead of standard Catalan by a margin: most
  // sentences read the same in both.
  if (variant_of[best] >= 0 && nats[best] - nats[variant_of[best]] < variant_margin) best = variant_of[best];
  double post[kStride];
  base_log_posteriors(nats, s.n, s.words, calibration, post);
  const auto bi = static_cast<size_t>(base_index[best]);
  g.lang = g.best = langs[best];
  g.base_lang = base_names[bi];
  g.confidence = std::exp(post[bi]);
  double second = -1e300;
  for (size_t k = 0; k < base_names.size(); ++k)
    if (k != bi && post[k] > second) {
      second = post[k];
      g.second = base_names[k];
    }
  if (g.confidence < calibration.unknown_below) g.lang = g.base_lang = "und";
  return g;
}

void LangIdModel::Impl::finish_setup() {
  base_names.clear();
  base_index.assign(langs.size(), 0);
  for (size_t l = 0; l < langs.size(); ++l) {
    std::string b = std::string(base_language(langs[l]));
    auto it = std::find(base_names.begin(), base_names.end(), b);
    base_index[l] = static_cast<int>(it - base_names.begin());
    if (it == base_names.end()) base_names.push_back(b);
  }
  variant_of.assign(langs.size(), -1);
  for (size_t l = 0; l < langs.size(); ++l) {
    if (langs[l].find('-') == std::string::npos) continue;
    for (size_t k = 0; k < langs.size(); ++k)
      if (langs[k] == std::string(base_language(langs[l]))) variant_of[l] = static_cast<int>(k);
  }
}

namespace {

// Forms that tell the Valencian standard (Acadèmia Valenciana de la Llengua) from the central
// one (Institut d'Estudis Catalans) in running text: demonstratives, possessives, adverbs,
// inchoative and subjunctive verb endings. Counted word by word; the n-gram model alone only
// knew the variant from LibreOffice's help and over-reported it on other domains.
int valencian_vote(std::string_view t) {
  // +1 for a Valencian form, -1 for its central counterpart; looked up once per word.
  static const std::unordered_map<std::string_view, int> kMarkers = [] {
    std::unordered_map<std::string_view, int> m;
    for (const char* v : {"este",   "esta",   "estos",   "estes",  "eixe",     "eixa",    "eixos",  "eixes",
                          "hui",    "ací",    "meua",    "teua",   "seua",     "meues",   "teues",  "seues",
                          "vosté",  "vostés", "xiquet",  "xiquets", "xiqueta", "xiquetes", "eixir", "prompte",
                          "vore",   "huit",   "obri",    "siga",   "sigues",   "siguen",  "vullga", "vullgues",
                          "puga",   "pugues", "tinga",   "tingues", "isca",    "servix",  "oferix", "patix",
                          "preferix"})
      m.emplace(v, 1);
    for (const char* c : {"aquest", "aquesta", "aquests", "aquestes", "avui",    "meva",      "teva",
                          "seva",   "meves",   "teves",   "seves",    "vostè",   "vostès",    "nen",
                          "nens",   "nena",    "sortir",  "aviat",    "veure",   "vuit",      "obre",
                          "sigui",  "siguis",  "siguin",  "vulgui",   "vulguis", "pugui",     "puguis",
                          "tingui", "tinguis", "serveix", "ofereix",  "pateix",  "prefereix"})
      m.emplace(c, -1);
    return m;
  }();
  int vote = 0;
  size_t i = 0;
  std::string w;
  while (i < t.size()) {
    w.clear();
    while (i < t.size() &&
           (static_cast<unsigned char>(t[i]) >= 0x80 || std::isalpha(static_cast<unsigned char>(t[i])))) {
      char c = t[i++];
      w.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c);
    }
    if (w.empty()) {
      ++i;
      continue;
    }
    if (w.size() > 9) continue;  // longer than every marker ("prefereix")
    if (auto it = kMarkers.find(w); it != kMarkers.end()) vote += it->second;
  }
  return vote;
}

// Text is NFC when no code point is U+0300 or above (see clean.cpp's fast path); only then is
// the copy through utf8proc needed.
bool langid_needs_nfc(std::string_view t) {
  for (char c : t)
    if (static_cast<unsigned char>(c) >= 0xCC) return true;
  return false;
}

}  // namespace

void LangIdModel::Impl::refine_variant(std::string_view text, LangGuess& g) const {
  if (g.base_lang != "ca" || std::find(langs.begin(), langs.end(), "ca-valencia") == langs.end()) return;
  int vote = valencian_vote(text);
  if (vote > 0)
    g.lang = "ca-valencia";
  else if (vote < 0)
    g.lang = "ca";
}

const LangIdCalibration& LangIdModel::calibration() const { return impl_->calibration; }
void LangIdModel::set_calibration(const LangIdCalibration& c) { impl_->calibration = c; }

LangGuess LangIdModel::identify(std::string_view text) const {
  std::string nfc;
  if (langid_needs_nfc(text)) text = nfc = normalize_nfc(text);
  Impl::Scores s;
  impl_->score(text, s);
  LangGuess g = impl_->decide(s);
  impl_->refine_variant(text, g);
  return g;
}

DocumentGuess LangIdModel::identify_document(std::string_view text, bool sentences) const {
  // Offsets of sentences are into the NFC text when the input was not NFC.
  std::string nfc;
  if (langid_needs_nfc(text)) text = nfc = normalize_nfc(text);
  DocumentGuess d;
  Impl::Scores total;
  if (!sentences) {
    impl_->score(text, total);
    d.guess = impl_->decide(total);
    impl_->refine_variant(text, d.guess);
    return d;
  }
  for (auto [off, len] : split_sentences(text)) {
    Impl::Scores s;
    impl_->score(text.substr(off, len), s);
    for (int l = 0; l < kStride; ++l) total.cost[l] += s.cost[l];
    total.n += s.n;
    total.words += s.words;
    d.sentences.push_back({off, len, impl_->decide(s)});
    impl_->refine_variant(text.substr(off, len), d.sentences.back().guess);
  }
  d.guess = impl_->decide(total);
  impl_->refine_variant(text, d.guess);
  return d;
}

std::string LangIdModel::to_bytes() const {
  nlohmann::json buckets = nlohmann::json::array();
  for (const auto& b : impl_->calibration.buckets) buckets.push_back({{"max_words", b.max_words}, {"scale", b.scale}});
  nlohmann::json h = {{"languages", impl_->langs},
                      {"bits", impl_->bits},
                      {"scale", impl_->scale},
                      {"variant_margin", impl_->variant_margin},
                      {"calibration",
                       {{"t0", impl_->calibration.t0},
                        {"t_per_feature", impl_->calibration.t_per_feature},
                        {"unknown_below", impl_->calibration.unknown_below},
                        {"buckets", buckets}}},
                      {"features", "byte n-grams 1..5 + words"},
                      {"provenance", impl_->provenance}};
  std::string hs = h.dump();
  size_t bound = ZSTD_compressBound(impl_->table.size());
  std::string z(bound, '\0');
  size_t zn = ZSTD_compress(z.data(), bound, impl_->table.data(), impl_->table.size(), 19);
  z.resize(ZSTD_isError(zn) ? 0 : zn);
  std::string out(kMagic, 8);
  auto put32 = [&out](uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  put32(kVersion);
  put32(static_cast<uint32_t>(hs.size()));
  out += hs;
  uint64_t zl = z.size();
  out.append(reinterpret_cast<const char*>(&zl), 8);
  out += z;
  return out;
}

Status LangIdModel::save(const std::string& path) const { return write_file_atomic(path, to_bytes()); }

Result<LangIdModel> LangIdModel::from_bytes(std::string_view d, const std::string& name) {
  if (d.size() < 16 || std::memcmp(d.data(), kMagic, 8) != 0)
    return corruption_error("{}: offset 0: not a Fragua language-id model (bad magic)", name);
  uint32_t version, hl;
  std::memcpy(&version, d.data() + 8, 4);
  std::memcpy(&hl, d.data() + 12, 4);
  if (version < kOldestVersion || version > kVersion)
    return unsupported_error(
        "{}: offset 8: model version {} (this build reads {} to {}); retrain with `fragua corpus langid train`", name,
        version, kOldestVersion, kVersion);
  if (16 + uint64_t{hl} + 8 > d.size()) return corruption_error("{}: offset 12: header runs past the end", name);
  auto parsed = parse_json(d.substr(16, hl), name, 16);
  if (!parsed.ok()) return std::move(parsed).error();
  const nlohmann::json& h = *parsed;
  if (!h.is_object())
    return corruption_error("{}: offset 16: the header is {}, not a JSON object", name, json_preview(h));
  LangIdModel m;
  auto& im = *m.impl_;
  // Every field is checked for its type and range here: a raw JSON-library exception names
  // neither the file nor the field.
  const std::string at = fmt::format("{}: offset 16: header field", name);
  auto it = h.find("languages");
  if (it == h.end() || !it->is_array() || it->empty() || it->size() > static_cast<size_t>(kStride))
    return corruption_error("{} \"languages\": expected an array of 1 to {} language tags, found {}", at, kStride,
                            it == h.end() ? std::string("nothing") : json_preview(*it));
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& l = (*it)[i];
    if (!l.is_string() || l.get_ref<const std::string&>().empty() ||
        l.get_ref<const std::string&>().size() > kMaxLangTag)
      return corruption_error("{} \"languages\"[{}]: expected a language tag of 1 to {} bytes, found {}", at, i,
                              kMaxLangTag, json_preview(l));
    im.langs.push_back(l.get<std::string>());
  }
  it = h.find("bits");
  if (it == h.end()) return corruption_error("{} \"bits\" is missing", at);
  im.bits = static_cast<int>(FRAGUA_TRY(json_integer(*it, at + " \"bits\"", 8, 24)));
  auto number_or = [&](const char* key, double fallback) -> Result<double> {
    auto f = h.find(key);
    if (f == h.end()) return fallback;
    if (!f->is_number() || !std::isfinite(f->get<double>()) || f->get<double>() < 0)
      return corruption_error("{} \"{}\": expected a non-negative number, found {}", at, key, json_preview(*f));
    return f->get<double>();
  };
  im.scale = FRAGUA_TRY(number_or("scale", 10.0));
  im.variant_margin = FRAGUA_TRY(number_or("variant_margin", 40.0));
  if (auto p = h.find("provenance"); p != h.end()) im.provenance = *p;
  // Models written before calibration was fitted keep the fixed temperature 1 + n/16.
  if (auto c = h.find("calibration"); c != h.end()) {
    if (!c->is_object()) return corruption_error("{} \"calibration\": expected an object, found {}", at, json_preview(*c));
    for (auto [key, field] : {std::pair{"t0", &im.calibration.t0}, std::pair{"t_per_feature", &im.calibration.t_per_feature},
                              std::pair{"unknown_below", &im.calibration.unknown_below}}) {
      auto f = c->find(key);
      if (f == c->end()) continue;
      if (!f->is_number() || !std::isfinite(f->get<double>()) || f->get<double>() < 0 || f->get<double>() > 1e6)
        return corruption_error("{} \"calibration\".\"{}\": expected a number in [0, 1e6], found {}", at, key,
                                json_preview(*f));
      *field = f->get<double>();
    }
    if (auto b = c->find("buckets"); b != c->end()) {
      const std::string bat = at + " \"calibration\".\"buckets\"";
      if (!b->is_array() || b->size() > kMaxLengthBuckets)
        return corruption_error("{}: expected an array of at most {} buckets, found {}", bat, kMaxLengthBuckets,
                                json_preview(*b));
      for (size_t i = 0; i < b->size(); ++i) {
        const auto& e = (*b)[i];
        const std::string eat = fmt::format("{}[{}]", bat, i);
        if (!e.is_object() || !e.contains("max_words") || !e.contains("scale"))
          return corruption_error("{}: expected {{\"max_words\", \"scale\"}}, found {}", eat, json_preview(e));
        LangIdLengthBucket lb;
        lb.max_words = static_cast<uint32_t>(FRAGUA_TRY(json_integer(e["max_words"], eat + " \"max_words\"", 0, 1000000)));
        const auto& sc = e["scale"];
        if (!sc.is_number() || !std::isfinite(sc.get<double>()) || sc.get<double>() <= 0 || sc.get<double>() > 1e6)
          return corruption_error("{} \"scale\": expected a number in (0, 1e6], found {}", eat, json_preview(sc));
        lb.scale = sc.get<double>();
        // Ascending bounds, an open-ended (0) one only last: scale_for takes the first that fits.
        const bool last = i + 1 == b->size();
        if ((lb.max_words == 0) != last ||
            (!im.calibration.buckets.empty() && lb.max_words != 0 &&
             lb.max_words <= im.calibration.buckets.back().max_words))
          return corruption_error("{} \"max_words\": {} is out of order (ascending, 0 for the open-ended last bucket)",
                                  eat, lb.max_words);
        im.calibration.buckets.push_back(lb);
      }
    }
  } else {
    im.calibration.unknown_below = 0;
  }
  uint64_t zl;
  std::memcpy(&zl, d.data() + 16 + hl, 8);
  size_t off = 16 + hl + 8;
  if (zl > d.size() - off) return corruption_error("{}: offset {}: table runs past the end", name, off - 8);
  // The frame header states the decoded size (ZSTD_compress writes it): check it before
  // allocating up to 256 MB for a table a few hostile bytes claim.
  const unsigned long long content = ZSTD_getFrameContentSize(d.data() + off, zl);
  if (content != (uint64_t{1} << im.bits << 4))
    return corruption_error("{}: offset {}: compressed table does not hold 2^{} rows of 16 bytes", name, off, im.bits);
  im.table.assign(size_t{1} << im.bits << 4, 0);
  size_t n = ZSTD_decompress(im.table.data(), im.table.size(), d.data() + off, zl);
  if (ZSTD_isError(n) || n != im.table.size())
    return corruption_error("{}: offset {}: bad compressed table", name, off);
  im.finish_setup();
  return m;
}

Result<LangIdModel> LangIdModel::load(const std::string& path) {
  auto data = FRAGUA_TRY(read_file(path));
  return from_bytes(data, path);
}

Result<LangIdModel> LangIdModel::load_default() {
  if (std::string p = runtime_options().langid_model; !p.empty()) return load(p);
  return load(FRAGUA_TRY(find_data_file("langid/model.bin")));
}

std::vector<std::pair<size_t, size_t>> split_sentences(std::string_view t) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t start = 0;
  auto flush = [&](size_t end) {
    size_t b = start, e = end;
    while (b < e && (t[b] == ' ' || t[b] == '\t' || t[b] == '\n' || t[b] == '\r')) ++b;
    while (e > b && (t[e - 1] == ' ' || t[e - 1] == '\t' || t[e - 1] == '\n' || t[e - 1] == '\r')) --e;
    if (e > b) out.emplace_back(b, e - b);
  };
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '\n') {
      flush(i);
      start = i + 1;
    } else if ((c == '.' || c == '!' || c == '?') && i + 1 < t.size() && (t[i + 1] == ' ' || t[i + 1] == '\n')) {
      // "Sr. García", "p. ej." : an abbreviation is a short lower-case or capitalized token.
      size_t w = i;
      while (w > start && t[w - 1] != ' ') --w;
      if (c == '.' && i - w <= 2 && i > w) continue;
      flush(i + 1);
      start = i + 1;
    }
  }
  flush(t.size());
  return out;
}

size_t count_words(std::string_view t) {
  size_t n = 0;
  bool in = false;
  for (char c : t) {
    bool sp = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (!sp && !in) ++n;
    in = !sp;
  }
  return n;
}

}  // namespace fragua::data
