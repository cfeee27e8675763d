// Language-id training data preparation and held-out evaluation.
#include <chrono>
#include <unordered_map>

#include <xxhash.h>

#include "fragua/base/lang.h"
#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/data/debian.h"
#include "fragua/data/langid.h"

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
    bool heldout;
    uint64_t hash;
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
      bool held = (XXH64(key.data(), key.size(), 7) % 1000) < static_cast<uint64_t>(heldout_fraction * 1000);
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
        items.push_back({std::move(s), lid, held, h});
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
    (it.heldout ? split.heldout : split.train).push_back({std::move(it.text), langs[it.lang]});
  }
  log_info("langid data: {} training, {} held-out sentences; {} dropped as shared across languages", split.train.size(),
           split.heldout.size(), dropped);
  if (split.train.empty()) return invalid_argument_error("no training sentences in the given files");
  return split;
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
  auto t0 = std::chrono::steady_clock::now();
  for (const auto& s : heldout) {
    if (count_words(s.text) < min_words) continue;
    size_t g = index(s.lang);
    if (g >= L) continue;
    size_t p = index(model.identify(s.text).lang);
    if (p >= L) continue;
    if (p != g && e.errors.size() < 5000) e.errors.push_back(fmt::format("{} -> {}: {}", s.lang, e.langs[p], s.text));
    e.confusion[g][p]++;
    e.n++;
  }
  e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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
  s +=
      fmt::format("\nmacro-F1 (es, ca, eu, gl, pt, en): {:.4f}\n\nconfusion (rows: gold, columns: predicted)\n\n|    |",
                  e.macro_f1_core);
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
