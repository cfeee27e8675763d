// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/validation.h"

#include "golden.h"

namespace fragua::materials {
namespace {

using testing::golden;

// init_genrand(5489) reference output from Matsumoto & Nishimura's mt19937ar.c: the 10000th
// output of the default-seeded generator is 4123659995 (C++ [rand.predef]).
TEST(Mt19937, MatchesTheStandardVector) {
  Mt19937 rng(5489);
  uint32_t v = 0;
  for (int i = 0; i < 10000; ++i) v = rng.next_u32();
  EXPECT_EQ(v, 4123659995u);
}

TEST(KFold, ReproducesNumpyPermutation) {
  auto p = numpy_permutation(10, 0);
  std::vector<size_t> want = golden()["permutation_seed0_n10"].get<std::vector<size_t>>();
  EXPECT_EQ(p, want);
  auto q = numpy_permutation(1000, 4294967295u);
  auto head = golden()["permutation_seed4294967295_n1000_head"].get<std::vector<size_t>>();
  EXPECT_EQ(std::vector<size_t>(q.begin(), q.begin() + 20), head);
}

TEST(KFold, ReproducesSklearnMatbenchFolds) {
  for (auto& [n, want] : golden()["kfold_18012019"].items()) {
    auto got = kfold_assignment(std::stoul(n), 5, true, kMatbenchSeed);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, want.get<std::vector<int>>()) << "n=" << n;
  }
  EXPECT_FALSE(kfold_assignment(3, 5, true, 1).ok());
  EXPECT_FALSE(kfold_assignment(10, 1, true, 1).ok());
}

TEST(Metrics, MatchSklearn) {
  const auto& m = golden()["metrics"];
  auto labels = m["labels"].get<std::vector<double>>();
  auto scores = m["scores"].get<std::vector<double>>();
  EXPECT_NEAR(roc_auc(labels, scores), m["auc"].get<double>(), 1e-12);
  auto y = m["y"].get<std::vector<double>>(), p = m["pred"].get<std::vector<double>>();
  EXPECT_NEAR(mean_absolute_error(y, p), m["mae"].get<double>(), 1e-12);
  EXPECT_NEAR(root_mean_squared_error(y, p), m["rmse"].get<double>(), 1e-12);
  EXPECT_TRUE(std::isnan(roc_auc({1, 1}, {0.2, 0.3})));
}

}  // namespace
}  // namespace fragua::materials
