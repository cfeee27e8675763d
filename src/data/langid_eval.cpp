// SPDX-License-Identifier: Apache-2.0
// Language-id training data preparation and held-out evaluation.
#include <chrono>
#include <cmath>
#include <map>
#include <unordered_map>

#include <xxhash.h>

#include "fragua/base/lang.h"
#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/data/clean.h"
#include "fragua/data/debian.h"
#include "fragua/data/langid.h"
#include "langid_features.h"
#include "langid_impl.h"

namespace fragua::data {
namespace {

// The document's path with every locale directory masked: "help/ca/text/x.html" and
// "help/gl/text/x.html" share a key.
std::string doc_key(const std::string& path) {
  std::string out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t sl = path.find('/', pos);
    if (sl == std::string::npos) sl = path.size();
    std::string comp = path.substr(pos, sl - pos);
    bool loc = comp.size() <= 11 && comp.find('.') == std::string::npos && !debian_lang(comp).empty();
    out += loc ? "*" : comp;
    out += "/";
    pos = sl + 1;
  }
  return out;
}

// Base languages of a training set: one bit each in a sentence's language mask.
constexpr size_t kMaxBaseLanguages = 32;
// Distinct language labels (variants included) of a training set: a model holds 16 classes;
// this bounds the label table, not quality.
constexpr size_t kMaxTrainingLanguages = 256;

// A string field of a corpus record, or "" when it is absent or not a string.
std::string string_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Result<LangIdSplit> prepare_langid_data(const std::vector<std::string>& paths, double heldout_fraction) {
  struct Item {
    std::string text;
    uint16_t lang;
    uint8_t part;  // 0 train, 1 held out, 2 calibration
    uint64_t hash;
    std::string domain;
  };
  std::vector<std::string> langs;
  std::vector<Item> items;
  std::unordered_map<uint64_t, uint32_t> base_mask;  // sentence hash -> set of base languages
  std::vector<std::string> bases;
  for (const auto& p : paths) {
    auto data = FRAGUA_TRY(read_file(p));
    size_t pos = 0, line_no = 0;
    while (pos < data.size()) {
      size_t nl = data.find('\n', pos);
      if (nl == std::string::npos) nl = data.size();
      ++line_no;
      auto parsed = parse_json(std::string_view(data).substr(pos, nl - pos), p);
      pos = nl + 1;
      const nlohmann::json j = parsed.ok() ? std::move(*parsed) : nlohmann::json();
      if (!j.is_object() || !j.contains("text") || !j["text"].is_string()) {
        log_warn("{}: line {}: not a corpus record, skipped", p, line_no);
        continue;
      }
      std::string lang = string_field(j, "lang");
      if (lang.empty()) continue;
      // Translated manual pages keep whole English paragraphs and code: not language evidence.
      if (string_field(j, "kind") == "manpage") continue;
      std::string path = j.contains("path") ? string_field(j, "path") : string_field(j, "id");
      std::string key = doc_key(path.substr(0, path.find('#')));
      const uint64_t bucket = XXH64(key.data(), key.size(), 7) % 1000;
      const auto cut = static_cast<uint64_t>(heldout_fraction * 1000);
      const uint8_t part = bucket < cut ? 1 : bucket < 2 * cut ? 2 : 0;
      const std::string domain = string_field(j, "kind");
      auto li = std::find(langs.begin(), langs.end(), lang);
      if (li == langs.end()) {
        if (langs.size() == kMaxTrainingLanguages)
          return invalid_argument_error("{}: line {}: more than {} distinct languages", p, line_no,
                                        kMaxTrainingLanguages);
        li = langs.insert(langs.end(), lang);
      }
      auto lid = static_cast<uint16_t>(li - langs.begin());
      std::string b = std::string(base_language(lang));
      auto bi = std::find(bases.begin(), bases.end(), b);
      if (bi == bases.end()) {
        if (bases.size() == kMaxBaseLanguages)
          return invalid_argument_error("{}: line {}: language '{}' is one more than the {} base languages supported",
                                        p, line_no, b.substr(0, 40), kMaxBaseLanguages);
        bi = bases.insert(bases.end(), b);
      }
      uint32_t bit = 1u << (bi - bases.begin());
      const std::string& text = j["text"].get_ref<const std::string&>();
      for (auto [off, len] : split_sentences(text)) {
        std::string s = text.substr(off, len);
        if (s.size() < 3 || count_words(s) == 0) continue;
        uint64_t h = XXH64(s.data(), s.size(), 0);
        base_mask[h] |= bit;
        items.push_back({std::move(s), lid, part, h, domain});
      }
    }
  }
  LangIdSplit split;
  size_t dropped = 0;
  for (auto& it : items) {
    if (__builtin_popcount(base_mask[it.hash]) > 1) {
      ++dropped;
      continue;
    }
    auto& to = it.part == 1 ? split.heldout : it.part == 2 ? split.calibration : split.train;
    to.push_back({std::move(it.text), langs[it.lang], std::move(it.domain)});
  }
  log_info("langid data: {} training, {} held-out, {} calibration sentences; {} dropped as shared across languages",
           split.train.size(), split.heldout.size(), split.calibration.size(), dropped);
  if (split.train.empty()) return invalid_argument_error("no training sentences in the given files");
  return split;
}

double expected_calibration_error(const std::vector<std::pair<double, bool>>& cc, int bins) {
  if (cc.empty() || bins < 1) return 0;
  std::vector<double> conf(static_cast<size_t>(bins), 0), acc(static_cast<size_t>(bins), 0);
  std::vector<uint64_t> n(static_cast<size_t>(bins), 0);
  for (auto [c, ok] : cc) {
    // Bins are (k/B, (k+1)/B]; confidence 0 goes to the first.
    int k = std::clamp(static_cast<int>(std::ceil(c * bins)) - 1, 0, bins - 1);
    conf[static_cast<size_t>(k)] += c;
    acc[static_cast<size_t>(k)] += ok ? 1 : 0;
    n[static_cast<size_t>(k)]++;
  }
  double ece = 0;
  for (size_t k = 0; k < n.size(); ++k)
    if (n[k]) ece += std::fabs(acc[k] - conf[k]) / static_cast<double>(cc.size());
  return ece;
}

LangIdCalibration fit_langid_calibration(const LangIdModel& model, const std::vector<LabeledText>& heldout) {
  const auto& im = *model.impl_;
  struct Row {
    double nats[langid_detail::kStride];
    uint32_t n, words;
    int gold;
    bool cut;  // a run of words cut from a longer sentence (see below)
  };
  std::vector<Row> rows;
  rows.reserve(heldout.size());
  auto add_row = [&](std::string_view text, int gold, bool cut) {
    LangIdModel::Impl::Scores sc;
    im.score(text, sc);
    if (sc.n == 0 || sc.words == 0) return;
    Row r{};
    im.class_nats(sc, r.nats);
    r.n = sc.n;
    r.words = sc.words;
    r.gold = gold;
    r.cut = cut;
    rows.push_back(r);
  };
  // Short text met in use is often a few words of running text ("de la", "que el"), which
  // the short lines of catalogs (mostly content words: "Fitxer", "Aceptar") under-represent: the
  // short buckets are also fitted on runs of 1, 2, 3, 4, 1, ... consecutive words cut from
  // every fourth sentence of 5+ words.
  size_t long_sentences = 0;
  std::vector<std::string_view> words;
  for (const auto& s : heldout) {
    auto it = std::find(im.base_names.begin(), im.base_names.end(), std::string(base_language(s.lang)));
    if (it == im.base_names.end()) continue;
    const int gold = static_cast<int>(it - im.base_names.begin());
    const std::string nfc = normalize_nfc(s.text);
    add_row(nfc, gold, false);
    words.clear();
    for (size_t i = 0; i < nfc.size();) {
      while (i < nfc.size() && (nfc[i] == ' ' || nfc[i] == '\t' || nfc[i] == '\n' || nfc[i] == '\r')) ++i;
      const size_t b = i;
      while (i < nfc.size() && !(nfc[i] == ' ' || nfc[i] == '\t' || nfc[i] == '\n' || nfc[i] == '\r')) ++i;
      if (i > b) words.push_back(std::string_view(nfc).substr(b, i - b));
    }
    if (words.size() < 5 || long_sentences++ % 4 != 0) continue;
    for (size_t i = 0, n = 1; i + n <= words.size(); i += n, n = n % 4 + 1) {
      const char* first = words[i].data();
      const char* last = words[i + n - 1].data() + words[i + n - 1].size();
      add_row(std::string_view(first, static_cast<size_t>(last - first)), gold, true);
    }
  }
  LangIdCalibration best = im.calibration;
  best.buckets.clear();  // the global fit first, every scale 1
  if (rows.empty()) return best;
  auto nll_of = [&](const LangIdCalibration& c, size_t lo_words, size_t hi_words, bool with_cut) {
    double total = 0, post[langid_detail::kStride];
    for (const auto& r : rows) {
      if ((r.cut && !with_cut) || r.words < lo_words || (hi_words != 0 && r.words > hi_words)) continue;
      im.base_log_posteriors(r.nats, r.n, r.words, c, post);
      total -= std::max(post[r.gold], -50.0);
    }
    return total;
  };
  auto nll = [&](double t0, double k) {
    LangIdCalibration c = best;
    c.t0 = t0;
    c.t_per_feature = k;
    return nll_of(c, 0, 0, false);
  };
  // Grid on a log scale, then two rounds of a finer grid around the best point: two
  // parameters, and the objective is smooth in both.
  double bt0 = best.t0, bk = best.t_per_feature, bv = nll(bt0, bk);
  double t0_lo = 0.05, t0_hi = 50, k_lo = 1e-3, k_hi = 2;
  for (int round = 0; round < 3; ++round) {
    const int G = 12;
    for (int a = 0; a < G; ++a)
      for (int b = 0; b < G; ++b) {
        double t0 = t0_lo * std::pow(t0_hi / t0_lo, a / double(G - 1));
        double k = k_lo * std::pow(k_hi / k_lo, b / double(G - 1));
        double v = nll(t0, k);
        if (v < bv) {
          bv = v;
          bt0 = t0;
          bk = k;
        }
      }
    double st = std::pow(t0_hi / t0_lo, 1.5 / (G - 1)), sk = std::pow(k_hi / k_lo, 1.5 / (G - 1));
    t0_lo = bt0 / st;
    t0_hi = bt0 * st;
    k_lo = bk / sk;
    k_hi = bk * sk;
  }
  best.t0 = bt0;
  best.t_per_feature = bk;
  // Then one scale per length bucket, on that bucket's sentences alone: a log-scale grid and
  // three finer rounds around the best point (one parameter, a smooth objective).
  best.buckets = default_langid_length_buckets();
  constexpr size_t kMinBucketRows = 30;
  size_t lo_words = 1;
  for (auto& b : best.buckets) {
    size_t count = 0;
    for (const auto& r : rows) count += !r.cut && r.words >= lo_words && (b.max_words == 0 || r.words <= b.max_words);
    if (count >= kMinBucketRows) {
      LangIdCalibration c = best;
      auto at = [&](double scale) {
        for (auto& cb : c.buckets)
          if (cb.max_words == b.max_words) cb.scale = scale;
        return nll_of(c, lo_words, b.max_words, true);
      };
      double bs = 1, bv1 = at(1), lo = 0.02, hi = 50;
      for (int round = 0; round < 4; ++round) {
        const int G = 16;
        for (int a = 0; a < G; ++a) {
          const double sc = lo * std::pow(hi / lo, a / double(G - 1));
          if (double v = at(sc); v < bv1) {
            bv1 = v;
            bs = sc;
          }
        }
        const double step = std::pow(hi / lo, 1.5 / (G - 1));
        lo = bs / step;
        hi = bs * step;
      }
      b.scale = bs;
    }
    lo_words = b.max_words + 1;
  }
  return best;
}

LangIdEval evaluate_langid(const LangIdModel& model, const std::vector<LabeledText>& heldout, size_t min_words) {
  LangIdEval e;
  for (const auto& l : model.languages()) {
    std::string b = std::string(base_language(l));
    if (std::find(e.langs.begin(), e.langs.end(), b) == e.langs.end()) e.langs.push_back(b);
  }
  size_t L = e.langs.size();
  e.confusion.assign(L, std::vector<uint64_t>(L, 0));
  auto index = [&](const std::string& l) {
    return static_cast<size_t>(std::find(e.langs.begin(), e.langs.end(), std::string(base_language(l))) - e.langs.begin());
  };
  std::vector<std::pair<double, bool>> short_cc, by_words[4];
  uint64_t short_unknown = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> per_domain;
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& s : heldout) {
    const size_t words = count_words(s.text);
    if (words >= 1 && words <= 4 && index(s.lang) < L) {
      LangGuess g = model.identify(s.text);
      if (!g.best.empty()) {
        short_cc.emplace_back(g.confidence, std::string(base_language(g.best)) == std::string(base_language(s.lang)));
        by_words[words - 1].push_back(short_cc.back());
        short_unknown += g.lang == "und";
      }
    }
    if (words < min_words) continue;
    size_t g = index(s.lang);
    if (g >= L) continue;
    LangGuess guess = model.identify(s.text);
    // Counted as the best class: the matrix has no column for "und".
    size_t p = index(guess.best.empty() ? guess.lang : guess.best);
    if (p >= L) continue;
    auto& dc = per_domain[s.domain.empty() ? std::string("-") : s.domain];
    dc.first += p == g;
    dc.second++;
    if (p != g && e.errors.size() < 5000) e.errors.push_back(fmt::format("{} -> {}: {}", s.lang, e.langs[p], s.text));
    e.confusion[g][p]++;
    e.n++;
  }
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  e.n_short = short_cc.size();
  e.ece_short = expected_calibration_error(short_cc, 10);
  for (size_t w = 0; w < 4; ++w) {
    e.n_by_words[w] = by_words[w].size();
    e.ece_by_words[w] = expected_calibration_error(by_words[w], 10);
  }
  e.unknown_short = short_cc.empty() ? 0 : static_cast<double>(short_unknown) / static_cast<double>(short_cc.size());
  for (auto& [d, ct] : per_domain) e.domain_correct_total.push_back({d, ct});
  e.precision.assign(L, 0);
  e.recall.assign(L, 0);
  e.f1.assign(L, 0);
  double core_sum = 0;
  int core_n = 0;
  for (size_t i = 0; i < L; ++i) {
    uint64_t tp = e.confusion[i][i], row = 0, col = 0;
    for (size_t k = 0; k < L; ++k) {
      row += e.confusion[i][k];
      col += e.confusion[k][i];
    }
    e.precision[i] = col ? static_cast<double>(tp) / static_cast<double>(col) : 0;
    e.recall[i] = row ? static_cast<double>(tp) / static_cast<double>(row) : 0;
    double pr = e.precision[i] + e.recall[i];
    e.f1[i] = pr > 0 ? 2 * e.precision[i] * e.recall[i] / pr : 0;
    for (const char* c : {"es", "ca", "eu", "gl", "pt", "en"})
      if (e.langs[i] == c) {
        core_sum += e.f1[i];
        ++core_n;
      }
  }
  e.macro_f1_core = core_n ? core_sum / core_n : 0;
  return e;
}

std::string format_langid_eval(const LangIdEval& e) {
  std::string s = fmt::format(
      "{} held-out sentences, {:.0f} sentences/s\n\n| lang | n | precision | recall | F1 "
      "|\n|---|---:|---:|---:|---:|\n",
      e.n, e.seconds > 0 ? static_cast<double>(e.n) / e.seconds : 0.0);
  for (size_t i = 0; i < e.langs.size(); ++i) {
    uint64_t row = 0;
    for (auto v : e.confusion[i]) row += v;
    s += fmt::format("| {} | {} | {:.4f} | {:.4f} | {:.4f} |\n", e.langs[i], row, e.precision[i], e.recall[i], e.f1[i]);
  }
  s += fmt::format("\nmacro-F1 (es, ca, eu, gl, pt, en): {:.4f}\n", e.macro_f1_core);
  if (!e.domain_correct_total.empty()) {
    s += "\n| domain | n | accuracy |\n|---|---:|---:|\n";
    for (const auto& [d, ct] : e.domain_correct_total)
      s += fmt::format("| {} | {} | {:.4f} |\n", d, ct.second,
                       ct.second ? static_cast<double>(ct.first) / static_cast<double>(ct.second) : 0.0);
  }
  s += fmt::format(
      "\n1-4 word sentences: {}, expected calibration error {:.4f} (10 equal-width bins), answered \"und\" "
      "{:.1f}%\n",
      e.n_short, e.ece_short, 100 * e.unknown_short);
  for (size_t w = 0; w < 4; ++w)
    s += fmt::format("  {} word{}: {}, ECE {:.4f}\n", w + 1, w ? "s" : "", e.n_by_words[w], e.ece_by_words[w]);
  s += fmt::format(
      "\nconfusion (rows: gold, columns: predicted)\n\n|    |");
  for (const auto& l : e.langs) s += fmt::format(" {} |", l);
  s += "\n|---|";
  for (size_t i = 0; i < e.langs.size(); ++i) s += "---:|";
  s += "\n";
  for (size_t i = 0; i < e.langs.size(); ++i) {
    s += fmt::format("| {} |", e.langs[i]);
    for (auto v : e.confusion[i]) s += fmt::format(" {} |", v);
    s += "\n";
  }
  return s;
}

}  // namespace fragua::data
