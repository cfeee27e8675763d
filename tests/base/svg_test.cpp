// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/svg.h"

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

}  // namespace
}  // namespace fragua::svg
