// SPDX-License-Identifier: Apache-2.0
// Catalog pairs between two languages by pivoting on the English msgid (see fragua/data/pairs.h).
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/data/debian.h"
#include "fragua/data/pairs.h"

namespace fragua::data {

namespace {

// (family, catalog, English)
using PivotKey = std::tuple<std::string, std::string, std::string>;

struct PivotChoice {
  std::map<std::string, uint64_t> texts;  // translation -> how many catalogs gave it
  const CatalogString* first = nullptr;   // package and licence of the record seen first
};

std::map<PivotKey, PivotChoice> group_catalog_strings(const std::vector<CatalogString>& strings) {
  std::map<PivotKey, PivotChoice> out;
  for (const auto& s : strings) {
    if (s.en.empty() || s.text.empty()) continue;
    auto& c = out[{package_family(s.package), s.catalog, s.en}];
    c.texts[s.text]++;
    if (!c.first) c.first = &s;
  }
  return out;
}

// The majority translation (ties: the smallest text, std::map order); true if there were several.
const std::string& majority_text(const PivotChoice& c, bool& ambiguous) {
  ambiguous = c.texts.size() > 1;
  auto best = c.texts.begin();
  for (auto it = c.texts.begin(); it != c.texts.end(); ++it)
    if (it->second > best->second) best = it;
  return best->first;
}

}  // namespace

std::string package_family(std::string_view package) {
  std::string p(package);
  // Longest first: "-ca-valencia" before "-ca".
  static constexpr const char* kSuffixes[] = {"-ca-valencia", "-es", "-ca", "-eu",  "-gl", "-pt",
                                              "-fr",          "-it", "-oc", "-ast", "-en"};
  for (const char* s : kSuffixes) {
    std::string_view suf(s);
    if (p.size() > suf.size() && p.compare(p.size() - suf.size(), suf.size(), suf) == 0)
      return p.substr(0, p.size() - suf.size());
  }
  return p;
}

std::vector<PivotPair> pivot_catalog_strings(const std::vector<CatalogString>& source,
                                             const std::vector<CatalogString>& target, PivotStats& stats) {
  auto src = group_catalog_strings(source), tgt = group_catalog_strings(target);
  std::vector<PivotPair> out;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& [key, sc] : src) {
    auto it = tgt.find(key);
    if (it == tgt.end()) continue;
    ++stats.shared_keys;
    bool amb_s = false, amb_t = false;
    const std::string& s = majority_text(sc, amb_s);
    const std::string& t = majority_text(it->second, amb_t);
    if (amb_s || amb_t) ++stats.ambiguous;
    if (!seen.emplace(s, t).second) {
      ++stats.duplicates;
      continue;
    }
    PivotPair p;
    p.source = s;
    p.target = t;
    p.en = std::get<2>(key);
    p.family = std::get<0>(key);
    p.source_package = sc.first->package;
    p.target_package = it->second.first->package;
    p.licence = sc.first->licence;
    p.target_licence = it->second.first->licence;
    out.push_back(std::move(p));
  }
  stats.pairs = out.size();
  return out;
}

Result<std::vector<CatalogString>> read_catalog_strings(const std::string& path, const std::string& lang, Env& env) {
  auto data = FRAGUA_TRY(read_file(path, env));
  std::vector<CatalogString> out;
  size_t line_no = 0;
  for (size_t pos = 0; pos < data.size();) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) nl = data.size();
    std::string_view line = std::string_view(data).substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line.empty()) continue;
    std::string where = fmt::format("{}:{}", path, line_no);
    nlohmann::json j = FRAGUA_TRY(parse_json(line, where));
    if (!j.is_object()) return corruption_error("{}: not a JSON object", where);
    auto str = [&](const char* k, bool required, std::string& dst) -> Status {
      auto it = j.find(k);
      if (it == j.end()) {
        if (required) return corruption_error("{}: no field '{}'", where, k);
        return ok_status();
      }
      if (!it->is_string()) return corruption_error("{}: field '{}' is not a string", where, k);
      dst = it->get<std::string>();
      return ok_status();
    };
    CatalogString s;
    FRAGUA_TRY(str("en", true, s.en));
    FRAGUA_TRY(str(lang.c_str(), true, s.text));
    FRAGUA_TRY(str("package", true, s.package));
    FRAGUA_TRY(str("version", false, s.version));
    FRAGUA_TRY(str("licence", false, s.licence));
    std::string path_field;
    FRAGUA_TRY(str("path", false, path_field));
    if (!path_field.empty()) s.catalog = std::filesystem::path(path_field).filename().string();
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<PairsReport>> build_pivot_pairs(const PairsOptions& o) {
  Env& env = o.env ? *o.env : Env::posix();
  namespace fs = std::filesystem;
  fs::path in = fs::path(o.corpus_dir) / "parallel";
  fs::path out = o.out_dir.empty() ? in : fs::path(o.out_dir);
  std::string pivot_path = (in / (o.pivot + "-en.jsonl")).string();
  if (!env.file_exists(pivot_path))
    return not_found_error("{}: no pivot catalog strings (run `fragua corpus fetch debian` first)", pivot_path);
  auto pivot = FRAGUA_TRY(read_catalog_strings(pivot_path, o.pivot, env));
  FRAGUA_TRY(env.create_dirs(out.string()));
  std::vector<PairsReport> reports;
  for (const auto& lang : o.targets) {
    if (lang == o.pivot) return invalid_argument_error("pairs: target '{}' is the pivot language", lang);
    std::string tpath = (in / (lang + "-en.jsonl")).string();
    if (!env.file_exists(tpath)) {
      log_warn("corpus pairs: {} absent: no {}-{} pairs", tpath, o.pivot, lang);
      continue;
    }
    auto target = FRAGUA_TRY(read_catalog_strings(tpath, lang, env));
    PairsReport r;
    r.source = o.pivot;
    r.target = lang;
    r.path = (out / (o.pivot + "-" + lang + ".jsonl")).string();
    auto pairs = pivot_catalog_strings(pivot, target, r.stats);
    auto file = FRAGUA_TRY(AtomicFile::create(r.path, env));
    std::string buf;
    for (const auto& p : pairs) {
      nlohmann::json j = {{o.pivot, p.source},
                          {lang, p.target},
                          {"en", p.en},
                          {"package", p.family},
                          {"source_packages", nlohmann::json::array({p.source_package, p.target_package})},
                          {"licence", p.licence}};
      if (p.target_licence != p.licence) j["licence_" + lang] = p.target_licence;
      buf += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      buf.push_back('\n');
      if (buf.size() > (1u << 20)) {
        FRAGUA_TRY(file.append(buf));
        buf.clear();
      }
    }
    FRAGUA_TRY(file.append(buf));
    FRAGUA_TRY(file.commit());
    reports.push_back(std::move(r));
  }
  std::string table =
      "| pair | pairs | shared English keys | ambiguous keys (majority kept) | duplicate pairs dropped |\n"
      "|---|---:|---:|---:|---:|\n";
  for (const auto& r : reports)
    table += fmt::format("| {}-{} | {} | {} | {} | {} |\n", r.source, r.target, r.stats.pairs, r.stats.shared_keys,
                         r.stats.ambiguous, r.stats.duplicates);
  FRAGUA_TRY(write_file_atomic((out / "pairs.md").string(), "# Catalog pairs by English pivot\n\n" + table, env));
  return reports;
}

}  // namespace fragua::data
