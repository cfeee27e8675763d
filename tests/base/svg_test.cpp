// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/svg.h"

#include <cmath>

#include <gtest/gtest.h>

namespace fragua::svg {
namespace {

TEST(Svg, EscapesMarkupInTextAndTooltips) {
  EXPECT_EQ(escape(R"(<a href="x">&'</a>)"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  Canvas c(100, 50, "test --> <script>");
  c.text(1, 2, "</text><script>alert(1)</script>");
  c.rect(0, 0, 10, 10, "red", "es<\"x\">");
  c.circle(5, 5, 2, "blue", "a&b");
  std::string s = c.finish();
  EXPECT_EQ(s.find("<script>"), std::string::npos) << s;
  EXPECT_NE(s.find("&lt;/text&gt;&lt;script&gt;"), std::string::npos);
  EXPECT_NE(s.find("<title>es&lt;&quot;x&quot;&gt;</title>"), std::string::npos);
  EXPECT_NE(s.find("<title>a&amp;b</title>"), std::string::npos);
  EXPECT_EQ(s.rfind("</svg>\n"), s.size() - 7);
}

TEST(Svg, NiceTicksAreRoundAndInsideTheRange) {
  EXPECT_EQ(nice_ticks(0, 10000), (std::vector<double>{0, 2000, 4000, 6000, 8000, 10000}));
  EXPECT_EQ(nice_ticks(0, 1), (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1}));
  auto t = nice_ticks(3.7, 4.46);
  ASSERT_GE(t.size(), 3u);
  for (double v : t) {
    EXPECT_GE(v, 3.7 - 1e-12);
    EXPECT_LE(v, 4.46);
  }
  EXPECT_NEAR(t[1] - t[0], 0.2, 1e-12);
  EXPECT_EQ(nice_ticks(-1, 1, 3), (std::vector<double>{-1, 0, 1}));
  EXPECT_EQ(nice_ticks(5, 5), (std::vector<double>{5}));
  EXPECT_TRUE(nice_ticks(0, INFINITY).empty());
}

TEST(Svg, AxesMapDataToTheirArea) {
  Axes a{50, 20, 200, 100, 0, 10, 0, 5};
  EXPECT_DOUBLE_EQ(a.x(0), 50);
  EXPECT_DOUBLE_EQ(a.x(10), 250);
  EXPECT_DOUBLE_EQ(a.y(0), 120);  // y grows downwards in SVG
  EXPECT_DOUBLE_EQ(a.y(5), 20);
  Axes l{0, 0, 100, 100, 0, 1, 1e-3, 1e1, true};
  EXPECT_NEAR(l.y(1e-3), 100, 1e-9);
  EXPECT_NEAR(l.y(1e-1), 50, 1e-9);
  EXPECT_NEAR(l.y(1e1), 0, 1e-9);
  Canvas c(300, 200, "axes");
  l.draw(c, "step", "gradient norm");
  std::string s = c.finish();
  for (const char* lab : {">0.001<", ">0.01<", ">0.1<", ">1<", ">10<", ">step<", ">gradient norm<"})
    EXPECT_NE(s.find(lab), std::string::npos) << lab;
}

// Issue 18's plot audit, one property each on the shared code every chart uses.
TEST(Svg, FittedRangeEndsOnRoundTicks) {
  for (auto [lo, hi] : {std::pair{1032.0, 2471.0}, {3.37, 2.68}, {0.00031, 0.0029}, {-7.5, 12.25}, {150.0, 150.0}}) {
    const auto [a, b] = fit_range(lo, hi);
    const auto ticks = nice_ticks(a, b);
    ASSERT_GE(ticks.size(), 2u) << lo << " " << hi;
    // Both ends are ticks: labelled, and multiples of the tick step.
    EXPECT_NEAR(ticks.front(), a, 1e-9 * std::max(1.0, std::fabs(a))) << lo << " " << hi;
    EXPECT_NEAR(ticks.back(), b, 1e-9 * std::max(1.0, std::fabs(b))) << lo << " " << hi;
    const double step = ticks[1] - ticks[0];
    const double m = step / std::pow(10.0, std::floor(std::log10(step) + 1e-9));
    EXPECT_TRUE(std::fabs(m - 1) < 1e-6 || std::fabs(m - 2) < 1e-6 || std::fabs(m - 5) < 1e-6) << step;
  }
}

TEST(Svg, FittedRangeCoversTheDataWithAMarginAndNoMore) {
  // The screening plot's case: supply risk between 1000 and 2500 on an HHI scale of 0-10000.
  const auto [a, b] = fit_range(1032, 2471, 0.05, 0, 10000);
  EXPECT_LE(a, 1032 - 0.05 * (2471 - 1032) + 1e-9);
  EXPECT_GE(b, 2471 + 0.05 * (2471 - 1032) - 1e-9);
  EXPECT_GE(a, 500);  // fitted to the data, not the scale's 0-10000
  EXPECT_LE(b, 3000);
  // The bounds hold: counts stay above 0, HHI below 10000.
  EXPECT_EQ(fit_range(0, 40, 0.05, 0).first, 0);
  EXPECT_EQ(fit_range(9000, 9990, 0.05, 0, 10000).second, 10000);
  EXPECT_EQ(fit_range(NAN, 1), (std::pair{0.0, 1.0}));
  const auto [c, d] = fit_range(3, 3);
  EXPECT_LT(c, 3);
  EXPECT_GT(d, 3);
}

TEST(Svg, LegendBoxAvoidsTheData) {
  // A falling loss curve fills the top left and the bottom right; the top right is free.
  Axes a{60, 28, 400, 300, 0, 100, 0, 10};
  std::vector<std::pair<double, double>> pts;
  for (int s = 0; s <= 100; ++s) pts.emplace_back(a.x(s), a.y(9.5 * std::exp(-s / 15.0) + 0.3));
  Box box = a.legend_box(80, 48, pts);
  for (auto [x, y] : pts) EXPECT_FALSE(box.contains(x, y)) << x << "," << y;
  EXPECT_GT(box.x, a.left + a.width / 2);  // the preferred corner, top right, is free here
  EXPECT_LT(box.y, a.top + a.height / 2);
  // A rising curve takes the top right: the legend moves to a free corner.
  pts.clear();
  for (int s = 0; s <= 100; ++s) pts.emplace_back(a.x(s), a.y(0.1 * s));
  box = a.legend_box(80, 48, pts);
  for (auto [x, y] : pts) EXPECT_FALSE(box.contains(x, y)) << x << "," << y;
  // The box lies inside the plot area.
  EXPECT_GE(box.x, a.left);
  EXPECT_LE(box.x + box.w, a.left + a.width);
  EXPECT_GE(box.y, a.top);
  EXPECT_LE(box.y + box.h, a.top + a.height);
  Canvas c(500, 400, "legend");
  draw_legend(c, box, {{"#1f77b4", "train"}, {"#d62728", "val <es>"}});
  const std::string svg = c.finish();
  EXPECT_NE(svg.find(">train<"), std::string::npos);
  EXPECT_NE(svg.find(">val &lt;es&gt;<"), std::string::npos);
}

}  // namespace
}  // namespace fragua::svg
