#include "fragua/train/plot.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "fragua/base/file.h"
#include "fragua/base/metrics.h"

namespace fragua::train {

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

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else o += c;
  }
  return o;
}

// A panel at (x0, y0) of size w x h: frame, 5 ticks per axis with labels, one polyline per
// series, legend in the top right.
std::string draw_panel(const Panel& p, double x0, double y0, double w, double h) {
  const double L = 60, R = 10, T = 28, B = 32;
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  auto ty = [&](double y) { return p.log_y ? std::log10(std::max(y, 1e-12)) : y; };
  for (const auto& s : p.series)
    for (auto [x, y] : s.points) {
      if (!std::isfinite(y)) continue;
      xmin = std::min(xmin, x), xmax = std::max(xmax, x);
      ymin = std::min(ymin, ty(y)), ymax = std::max(ymax, ty(y));
    }
  std::string o = fmt::format("<g transform=\"translate({},{})\">\n", x0, y0);
  o += fmt::format("<text x=\"{}\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{}</text>\n", L, esc(p.title));
  o += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>\n", L, T, w - L - R, h - T - B);
  if (!(xmin <= xmax)) return o + "<text x=\"80\" y=\"60\" font-size=\"12\">no data</text></g>\n";
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) ymax = ymin + 1, ymin -= 1;
  double pad = (ymax - ymin) * 0.05;
  ymin -= pad, ymax += pad;
  auto sx = [&](double x) { return L + (x - xmin) / (xmax - xmin) * (w - L - R); };
  auto sy = [&](double y) { return h - B - (ty(y) - ymin) / (ymax - ymin) * (h - T - B); };
  for (int i = 0; i <= 4; ++i) {
    double xv = xmin + (xmax - xmin) * i / 4, yv = ymin + (ymax - ymin) * i / 4;
    double X = L + (w - L - R) * i / 4, Y = h - B - (h - T - B) * i / 4;
    o += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#ddd\"/>\n", X, T, X, h - B);
    o += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>\n", L, Y, w - R, Y);
    o += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{:.6g}</text>\n", X, h - B + 14, xv);
    double label = p.log_y ? std::pow(10.0, yv) : yv;
    o += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\">{:.4g}</text>\n", L - 4, Y + 3, label);
  }
  o += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">step</text>\n", L + (w - L - R) / 2, h - 4);
  for (size_t i = 0; i < p.series.size(); ++i) {
    const auto& s = p.series[i];
    const char* col = kColors[i % 8];
    std::string pts;
    for (auto [x, y] : s.points)
      if (std::isfinite(y)) pts += fmt::format("{:.1f},{:.1f} ", sx(x), sy(y));
    o += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\" points=\"{}\"/>\n", col, pts);
    if (s.points.size() == 1)
      o += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", sx(s.points[0].first), sy(s.points[0].second), col);
    double ly = T + 14 + 14 * static_cast<double>(i);
    o += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>\n", w - R - 110, ly - 4, w - R - 92, ly - 4, col);
    o += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>\n", w - R - 88, ly, esc(s.name));
  }
  return o + "</g>\n";
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
  Panel loss{"loss (nats/token)", {}, false}, bpb{"validation bits per byte", {}, false}, lr{"learning rate", {}, false},
      norm{"gradient norm (before clipping)", {}, true};
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
      if (l.contains("grad_norm") && l["grad_norm"].is_number()) add_point(norm.series, "norm", step, l["grad_norm"].get<double>());
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
  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\">\n<!-- fragua plot {} ({}) -->\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H, esc(path), FRAGUA_VERSION);
  svg += fmt::format("<text x=\"10\" y=\"16\" font-size=\"12\" fill=\"#555\">{} (last {:.0f} tokens/s)</text>\n", esc(path), last_tps);
  svg += draw_panel(loss, 0, 20, W / 2, (H - 20) / 2);
  svg += draw_panel(bpb, W / 2, 20, W / 2, (H - 20) / 2);
  svg += draw_panel(lr, 0, 20 + (H - 20) / 2, W / 2, (H - 20) / 2);
  svg += draw_panel(norm, W / 2, 20 + (H - 20) / 2, W / 2, (H - 20) / 2);
  svg += "</svg>\n";
  if (!out.ends_with(".svg")) return unsupported_error("{}: fragua plot writes SVG (.svg)", out);
  return write_file_atomic(out, svg);
}

}  // namespace fragua::train
