// SPDX-License-Identifier: Apache-2.0
// Statistics and the report of `fragua corpus build`.
#include <algorithm>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "fragua/base/svg.h"
#include "pipeline_stats.h"

namespace fragua::data {

void BuildStats::merge(const BuildStats& o) {
  bad_records += o.bad_records;
  files += o.files;
  for (const auto& [l, s] : o.langs) {
    auto& t = langs[l];
    t.in_docs += s.in_docs;
    t.in_bytes += s.in_bytes;
    t.out_docs += s.out_docs;
    t.out_bytes += s.out_bytes;
    for (const auto& [r, d] : s.drops) {
      t.drops[r].first += d.first;
      t.drops[r].second += d.second;
    }
    for (int k = 0; k < kPiiKindCount; ++k) t.pii[k] += s.pii[k];
  }
}

nlohmann::json BuildStats::to_json() const {
  nlohmann::json j = {{"bad_records", bad_records}, {"files", files}, {"languages", nlohmann::json::object()}};
  for (const auto& [l, s] : langs) {
    nlohmann::json d = nlohmann::json::object();
    for (const auto& [r, v] : s.drops) d[r] = {v.first, v.second};
    nlohmann::json pii = nlohmann::json::object();
    for (int k = 0; k < kPiiKindCount; ++k) pii[pii_kind_name(static_cast<PiiKind>(k))] = s.pii[k];
    j["languages"][l] = {{"in_docs", s.in_docs},
                         {"in_bytes", s.in_bytes},
                         {"out_docs", s.out_docs},
                         {"out_bytes", s.out_bytes},
                         {"drops", d},
                         {"pii", pii}};
  }
  return j;
}

BuildStats BuildStats::from_json(const nlohmann::json& j) {
  BuildStats s;
  s.bad_records = j.value("bad_records", uint64_t{0});
  s.files = j.value("files", uint64_t{0});
  if (!j.contains("languages")) return s;
  for (const auto& [l, v] : j["languages"].items()) {
    auto& t = s.langs[l];
    t.in_docs = v.value("in_docs", uint64_t{0});
    t.in_bytes = v.value("in_bytes", uint64_t{0});
    t.out_docs = v.value("out_docs", uint64_t{0});
    t.out_bytes = v.value("out_bytes", uint64_t{0});
    if (v.contains("drops"))
      for (const auto& [r, d] : v["drops"].items()) t.drops[r] = {d[0].get<uint64_t>(), d[1].get<uint64_t>()};
    if (v.contains("pii"))
      for (int k = 0; k < kPiiKindCount; ++k)
        t.pii[k] = v["pii"].value(pii_kind_name(static_cast<PiiKind>(k)), uint64_t{0});
  }
  return s;
}

namespace {
std::set<std::string> all_reasons(const BuildStats& s) {
  std::set<std::string> r;
  for (const auto& [l, t] : s.langs)
    for (const auto& [why, d] : t.drops) r.insert(why);
  return r;
}
std::string stage_of(const std::string& why) { return why.substr(0, why.find(':')); }
}  // namespace

std::string build_report_markdown(const BuildStats& s) {
  auto reasons = all_reasons(s);
  std::string out = fmt::format("# Corpus build report\n\n{} input files, {} bad source records skipped.\n\n", s.files,
                                s.bad_records);
  out +=
      "Documents per language and stage (the language is the one identified; 'und' before or without it).\n\n| lang | "
      "in docs | in MB |";
  for (const auto& r : reasons) out += fmt::format(" {} |", r);
  out += " out docs | out MB | PII redacted |\n|---|---:|---:|";
  for (size_t i = 0; i < reasons.size(); ++i) out += "---:|";
  out += "---:|---:|---:|\n";
  BuildStats total;
  for (const auto& [l, t] : s.langs) {
    out += fmt::format("| {} | {} | {:.2f} |", l, t.in_docs, t.in_bytes / 1e6);
    for (const auto& r : reasons) {
      auto it = t.drops.find(r);
      out += fmt::format(" {} |", it == t.drops.end() ? 0 : it->second.first);
    }
    uint64_t pii = 0;
    for (auto v : t.pii) pii += v;
    out += fmt::format(" {} | {:.2f} | {} |\n", t.out_docs, t.out_bytes / 1e6, pii);
  }
  out += "\nPII by kind:";
  for (int k = 0; k < kPiiKindCount; ++k) {
    uint64_t n = 0;
    for (const auto& [l, t] : s.langs) n += t.pii[k];
    out += fmt::format(" {} {}{}", pii_kind_name(static_cast<PiiKind>(k)), n, k + 1 < kPiiKindCount ? "," : "\n");
  }
  return out;
}

std::string build_report_summary(const BuildStats& s, const std::string& report_dir, size_t top_reasons) {
  std::string out = fmt::format("{:<6} {:>9} {:>9} {:>9} {:>9}\n", "lang", "docs in", "MB in", "docs out", "MB out");
  std::map<std::string, uint64_t> by_reason;  // documents dropped, all languages
  for (const auto& [l, t] : s.langs) {
    // Language tags come from the input records: at most 6 characters, printable ASCII.
    std::string tag;
    for (char ch : l.substr(0, 6)) tag.push_back(ch > 32 && ch < 127 ? ch : '?');
    out += fmt::format("{:<6} {:>9} {:>9.2f} {:>9} {:>9.2f}\n", tag, t.in_docs, t.in_bytes / 1e6, t.out_docs,
                       t.out_bytes / 1e6);
    for (const auto& [why, d] : t.drops) by_reason[why] += d.first;
  }
  std::vector<std::pair<uint64_t, std::string>> top;
  for (const auto& [why, n] : by_reason) top.emplace_back(n, why);
  std::sort(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  if (top.size() > top_reasons) top.resize(top_reasons);
  out += "dropped most:";
  if (top.empty()) out += " nothing";
  for (size_t i = 0; i < top.size(); ++i) out += fmt::format("{} {} ({} docs)", i ? "," : "", top[i].second, top[i].first);
  out += fmt::format("\nfull table: {}/report.md\n", report_dir);
  return out;
}

std::string build_report_svg(const BuildStats& s) {
  // One horizontal bar per language: bytes kept, then bytes dropped per stage.
  const std::vector<std::pair<std::string, std::string>> parts = {
      {"out", "#2e7d32"}, {"dedup", "#f9a825"}, {"quality", "#ef6c00"}, {"langid", "#6a1b9a"}, {"clean", "#9e9e9e"}};
  double max_bytes = 1;
  for (const auto& [l, t] : s.langs) max_bytes = std::max(max_bytes, static_cast<double>(t.in_bytes));
  const int bar_h = 22, top = 40, left = 90, width = 560;
  int h = top + static_cast<int>(s.langs.size()) * (bar_h + 8) + 40;
  svg::Canvas c(left + width + 150, h, "fragua corpus build report v1");
  c.text(10, 20, fmt::format("Corpus bytes per language: kept and dropped by stage (max {:.1f} MB)", max_bytes / 1e6),
         "font-size=\"14\"");
  int y = top;
  for (const auto& [l, t] : s.langs) {
    c.text(10, y + 15, l);  // language tags come from the input records: escaped by the canvas
    double x = left;
    for (const auto& [part, color] : parts) {
      double bytes = 0;
      if (part == "out") {
        bytes = static_cast<double>(t.out_bytes);
      } else {
        for (const auto& [why, d] : t.drops)
          if (stage_of(why) == part) bytes += static_cast<double>(d.second);
      }
      double w = bytes / max_bytes * width;
      if (w <= 0) continue;
      c.rect(x, y, w, bar_h, color, fmt::format("{} {}: {:.2f} MB", l, part, bytes / 1e6));
      x += w;
    }
    c.text(x + 6, y + 15, fmt::format("{:.2f} MB kept", t.out_bytes / 1e6));
    y += bar_h + 8;
  }
  int lx = left;
  for (const auto& [part, color] : parts) {
    c.rect(lx, y + 8, 12, 12, color);
    c.text(lx + 16, y + 18, part == "out" ? "kept" : part);
    lx += 100;
  }
  return c.finish();
}

}  // namespace fragua::data
