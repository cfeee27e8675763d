// SPDX-License-Identifier: Apache-2.0
// Small SVG charts for the pictures Fragua writes (training curves, corpus build reports,
// materials screening): one canvas that escapes every text it is given, and axes with round
// tick values. Dependency-free on purpose: a chart is a few dozen elements.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fragua::svg {

// Text for SVG content or attribute values: & < > " ' escaped.
std::string escape(std::string_view s);

// Round tick values (multiples of 1, 2 or 5 times a power of ten, after Heckbert, "Nice numbers
// for graph labels", Graphics Gems, 1990) inside [lo, hi]: the smallest such step that gives at
// most `max_ticks` of them.
std::vector<double> nice_ticks(double lo, double hi, int max_ticks = 6);

// An axis range for data in [lo, hi]: `margin` of the span spare on each side (so no point sits on
// the frame), then widened to multiples of nice_ticks' step, so that both ends are labelled round
// numbers. `floor` and `ceiling` bound it where the quantity does (0 for counts and losses, 10000
// for HHI); a single value gets a unit-wide range around it. Non-finite input gives [0, 1].
std::pair<double, double> fit_range(double lo, double hi, double margin = 0.05, double floor = -1e300,
                                    double ceiling = 1e300);

// A rectangle in canvas units (y grows downwards).
struct Box {
  double x = 0, y = 0, w = 0, h = 0;
  bool contains(double px, double py) const { return px >= x && px <= x + w && py >= y && py <= y + h; }
};

class Canvas {
 public:
  // A white page (UTF-8, XML's default, so no declaration); `comment` identifies the producer and
  // format version ("fragua plot v1").
  Canvas(double width, double height, std::string_view comment);

  // `attrs` are extra attributes written as given (trusted: the caller's constants).
  void text(double x, double y, std::string_view s, std::string_view attrs = "");
  void line(double x1, double y1, double x2, double y2, std::string_view stroke, std::string_view attrs = "");
  // `tooltip` (escaped) becomes a <title> child shown on hover.
  void rect(double x, double y, double w, double h, std::string_view fill, std::string_view tooltip = "",
            std::string_view attrs = "");
  void circle(double cx, double cy, double r, std::string_view fill, std::string_view tooltip = "");
  void polyline(const std::vector<std::pair<double, double>>& points, std::string_view stroke,
                std::string_view attrs = "");
  std::string finish();

 private:
  std::string out_;
};

// A plot area of the canvas with linear x and linear or log10 y.
struct Axes {
  double left = 0, top = 0, width = 0, height = 0;  // the plot area, canvas units
  double xmin = 0, xmax = 1, ymin = 0, ymax = 1;    // data range (ymin > 0 when log_y)
  bool log_y = false;

  double x(double v) const;
  double y(double v) const;
  // Frame, grid lines and labels at round ticks, and the axis titles.
  void draw(Canvas& c, std::string_view x_title, std::string_view y_title, bool grid = true) const;
  // Where a legend of w x h goes inside the plot area: the corner (top right, top left, bottom
  // right, bottom left, in that order of preference) whose box, `pad` in from the frame, covers
  // the fewest of `points` (canvas units, e.g. every vertex of the plotted lines).
  Box legend_box(double w, double h, const std::vector<std::pair<double, double>>& points, double pad = 6) const;
};

// A legend in `box`: one row of 14 units per entry, a short line in the entry's colour and its
// name, on a white background so that grid lines do not run through the text.
void draw_legend(Canvas& c, const Box& box, const std::vector<std::pair<std::string, std::string>>& color_and_name);

}  // namespace fragua::svg
