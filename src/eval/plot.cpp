// SPDX-License-Identifier: Apache-2.0
#include "fragua/eval/plot.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "fragua/base/file.h"
#include "fragua/base/metrics.h"
#include "fragua/base/svg.h"

namespace fragua::eval {

namespace {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;
};

struct Panel {
  std::string title;
  std::vector<Series> series;
  bool log_y = false;
};

const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};

// A panel at (x0, y0) of size w x h: frame, round ticks with labels at both ends of each range
// (svg::fit_range), one polyline per series, and the legend in the corner the lines cross least.
void draw_panel(svg::Canvas& c, const Panel& p, double x0, double y0, double w, double h) {
  const double L = 60, R = 10, T = 28, B = 40;
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const auto& s : p.series)
    for (auto [x, y] : s.points) {
      if (!std::isfinite(y) || (p.log_y && !(y > 0))) continue;
      xmin = std::min(xmin, x), xmax = std::max(xmax, x);
      ymin = std::min(ymin, y), ymax = std::max(ymax, y);
    }
  c.text(x0 + L, y0 + 18, p.title, "font-size=\"14\" font-weight=\"bold\"");
  if (!(xmin <= xmax)) {
    c.rect(x0 + L, y0 + T, w - L - R, h - T - B, "none", "", "stroke=\"#444\"");
    c.text(x0 + 80, y0 + 60, "no data");
    return;
  }
  // Steps start at 0 or 1: the x range is the steps themselves, ending on round ticks.
  std::tie(xmin, xmax) = svg::fit_range(xmin, xmax, 0, 0);
  if (p.log_y) {
    if (ymax == ymin) ymax = ymin * 10, ymin /= 10;
    ymin /= 1.2, ymax *= 1.2;
  } else {
    // Losses, bits per byte and learning rates are never negative.
    std::tie(ymin, ymax) = svg::fit_range(ymin, ymax, 0.05, ymin >= 0 ? 0.0 : -1e300);
  }
  svg::Axes a{x0 + L, y0 + T, w - L - R, h - T - B, xmin, xmax, ymin, ymax, p.log_y};
  a.draw(c, "step", "");
  std::vector<std::pair<double, double>> all;
  std::vector<std::pair<std::string, std::string>> legend;
  size_t longest = 0;
  for (size_t i = 0; i < p.series.size(); ++i) {
    const auto& s = p.series[i];
    const char* col = kColors[i % 8];
    std::vector<std::pair<double, double>> pts;
    for (auto [x, y] : s.points)
      if (std::isfinite(y) && (!p.log_y || y > 0)) pts.emplace_back(a.x(x), a.y(y));
    c.polyline(pts, col, "stroke-width=\"1.5\"");
    if (pts.size() == 1) c.circle(pts[0].first, pts[0].second, 3, col);
    // Vertices and points along each segment: a validation curve has few vertices far apart.
    for (size_t k = 0; k < pts.size(); ++k) {
      all.push_back(pts[k]);
      if (k + 1 == pts.size()) break;
      for (int f = 1; f < 8; ++f)
        all.emplace_back(std::lerp(pts[k].first, pts[k + 1].first, f / 8.0),
                         std::lerp(pts[k].second, pts[k + 1].second, f / 8.0));
    }
    legend.emplace_back(col, s.name);
    longest = std::max(longest, s.name.size());
  }
  // 6.5 units per character of the 11-unit legend font, and room for the line sample.
  const svg::Box box =
      a.legend_box(34 + 6.5 * static_cast<double>(longest), 6 + 14 * static_cast<double>(legend.size()), all);
  svg::draw_legend(c, box, legend);
}

void add_point(std::vector<Series>& v, const std::string& name, double x, double y) {
  auto it = std::find_if(v.begin(), v.end(), [&](const Series& s) { return s.name == name; });
  if (it == v.end()) {
    v.push_back({name, {}});
    it = v.end() - 1;
  }
  it->points.emplace_back(x, y);
}

}  // namespace

Status plot_metrics(const std::string& path, const std::string& out) {
  auto lines = FRAGUA_TRY(read_metrics(path));
  Panel loss{"loss (nats/token)", {}, false}, bpb{"validation bits per byte", {}, false},
      lr{"learning rate", {}, false}, norm{"gradient norm (before clipping)", {}, true};
  double last_tps = 0;
  for (const auto& l : lines) {
    if (!l.contains("step") || !l["step"].is_number()) continue;
    double step = l["step"].get<double>();
    // Records of any shape may be in the file: fields of the wrong type are skipped, never read
    // through a throwing conversion.
    const std::string type = l.contains("type") && l["type"].is_string() ? l["type"].get<std::string>() : "";
    if (type == "train") {
      if (l.contains("loss") && l["loss"].is_number()) add_point(loss.series, "train", step, l["loss"].get<double>());
      if (l.contains("lr") && l["lr"].is_number()) add_point(lr.series, "lr", step, l["lr"].get<double>());
      if (l.contains("grad_norm") && l["grad_norm"].is_number())
        add_point(norm.series, "norm", step, l["grad_norm"].get<double>());
      if (l.contains("tokens_per_s") && l["tokens_per_s"].is_number()) last_tps = l["tokens_per_s"].get<double>();
    } else if (type == "val") {
      static const nlohmann::json none = nlohmann::json::object();
      const nlohmann::json& vl = l.contains("val_loss") && l["val_loss"].is_object() ? l["val_loss"] : none;
      const nlohmann::json& vb = l.contains("val_bpb") && l["val_bpb"].is_object() ? l["val_bpb"] : none;
      for (const auto& [lang, v] : vl.items())
        if (v.is_number()) add_point(loss.series, "val " + lang, step, v.get<double>());
      for (const auto& [lang, v] : vb.items())
        if (v.is_number()) add_point(bpb.series, lang, step, v.get<double>());
    }
  }
  if (loss.series.empty()) return invalid_argument_error("{}: no training records (\"type\": \"train\") to plot", path);
  const double W = 1000, H = 720;
  svg::Canvas c(W, H, fmt::format("fragua plot {} ({})", path, FRAGUA_VERSION));
  c.text(10, 16, fmt::format("{} (last {:.0f} tokens/s)", path, last_tps), "fill=\"#555\"");
  draw_panel(c, loss, 0, 20, W / 2, (H - 20) / 2);
  draw_panel(c, bpb, W / 2, 20, W / 2, (H - 20) / 2);
  draw_panel(c, lr, 0, 20 + (H - 20) / 2, W / 2, (H - 20) / 2);
  draw_panel(c, norm, W / 2, 20 + (H - 20) / 2, W / 2, (H - 20) / 2);
  std::string svg = c.finish();
  if (!out.ends_with(".svg")) return unsupported_error("{}: fragua plot writes SVG (.svg)", out);
  return write_file_atomic(out, svg);
}

}  // namespace fragua::eval
