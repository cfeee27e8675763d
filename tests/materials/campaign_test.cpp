// SPDX-License-Identifier: Apache-2.0
// The simulated campaign on a synthetic property with a known optimum: a model-guided loop finds
// more compounds in the window than random choice, with the same initial data and budget.
#include "fragua/materials/campaign.h"

#include <cmath>

#include "fragua/base/file.h"
#include "fragua/base/progress.h"
#include "small_data.h"
#include "test_util.h"

namespace fragua::materials {
namespace {

using testing::small_options;
using testing::table;

// Binary compounds A_m X_n whose "gap" is 2.5 x the Pauling electronegativity difference: the
// window [1.9, 2.3] holds about one in ten of them, and the trees see the difference directly.
Dataset synthetic_pool() {
  const char* cations[] = {"Li", "Na", "K", "Rb", "Mg", "Ca", "Sr", "Zn", "Cd", "Ga", "In", "Al", "Cu", "Ag", "Sn"};
  const char* anions[] = {"O", "S", "Se", "Te", "F", "Cl", "Br", "I", "N", "P", "As"};
  const int ratios[][2] = {{1, 1}, {1, 2}, {2, 1}, {2, 3}};
  Dataset d;
  d.target_name = "gap";
  for (const char* a : cations)
    for (const char* x : anions)
      for (auto& r : ratios) {
        const std::string f = fmt::format("{}{}{}{}", a, r[0], x, r[1]);
        auto c = parse_formula(f, table());
        EXPECT_TRUE(c.ok()) << f;
        const double en = std::fabs(table().find(a)->get(Prop::pauling_en) - table().find(x)->get(Prop::pauling_en));
        d.ids.push_back(f);
        d.formulas.push_back(f);
        d.comps.push_back(std::move(*c));
        d.y.push_back(2.5 * en);
      }
  return d;
}

TEST(Campaign, ModelGuidedLoopBeatsRandomOnAKnownOptimum) {
  ProgressBar::set_enabled(false);
  const Dataset pool = synthetic_pool();
  CampaignOptions o;
  o.family = "xgboost";
  o.model = small_options();
  o.model.trees.threads = 1;
  o.initial = 30;
  o.rounds = 5;
  o.per_round = 6;
  o.seeds = {1, 2, 3};
  o.window_min = 1.9;
  o.window_max = 2.3;
  auto r = run_campaign(pool, table(), o);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->pool, pool.size());
  EXPECT_GT(r->pool_hits, 0u);
  EXPECT_LT(r->pool_hits * 5, r->pool);  // a rare target: under 20% of the pool
  ASSERT_EQ(r->curves.size(), 9u);
  double total[3] = {0, 0, 0};  // suggest, greedy, random
  for (const auto& c : r->curves) {
    ASSERT_EQ(c.found.size(), 6u);
    EXPECT_EQ(c.found[0], 0u);
    for (size_t k = 1; k < c.found.size(); ++k) EXPECT_GE(c.found[k], c.found[k - 1]);
    total[c.strategy == "suggest" ? 0 : c.strategy == "greedy" ? 1 : 2] += static_cast<double>(c.found.back());
  }
  // Random finds pool_hits / pool of its 30 measurements on average (about 3 per seed); the
  // guided loops find several times that.
  EXPECT_GT(total[0], 2 * total[2]) << total[0] << " vs random " << total[2];
  EXPECT_GT(total[1], 2 * total[2]) << total[1] << " vs random " << total[2];

  const std::string csv = campaign_csv(*r, o);
  EXPECT_EQ(csv.rfind("strategy,seed,round,measured,found\nsuggest,1,0,0,0\nsuggest,1,1,6,", 0), 0u) << csv;
  test::TempDir dir;
  ASSERT_TRUE(write_campaign_svg(dir.file("c.svg"), *r, o, "test").ok());
  auto svg = read_file(dir.file("c.svg"));
  ASSERT_TRUE(svg.ok());
  EXPECT_NE(svg->find("suggest (mean of 3)"), std::string::npos);
}

TEST(Campaign, BadSettingsAreErrors) {
  const Dataset pool = synthetic_pool();
  CampaignOptions o;
  o.model = small_options();
  o.initial = 700;  // more than the 660 compounds
  auto r = run_campaign(pool, table(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().to_string().find("eligible rows"), std::string::npos) << r.error().to_string();
  o.initial = 10;
  o.strategies = {"oracle"};
  EXPECT_FALSE(run_campaign(pool, table(), o).ok());
  o.strategies = {"random"};
  o.window_min = 3;
  o.window_max = 2;
  EXPECT_FALSE(run_campaign(pool, table(), o).ok());
  Dataset unlabelled = pool;
  unlabelled.y.clear();
  o.window_min = 1;
  EXPECT_FALSE(run_campaign(unlabelled, table(), o).ok());
}

}  // namespace
}  // namespace fragua::materials
