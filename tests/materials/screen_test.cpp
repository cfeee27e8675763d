// SPDX-License-Identifier: Apache-2.0
// Screening criteria and the acquisition behind `suggest` (src/materials/screen.cpp).
#include "fragua/materials/screen.h"

#include <cmath>
#include <regex>

#include <gtest/gtest.h>

#include "fragua/base/file.h"
#include "fragua/materials/dataset.h"
#include "golden.h"
#include "test_util.h"

namespace fragua::materials {
namespace {

using testing::table;

TEST(ScreenCriteria, EmptyOrNanWindowsAreRefusedNamingTheFlag) {
  ScreenCriteria c;
  EXPECT_TRUE(validate_screen_criteria(c).ok());
  c.gap_min = 1.1;
  c.gap_max = 1.8;
  EXPECT_TRUE(validate_screen_criteria(c).ok());
  c.gap_min = 2.0;
  auto st = validate_screen_criteria(c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().to_string().find("--gap-min 2 is above --gap-max 1.8"), std::string::npos)
      << st.error().to_string();
  c.gap_min = std::nan("");
  st = validate_screen_criteria(c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().to_string().find("--gap-min: not a number"), std::string::npos) << st.error().to_string();
  c.gap_min = 1.1;
  c.max_hhi_r = std::nan("");
  EXPECT_FALSE(validate_screen_criteria(c).ok());
  c.max_hhi_r = 3000;
  c.max_metal_probability = 1.5;
  EXPECT_FALSE(validate_screen_criteria(c).ok());
}

// E[max(0, d - |Y - t|)] for Y ~ N(m, s^2) by a midpoint rule on a fine grid (the library uses
// Simpson's rule on a coarser one).
double target_ei_reference(double m, double s, double t, double d) {
  const int n = 200000;
  const double h = 2 * d / n;
  double sum = 0;
  for (int i = 0; i < n; ++i) {
    const double y = t - d + (i + 0.5) * h, z = (y - m) / s;
    sum += (d - std::fabs(y - t)) * std::exp(-0.5 * z * z) / (s * std::sqrt(2 * M_PI));
  }
  return sum * h;
}

TEST(Suggest, TargetAlreadyMeasuredStaysInformativeWithNoise) {
  // The data hold a compound at exactly the 1.4 eV target, so the best observed distance is 0:
  // plain EI is 0 for every candidate and the order fell back to the input order (a metal
  // first). With the measurement noise the candidate predicted near the target comes first.
  Dataset observed;
  observed.formulas = {"GaAs"};
  observed.comps = {*parse_formula("GaAs", table())};
  observed.y = {1.4};
  std::vector<ScreenRow> rows(3);
  const char* formulas[] = {"Cu", "CdTe", "ZnO"};
  const double mean[] = {0.0, 1.35, 3.3}, sd[] = {0.01, 0.2, 0.3};
  for (size_t i = 0; i < 3; ++i) {
    rows[i].formula = formulas[i];
    rows[i].comp = *parse_formula(formulas[i], table());
    rows[i].gap = mean[i];
    rows[i].gap_std = sd[i];
  }
  const double best = best_observed(observed.y, Objective::target, 1.4);
  EXPECT_EQ(best, 0.0);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(expected_improvement(mean[i], sd[i], Objective::target, 1.4, best), 0.0);

  auto picks = suggest_next(rows, observed, Objective::target, 1.4, table(), 3, 0.1);
  ASSERT_EQ(picks.size(), 3u);
  EXPECT_EQ(picks[0].row, 1u);  // CdTe, predicted 1.35 eV
  EXPECT_GT(picks[0].expected_improvement, 1e-3);
  EXPECT_LT(picks[1].expected_improvement, 1e-6);  // the metal and the wide-gap oxide: far off
  // The value is the expectation of max(0, 0.1 - |y - 1.4|) under N(1.35, 0.2^2 + 0.1^2).
  EXPECT_NEAR(picks[0].expected_improvement, target_ei_reference(1.35, std::sqrt(0.05), 1.4, 0.1), 1e-6);
}

TEST(Suggest, NoiseWidensTheClosedFormForMaximize) {
  // Augmented predictive std sqrt(s^2 + n^2) in the closed form (mu - f*) Phi(z) + s phi(z).
  const double mu = 2.0, s = 0.3, n = 0.4, best = 2.2, st = std::hypot(s, n);
  const double z = (mu - best) / st;
  const double want = (mu - best) * 0.5 * std::erfc(-z / std::sqrt(2)) + st * std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI);
  EXPECT_NEAR(expected_improvement(mu, s, Objective::maximize, 0, best, n), want, 1e-12);
  EXPECT_LT(expected_improvement(mu, s, Objective::maximize, 0, best, 0), want);
}

// Issue 18: the screening plot's x axis is fitted to the candidates (supply risk 1000-2500 here,
// not HHI's 0-10000) through svg::fit_range: 5% margin, then out to round ticks (500 apart), so
// 500-3000 with both ends labelled and no point on the frame (x from 70 to 740).
TEST(ScreenPlot, SupplyRiskAxisIsFittedToTheCandidates) {
  std::vector<ScreenRow> rows(3);
  const double risk[] = {1000, 1700, 2500};
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].id = "c" + std::to_string(i);
    rows[i].formula = "ZnO";
    rows[i].gap = 1.0 + 0.3 * static_cast<double>(i);
    rows[i].gap_std = 0.1;
    rows[i].hhi_p = rows[i].hhi_r = risk[i];
  }
  test::TempDir dir;
  ASSERT_TRUE(write_screen_svg(dir.file("s.svg"), rows, ScreenCriteria{}, "screen").ok());
  const std::string svg = *read_file(dir.file("s.svg"));
  EXPECT_NE(svg.find(">500<"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">3000<"), std::string::npos) << svg;
  EXPECT_EQ(svg.find(">10000<"), std::string::npos) << svg;
  const std::regex circle(R"re(<circle cx="([0-9.]+)")re");
  int points = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), circle); it != std::sregex_iterator(); ++it, ++points) {
    EXPECT_GT(std::stod((*it)[1]), 70 + 10);
    EXPECT_LT(std::stod((*it)[1]), 740 - 10);
  }
  EXPECT_GE(points, 3);
}

}  // namespace
}  // namespace fragua::materials
