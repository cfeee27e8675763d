// SPDX-License-Identifier: Apache-2.0
// fragua eval compare: differences against the combined standard error on hand-made results
// files, the chart's content, and the CLI's table and errors.
#include "fragua/eval/compare.h"

#include <cmath>

#include <gtest/gtest.h>

#include "fragua/base/file.h"
#include "test_util.h"

namespace fragua::eval {
namespace {

nlohmann::json results_file(const std::string& model, double es, double eu, double chrf) {
  return {{"results",
           {{"pairs_es", {{"alias", "pairs_es"}, {"acc,none", es}, {"acc_stderr,none", 0.03}}},
            {"pairs_eu", {{"alias", "pairs_eu"}, {"acc,none", eu}, {"acc_stderr,none", 0.04}}},
            {"tr_eu", {{"alias", "tr_eu"}, {"chrf,none", chrf}, {"chrf_stderr,none", "N/A"}}}}},
          {"configs",
           {{"pairs_es", {{"metadata", {{"language", "es"}}}}},
            {"pairs_eu", {{"metadata", {{"language", "eu"}}}}},
            {"tr_eu", {{"metadata", {{"language", "eu"}}}}}}},
          {"config", {{"model", "/models/" + model}}}};
}

TEST(Compare, DifferencesAgainstTheCombinedStandardError) {
  auto a = parse_results(results_file("a.gguf", 0.60, 0.50, 30), "a.json");
  auto b = parse_results(results_file("b.gguf", 0.65, 0.62, 35), "b.json");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->label, "a.gguf");
  const auto d = compare_results(*a, *b);
  ASSERT_EQ(d.size(), 3u);
  // es: +0.05 against sqrt(0.03² + 0.03²) = 0.0424: exceeds. eu: +0.12 against 0.0566: exceeds.
  EXPECT_EQ(d[0].task, "pairs_es");
  EXPECT_EQ(d[0].language, "es");
  EXPECT_NEAR(d[0].diff, 0.05, 1e-12);
  EXPECT_NEAR(*d[0].combined_se, std::sqrt(2 * 0.03 * 0.03), 1e-12);
  EXPECT_TRUE(d[0].exceeds);
  EXPECT_TRUE(d[1].exceeds);
  // No stderr ("N/A"): no verdict.
  EXPECT_FALSE(d[2].combined_se.has_value());
  EXPECT_FALSE(d[2].exceeds);
  auto c = parse_results(results_file("c.gguf", 0.62, 0.52, 30), "c.json");
  const auto small = compare_results(*a, *c);
  EXPECT_FALSE(small[0].exceeds);  // 0.02 < 0.0424
  const auto table = compare_table(d, a->label, b->label);
  EXPECT_NE(table.find("| pairs_eu | eu | acc | 0.5000 | 0.6200 | +0.1200 | 0.0566 | yes |"), std::string::npos)
      << table;

  const std::string svg = compare_chart_svg({*a, *b, *c});
  EXPECT_NE(svg.find("b.gguf eu acc: 0.6200 (1 tasks)"), std::string::npos);  // bar tooltips
  EXPECT_NE(svg.find(">chrf<"), std::string::npos);
  EXPECT_NE(svg.find(">0.6<"), std::string::npos);  // a round tick

  EXPECT_FALSE(parse_results(nlohmann::json::object(), "x.json").ok());
  auto bad = results_file("a", 1, 1, 1);
  bad["results"]["pairs_es"]["acc_stderr,none"] = nlohmann::json::array();
  auto e = parse_results(bad, "bad.json");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().to_string().find("bad.json: results.pairs_es.acc_stderr,none"), std::string::npos);
}

TEST(Compare, Cli) {
  test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("a.json"), results_file("a.gguf", 0.60, 0.50, 30).dump()).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("b.json"), results_file("b.gguf", 0.65, 0.62, 35).dump()).ok());
  std::string out;
  ASSERT_EQ(test::run_command(test::cli_path() + " -q eval compare " + dir.file("a.json") + " " + dir.file("b.json") +
                                  " --chart " + dir.file("c.svg"),
                              &out),
            0)
      << out;
  EXPECT_NE(out.find("| pairs_es | es | acc | 0.6000 | 0.6500 | +0.0500 | 0.0424 | yes |"), std::string::npos) << out;
  EXPECT_TRUE(Env::posix().file_exists(dir.file("c.svg")));
  ASSERT_TRUE(write_file_atomic(dir.file("bad.json"), "{\"results\": 3}").ok());
  EXPECT_NE(test::run_command(test::cli_path() + " -q eval compare " + dir.file("a.json") + " " + dir.file("bad.json") +
                                  " --chart " + dir.file("d.svg"),
                              &out),
            0);
  EXPECT_NE(out.find(dir.file("bad.json")), std::string::npos) << out;
  EXPECT_FALSE(Env::posix().file_exists(dir.file("d.svg")));
}

}  // namespace
}  // namespace fragua::eval
