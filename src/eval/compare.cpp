// SPDX-License-Identifier: Apache-2.0
#include "fragua/eval/compare.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "fragua/base/json.h"
#include "fragua/base/svg.h"

namespace fragua::eval {

Result<ResultsFile> parse_results(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object() || !j.contains("results") || !j["results"].is_object())
    return invalid_argument_error("{}: not a results file: no \"results\" object", path);
  ResultsFile f;
  f.label = path.substr(path.rfind('/') + 1);
  if (j.contains("config") && j["config"].is_object() && j["config"].contains("model") &&
      j["config"]["model"].is_string()) {
    const std::string m = j["config"]["model"].get<std::string>();
    if (!m.empty()) f.label = m.substr(m.rfind('/') + 1);
  }
  for (const auto& [task, res] : j["results"].items()) {
    if (!res.is_object()) return invalid_argument_error("{}: results.{} is not an object", path, task);
    std::string lang;
    if (j.contains("configs") && j["configs"].is_object() && j["configs"].contains(task)) {
      const auto& cfg = j["configs"][task];
      if (cfg.is_object() && cfg.contains("metadata") && cfg["metadata"].is_object() &&
          cfg["metadata"].contains("language") && cfg["metadata"]["language"].is_string())
        lang = cfg["metadata"]["language"].get<std::string>();
    }
    for (const auto& [key, v] : res.items()) {
      const size_t comma = key.find(',');
      if (comma == std::string::npos || key.substr(0, comma).ends_with("_stderr")) continue;
      if (!v.is_number()) continue;  // "alias" and other text
      ResultsFile::Entry e{task, lang, key.substr(0, comma), v.get<double>(), std::nullopt};
      const std::string se_key = e.metric + "_stderr" + key.substr(comma);
      if (res.contains(se_key)) {
        const auto& se = res[se_key];
        if (se.is_number())
          e.stderr_ = se.get<double>();
        else if (!(se.is_string() && se.get<std::string>() == "N/A"))
          return invalid_argument_error("{}: results.{}.{} must be a number or \"N/A\"", path, task, se_key);
      }
      f.entries.push_back(std::move(e));
    }
  }
  return f;
}

Result<ResultsFile> load_results(const std::string& path, Env& env) {
  const std::string text = FRAGUA_TRY(read_file(path, env));
  return parse_results(FRAGUA_TRY(parse_json(text, path)), path);
}

std::vector<MetricDiff> compare_results(const ResultsFile& a, const ResultsFile& b) {
  std::vector<MetricDiff> out;
  for (const auto& ea : a.entries) {
    const auto it = std::find_if(b.entries.begin(), b.entries.end(),
                                 [&](const auto& eb) { return eb.task == ea.task && eb.metric == ea.metric; });
    if (it == b.entries.end()) continue;
    MetricDiff d{ea.task, ea.language.empty() ? it->language : ea.language, ea.metric, ea.value, it->value,
                 it->value - ea.value, std::nullopt, false};
    if (ea.stderr_ && it->stderr_) {
      d.combined_se = std::sqrt(*ea.stderr_ * *ea.stderr_ + *it->stderr_ * *it->stderr_);
      d.exceeds = std::abs(d.diff) > *d.combined_se;
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::string compare_table(const std::vector<MetricDiff>& diffs, const std::string& la, const std::string& lb) {
  std::string t = fmt::format("| task | lang | metric | {} | {} | difference | combined ± | exceeds |\n", la, lb);
  t += "|---|---|---|---:|---:|---:|---:|---|\n";
  for (const auto& d : diffs)
    t += fmt::format("| {} | {} | {} | {:.4f} | {:.4f} | {:+.4f} | {} | {} |\n", d.task,
                     d.language.empty() ? "–" : d.language, d.metric, d.a, d.b, d.diff,
                     d.combined_se ? fmt::format("{:.4f}", *d.combined_se) : "–",
                     !d.combined_se ? "–" : d.exceeds ? "yes" : "no");
  return t;
}

namespace {

constexpr const char* kCompareColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                          "#9467bd", "#8c564b", "#e377c2", "#17becf"};

}  // namespace

std::string compare_chart_svg(const std::vector<ResultsFile>& files) {
  // metric -> language -> per file (sum, Σ se², count, every task had an se).
  struct Acc {
    double sum = 0, se2 = 0;
    int n = 0;
    bool all_se = true;
  };
  std::map<std::string, std::map<std::string, std::vector<Acc>>> data;
  for (size_t f = 0; f < files.size(); ++f)
    for (const auto& e : files[f].entries) {
      auto& v = data[e.metric][e.language.empty() ? "–" : e.language];
      v.resize(files.size());
      v[f].sum += e.value;
      v[f].n += 1;
      if (e.stderr_)
        v[f].se2 += *e.stderr_ * *e.stderr_;
      else
        v[f].all_se = false;
    }
  const double W = 900, panel_h = 260, legend_h = 24 + 16 * static_cast<double>((files.size() + 2) / 3);
  const double H = 30 + legend_h + panel_h * static_cast<double>(std::max<size_t>(data.size(), 1));
  svg::Canvas c(W, H, fmt::format("fragua eval compare ({})", FRAGUA_VERSION));
  c.text(10, 18, "Models per language (mean over each language's tasks; bars: ± standard error)", "fill=\"#555\"");
  // The legend: its own band above the panels, so it never covers a bar.
  for (size_t f = 0; f < files.size(); ++f) {
    const double lx = 20 + 290 * static_cast<double>(f % 3), ly = 40 + 16 * static_cast<double>(f / 3);
    c.rect(lx, ly - 10, 12, 12, kCompareColors[f % 8]);
    c.text(lx + 18, ly, files[f].label, "font-size=\"12\"");
  }
  double top = 30 + legend_h;
  for (const auto& [metric, langs] : data) {
    const double L = 70, R = 20, T = 20, B = 40;
    double ymin = 0, ymax = 0;
    for (const auto& [lang, v] : langs)
      for (const auto& a : v)
        if (a.n > 0) {
          const double mean = a.sum / a.n, se = a.all_se ? std::sqrt(a.se2) / a.n : 0;
          ymax = std::max(ymax, mean + se);
          ymin = std::min(ymin, mean - se);
        }
    if (ymax <= ymin) ymax = ymin + 1;
    const auto ticks = svg::nice_ticks(ymin, ymax + (ymax - ymin) * 0.05);
    // The axis ends at a round tick at or above the data.
    const double step = ticks.size() >= 2 ? ticks[1] - ticks[0] : (ymax - ymin);
    const double yhi = step > 0 ? std::ceil(ymax / step - 1e-9) * step : ymax;
    const double ylo = step > 0 ? std::floor(ymin / step + 1e-9) * step : ymin;
    svg::Axes a{L, top + T, W - L - R, panel_h - T - B, 0, static_cast<double>(langs.size()), ylo,
                yhi > ylo ? yhi : ylo + 1, false};
    c.text(L, top + 12, metric, "font-weight=\"bold\"");
    // Frame and y ticks only: x carries language names, not numbers.
    c.rect(a.left, a.top, a.width, a.height, "none", "", "stroke=\"#444\"");
    for (double t : svg::nice_ticks(a.ymin, a.ymax)) {
      c.line(a.left, a.y(t), a.left + a.width, a.y(t), "#ddd");
      c.text(a.left - 6, a.y(t) + 4, fmt::format("{:g}", t), "font-size=\"11\" text-anchor=\"end\"");
    }
    size_t g = 0;
    const double group_w = a.width / static_cast<double>(langs.size());
    const double bar_w = group_w * 0.8 / static_cast<double>(std::max<size_t>(files.size(), 1));
    for (const auto& [lang, v] : langs) {
      const double gx = a.left + group_w * static_cast<double>(g);
      c.text(gx + group_w / 2, a.top + a.height + 16, lang, "font-size=\"12\" text-anchor=\"middle\"");
      for (size_t f = 0; f < v.size(); ++f) {
        if (v[f].n == 0) continue;
        const double mean = v[f].sum / v[f].n;
        const double x = gx + group_w * 0.1 + bar_w * static_cast<double>(f);
        const double y0 = a.y(std::max(0.0, ylo)), y1 = a.y(mean);
        c.rect(x, std::min(y0, y1), bar_w * 0.9, std::abs(y0 - y1), kCompareColors[f % 8],
               fmt::format("{} {} {}: {:.4f} ({} tasks)", files[f].label, lang, metric, mean, v[f].n));
        if (v[f].all_se) {
          const double se = std::sqrt(v[f].se2) / v[f].n, cx = x + bar_w * 0.45;
          c.line(cx, a.y(mean - se), cx, a.y(mean + se), "#222");
          c.line(cx - 3, a.y(mean - se), cx + 3, a.y(mean - se), "#222");
          c.line(cx - 3, a.y(mean + se), cx + 3, a.y(mean + se), "#222");
        }
      }
      ++g;
    }
    top += panel_h;
  }
  return c.finish();
}

}  // namespace fragua::eval
