// Language identification: scoring, model file, sentence splitting. Training is in
// langid_trainer.cpp.
//
// Model file: magic "FRAGLID\0", u32 version (1), u32 header length, JSON header (languages,
// bucket bits, cost scale, provenance), u64 compressed length, zstd-compressed table of
// 2^bits rows x 16 uint8 costs. A cost c stands for a log-weight of -c * scale / 255 relative to
// the best class of that bucket, so scores add in integers.
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "fragua/base/lang.h"
#include "fragua/base/data_files.h"
#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/runtime_options.h"
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
constexpr uint32_t kVersion = 1;
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
}

LangGuess LangIdModel::Impl::decide(const Scores& s) const {
  LangGuess g;
  int L = static_cast<int>(langs.size());
  if (s.n == 0 || L == 0) {
    g.lang = g.base_lang = "und";
    return g;
  }
  std::vector<double> nats(L);
  for (int l = 0; l < L; ++l) nats[l] = -static_cast<double>(s.cost[l]) * scale / 255.0;
  int best = 0;
  for (int l = 1; l < L; ++l)
    if (nats[l] > nats[best]) best = l;
  // The Valencian variant only when it is ahead of standard Catalan by a margin: most
  // sentences read the same in both.
  if (variant_of[best] >= 0 && nats[best] - nats[variant_of[best]] < variant_margin) best = variant_of[best];
  // Posterior over base languages; the temperature grows with the number of features, since
  // naive Bayes treats overlapping n-grams as independent evidence.
  double temp = 1.0 + static_cast<double>(s.n) / 16.0;
  std::vector<double> base_score;
  std::vector<std::string> base_names;
  for (int l = 0; l < L; ++l) {
    std::string b = std::string(base_language(langs[l]));
    auto it = std::find(base_names.begin(), base_names.end(), b);
    double v = nats[l] / temp;
    if (it == base_names.end()) {
      base_names.push_back(b);
      base_score.push_back(v);
    } else {
      double& x = base_score[static_cast<size_t>(it - base_names.begin())];
      x = std::max(x, v) + std::log1p(std::exp(-std::fabs(x - v)));
    }
  }
  double mx = *std::max_element(base_score.begin(), base_score.end()), sum = 0;
  for (double v : base_score) sum += std::exp(v - mx);
  g.lang = langs[best];
  g.base_lang = std::string(base_language(g.lang));
  size_t bi = static_cast<size_t>(std::find(base_names.begin(), base_names.end(), g.base_lang) - base_names.begin());
  g.confidence = std::exp(base_score[bi] - mx) / sum;
  double second = -1e300;
  for (size_t k = 0; k < base_names.size(); ++k)
    if (k != bi && base_score[k] > second) {
      second = base_score[k];
      g.second = base_names[k];
    }
  return g;
}

void LangIdModel::Impl::finish_setup() {
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
  static const char* kValencian[] = {"este",     "esta",   "estos",   "estes",    "eixe",   "eixa",     "eixos",
                                     "eixes",    "hui",    "ací",     "meua",     "teua",   "seua",     "meues",
                                     "teues",    "seues",  "vosté",   "vostés",   "xiquet", "xiquets",  "xiqueta",
                                     "xiquetes", "eixir",  "prompte", "vore",     "huit",   "obri",     "siga",
                                     "sigues",   "siguen", "vullga",  "vullgues", "puga",   "pugues",   "tinga",
                                     "tingues",  "isca",   "servix",  "oferix",   "patix",  "preferix", nullptr};
  static const char* kCentral[] = {"aquest", "aquesta", "aquests", "aquestes", "avui",    "meva",      "teva",
                                   "seva",   "meves",   "teves",   "seves",    "vostè",   "vostès",    "nen",
                                   "nens",   "nena",    "sortir",  "aviat",    "veure",   "vuit",      "obre",
                                   "sigui",  "siguis",  "siguin",  "vulgui",   "vulguis", "pugui",     "puguis",
                                   "tingui", "tinguis", "serveix", "ofereix",  "pateix",  "prefereix", nullptr};
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
    for (const char* const* v = kValencian; *v; ++v)
      if (w == *v) ++vote;
    for (const char* const* c = kCentral; *c; ++c)
      if (w == *c) --vote;
  }
  return vote;
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

LangGuess LangIdModel::identify(std::string_view text) const {
  Impl::Scores s;
  impl_->score(text, s);
  LangGuess g = impl_->decide(s);
  impl_->refine_variant(text, g);
  return g;
}

DocumentGuess LangIdModel::identify_document(std::string_view text, bool sentences) const {
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
    d.sentences.push_back({off, len, impl_->decide(s)});
    impl_->refine_variant(text.substr(off, len), d.sentences.back().guess);
  }
  d.guess = impl_->decide(total);
  impl_->refine_variant(text, d.guess);
  return d;
}

std::string LangIdModel::to_bytes() const {
  nlohmann::json h = {{"languages", impl_->langs},
                      {"bits", impl_->bits},
                      {"scale", impl_->scale},
                      {"variant_margin", impl_->variant_margin},
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
  if (version != kVersion)
    return unsupported_error(
        "{}: offset 8: model version {} (this build reads {}); retrain with `fragua corpus langid train`", name,
        version, kVersion);
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
