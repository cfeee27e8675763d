// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/svg.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace fragua::svg {

std::string escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

namespace {

// The smallest round number (1, 2, 5 or 10 times a power of ten) at or above x.
double nice_number(double x) {
  const double e = std::floor(std::log10(x));
  const double f = x / std::pow(10.0, e);
  const double n = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return n * std::pow(10.0, e);
}

std::string label(double v) {
  if (std::fabs(v) < 1e-12) return "0";
  return fmt::format("{:.6g}", v);
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int max_ticks) {
  std::vector<double> ticks;
  if (!std::isfinite(lo) || !std::isfinite(hi) || max_ticks < 2) return ticks;
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) return {lo};
  // The smallest round step that leaves at most max_ticks ticks in the range (Heckbert rounds
  // the range first, which can double the step: 500-3000 got ticks 1000 apart, leaving both
  // ends unlabelled).
  const double step = nice_number((hi - lo) / (max_ticks - 1));
  // Multiples of the step (not a running sum, which drifts over many ticks).
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k += 1)
    ticks.push_back(k == 0 ? 0.0 : k * step);
  return ticks;
}

std::pair<double, double> fit_range(double lo, double hi, double margin, double floor, double ceiling) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0.0, 1.0};
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) lo -= 0.5, hi += 0.5;
  const double pad = (hi - lo) * std::max(margin, 0.0);
  lo = std::max(lo - pad, floor);
  hi = std::min(hi + pad, ceiling);
  // Out to multiples of the tick step, so the ends are ticks themselves; widening can coarsen
  // the step, so again until the range holds still (the step only grows: a few rounds).
  for (int round = 0; round < 8; ++round) {
    const auto ticks = nice_ticks(lo, hi);
    if (ticks.size() < 2) break;
    const double step = ticks[1] - ticks[0];
    const double l = std::max(std::floor(lo / step + 1e-9) * step, floor);
    const double h = std::min(std::ceil(hi / step - 1e-9) * step, ceiling);
    if (l == lo && h == hi) break;
    lo = l, hi = h;
  }
  if (!(hi > lo)) hi = lo + 1;
  return {lo, hi};
}

Canvas::Canvas(double width, double height, std::string_view comment) {
  out_ = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<!-- {} -->\n<rect width=\"100%\" height=\"100%\" "
      "fill=\"white\"/>\n",
      width, height, escape(comment));
}

void Canvas::text(double x, double y, std::string_view s, std::string_view attrs) {
  out_ +=
      fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\"{}{}>{}</text>\n", x, y, attrs.empty() ? "" : " ", attrs, escape(s));
}

void Canvas::line(double x1, double y1, double x2, double y2, std::string_view stroke, std::string_view attrs) {
  out_ += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\"{}{}/>\n", x1, y1, x2,
                      y2, stroke, attrs.empty() ? "" : " ", attrs);
}

void Canvas::rect(double x, double y, double w, double h, std::string_view fill, std::string_view tooltip,
                  std::string_view attrs) {
  out_ += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"{}{}", x, y, w, h,
                      fill, attrs.empty() ? "" : " ", attrs);
  out_ += tooltip.empty() ? "/>\n" : fmt::format("><title>{}</title></rect>\n", escape(tooltip));
}

void Canvas::circle(double cx, double cy, double r, std::string_view fill, std::string_view tooltip) {
  out_ += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\"", cx, cy, r, fill);
  out_ += tooltip.empty() ? "/>\n" : fmt::format("><title>{}</title></circle>\n", escape(tooltip));
}

void Canvas::polyline(const std::vector<std::pair<double, double>>& points, std::string_view stroke,
                      std::string_view attrs) {
  std::string pts;
  for (auto [x, y] : points) pts += fmt::format("{:.1f},{:.1f} ", x, y);
  out_ += fmt::format("<polyline fill=\"none\" stroke=\"{}\"{}{} points=\"{}\"/>\n", stroke, attrs.empty() ? "" : " ",
                      attrs, pts);
}

std::string Canvas::finish() { return out_ + "</svg>\n"; }

double Axes::x(double v) const { return left + (v - xmin) / (xmax - xmin) * width; }

double Axes::y(double v) const {
  if (log_y) {
    const double l = std::log10(std::max(v, 1e-300)), l0 = std::log10(ymin), l1 = std::log10(ymax);
    return top + height - (l - l0) / (l1 - l0) * height;
  }
  return top + height - (v - ymin) / (ymax - ymin) * height;
}

void Axes::draw(Canvas& c, std::string_view x_title, std::string_view y_title, bool grid) const {
  for (double t : nice_ticks(xmin, xmax)) {
    if (grid) c.line(x(t), top, x(t), top + height, "#ddd");
    c.text(x(t), top + height + 14, label(t), "font-size=\"10\" text-anchor=\"middle\"");
  }
  std::vector<double> yt;
  if (log_y) {
    // Powers of ten; with fewer than two in range, 1-2-5 steps of each decade.
    const double l0 = std::log10(ymin), l1 = std::log10(ymax);
    for (double e = std::ceil(l0); e <= std::floor(l1); e += 1) yt.push_back(std::pow(10.0, e));
    if (yt.size() < 2) {
      yt.clear();
      for (double e = std::floor(l0); e <= std::ceil(l1); e += 1)
        for (double m : {1.0, 2.0, 5.0})
          if (double v = m * std::pow(10.0, e); v >= ymin && v <= ymax) yt.push_back(v);
    }
  } else {
    yt = nice_ticks(ymin, ymax);
  }
  for (double t : yt) {
    if (grid) c.line(left, y(t), left + width, y(t), "#ddd");
    c.text(left - 4, y(t) + 3, label(t), "font-size=\"10\" text-anchor=\"end\"");
  }
  c.rect(left, top, width, height, "none", "", "stroke=\"#444\"");
  if (!x_title.empty()) c.text(left + width / 2, top + height + 30, x_title, "text-anchor=\"middle\"");
  if (!y_title.empty())
    c.text(0, 0, y_title,
           fmt::format("text-anchor=\"middle\" transform=\"translate({:.1f},{:.1f}) rotate(-90)\"", left - 48,
                       top + height / 2));
}

Box Axes::legend_box(double w, double h, const std::vector<std::pair<double, double>>& points, double pad) const {
  const Box corners[] = {{left + width - pad - w, top + pad, w, h},
                         {left + pad, top + pad, w, h},
                         {left + width - pad - w, top + height - pad - h, w, h},
                         {left + pad, top + height - pad - h, w, h}};
  const Box* best = &corners[0];
  size_t best_hits = std::numeric_limits<size_t>::max();
  for (const Box& b : corners) {
    const auto hits = static_cast<size_t>(
        std::count_if(points.begin(), points.end(), [&](const auto& p) { return b.contains(p.first, p.second); }));
    if (hits < best_hits) best = &b, best_hits = hits;
  }
  return *best;
}

void draw_legend(Canvas& c, const Box& box, const std::vector<std::pair<std::string, std::string>>& color_and_name) {
  c.rect(box.x, box.y, box.w, box.h, "white", "", "fill-opacity=\"0.85\" stroke=\"#ccc\"");
  double y = box.y + 12;
  for (const auto& [color, name] : color_and_name) {
    c.line(box.x + 6, y - 4, box.x + 24, y - 4, color, "stroke-width=\"2\"");
    c.text(box.x + 28, y, name, "font-size=\"11\"");
    y += 14;
  }
}

}  // namespace fragua::svg
