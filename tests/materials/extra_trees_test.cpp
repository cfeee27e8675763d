// SPDX-License-Identifier: Apache-2.0
// Extremely randomized trees: against scikit-learn's ExtraTreesClassifier on the same data
// (tests/reference/materials/extra_trees.json, make_extra_trees_golden.py), exact behaviour on
// small cases, the thread count, missing values and the binary form with its errors.
#include "fragua/materials/extra_trees.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/materials/validation.h"
#include "test_util.h"

namespace fragua::materials {
namespace {

nlohmann::json reference() {
  auto text = read_file(test::source_dir() + "/tests/reference/materials/extra_trees.json");
  EXPECT_TRUE(text.ok());
  return text.ok() ? nlohmann::json::parse(*text) : nlohmann::json::object();
}

TEST(ExtraTrees, AgreesWithScikitLearnOnANoisyProblem) {
  const auto ref = reference();
  const auto x = ref["x"].get<std::vector<float>>(), xt = ref["x_test"].get<std::vector<float>>();
  const auto y = ref["y"].get<std::vector<double>>(), yt = ref["y_test"].get<std::vector<double>>();
  const auto p_ref = ref["p_sklearn"].get<std::vector<double>>();
  ExtraTreesConfig cfg;
  cfg.n_trees = ref["n_trees"].get<int>();
  cfg.max_features = ref["max_features"].get<double>();
  cfg.threads = 2;
  auto m = ExtraTreesClassifier::train(x, 6, y, cfg);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  auto p = m->predict_proba(xt, 6);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), p_ref.size());
  // Two forests of 500 trees from different random numbers: each probability is a mean of 500
  // leaf values, so the two differ by a few hundredths when the algorithms are the same.
  double mad = 0, maxd = 0, mp = 0, mr = 0;
  for (size_t i = 0; i < p_ref.size(); ++i) {
    mad += std::fabs((*p)[i] - p_ref[i]) / static_cast<double>(p_ref.size());
    maxd = std::max(maxd, std::fabs((*p)[i] - p_ref[i]));
    mp += (*p)[i] / static_cast<double>(p_ref.size());
    mr += p_ref[i] / static_cast<double>(p_ref.size());
  }
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < p_ref.size(); ++i) {
    sxy += ((*p)[i] - mp) * (p_ref[i] - mr);
    sxx += ((*p)[i] - mp) * ((*p)[i] - mp);
    syy += (p_ref[i] - mr) * (p_ref[i] - mr);
  }
  const double corr = sxy / std::sqrt(sxx * syy);
  std::printf("against scikit-learn: mean |dp| %.4f, max %.3f, correlation %.4f, AUC %.4f (sklearn %.4f)\n", mad, maxd,
              corr, roc_auc(yt, *p), ref["auc_sklearn"].get<double>());
  // scikit-learn itself with other seeds: mean |dp| 0.020-0.022, correlation 0.995; a random
  // forest 0.056 / 0.971, max_features 1.0 0.042, min_samples_split 10 0.039 (make_extra_trees_golden.py).
  EXPECT_LT(mad, 0.03) << "max " << maxd;
  EXPECT_GT(corr, 0.99);
  EXPECT_NEAR(roc_auc(yt, *p), ref["auc_sklearn"].get<double>(), 0.015);
  // Fully grown trees on distinct rows: every training row ends in a pure leaf of its own label.
  auto pt = m->predict_proba(x, 6);
  ASSERT_TRUE(pt.ok());
  for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ((*pt)[i], y[i]) << "row " << i;
}

TEST(ExtraTrees, SameForestOnAnyThreadCountAndThroughItsBytes) {
  const auto ref = reference();
  const auto x = ref["x"].get<std::vector<float>>(), xt = ref["x_test"].get<std::vector<float>>();
  const auto y = ref["y"].get<std::vector<double>>();
  ExtraTreesConfig cfg;
  cfg.n_trees = 40;
  cfg.threads = 1;
  auto a = ExtraTreesClassifier::train(x, 6, y, cfg);
  cfg.threads = 2;
  auto b = ExtraTreesClassifier::train(x, 6, y, cfg);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->to_bytes(), b->to_bytes());
  EXPECT_EQ(a->n_trees(), 40u);
  cfg.seed = 7;
  auto c = ExtraTreesClassifier::train(x, 6, y, cfg);
  ASSERT_TRUE(c.ok());
  EXPECT_NE(a->to_bytes(), c->to_bytes());  // another seed, other trees

  auto back = ExtraTreesClassifier::parse(a->to_bytes(), "a");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->to_bytes(), a->to_bytes());
  auto pa = a->predict_proba(xt, 6, 1), pb = back->predict_proba(xt, 6, 2);
  ASSERT_TRUE(pa.ok() && pb.ok());
  EXPECT_EQ(*pa, *pb);
}

TEST(ExtraTrees, SmallCasesExactly) {
  // One feature separates the labels: every tree splits between 2 and 3 (any threshold in
  // [2, 3) does), so the probabilities are exactly 0 and 1 on either side.
  const std::vector<float> x = {0, 1, 2, 3, 4, 5};
  const std::vector<double> y = {0, 0, 0, 1, 1, 1};
  ExtraTreesConfig cfg;
  cfg.n_trees = 25;
  cfg.max_features = 1;
  auto m = ExtraTreesClassifier::train(x, 1, y, cfg);
  ASSERT_TRUE(m.ok());
  auto p = m->predict_proba({-10, 0.5f, 2, 3, 4.5f, 100}, 1);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, (std::vector<double>{0, 0, 0, 1, 1, 1}));

  // A constant feature and one all missing: nothing to split on, one leaf of the label mean.
  const std::vector<float> flat = {1, NAN, 1, NAN, 1, NAN, 1, NAN};
  auto f = ExtraTreesClassifier::train(flat, 2, {0, 1, 1, 1}, cfg);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->n_nodes(), 25u);
  auto pf = f->predict_proba({5, 5}, 2);
  ASSERT_TRUE(pf.ok());
  EXPECT_EQ((*pf)[0], 0.75);

  // Missing values take the training column's mean: feature 0's mean is 2.5 (rows 1-4), which
  // sits with the label-1 rows; a NaN at prediction goes the same way.
  const std::vector<float> xm = {NAN, 0, 1, 4, 5, NAN};
  cfg.min_samples_split = 2;
  auto mm = ExtraTreesClassifier::train({NAN, 0, 1, 4, 5}, 1, {1, 0, 0, 1, 1}, cfg);
  ASSERT_TRUE(mm.ok());
  auto pm = mm->predict_proba({NAN, 2.5f, 0.5f}, 1);
  ASSERT_TRUE(pm.ok());
  EXPECT_EQ((*pm)[0], (*pm)[1]);
  EXPECT_EQ((*pm)[2], 0.0);

  // min_samples_split larger than the data: one leaf.
  cfg.min_samples_split = 7;
  auto one = ExtraTreesClassifier::train(x, 1, y, cfg);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->n_nodes(), 25u);
}

TEST(ExtraTrees, BadInputAndBytesGiveErrors) {
  ExtraTreesConfig cfg;
  cfg.n_trees = 3;
  EXPECT_FALSE(ExtraTreesClassifier::train({}, 1, {}, cfg).ok());
  EXPECT_FALSE(ExtraTreesClassifier::train({1, 2, 3}, 2, {0, 1}, cfg).ok());  // 3 values, 2 rows of 2
  auto bad = ExtraTreesClassifier::train({1, 2}, 1, {0, 2}, cfg);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("row 1 has 2"), std::string::npos) << bad.error().message();
  EXPECT_FALSE(ExtraTreesClassifier::train({1, INFINITY}, 1, {0, 1}, cfg).ok());
  ExtraTreesConfig z = cfg;
  z.max_features = 0;
  EXPECT_FALSE(ExtraTreesClassifier::train({1, 2}, 1, {0, 1}, z).ok());
  z = cfg;
  z.min_samples_split = 1;
  EXPECT_FALSE(ExtraTreesClassifier::train({1, 2}, 1, {0, 1}, z).ok());

  auto m = ExtraTreesClassifier::train({0, 1, 2, 3}, 2, {0, 1}, cfg);
  ASSERT_TRUE(m.ok());
  auto wrong = m->predict_proba({1, 2, 3}, 3);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message().find("trained on 2"), std::string::npos);

  const std::string good = m->to_bytes();
  EXPECT_FALSE(ExtraTreesClassifier::parse("", "e").ok());
  EXPECT_FALSE(ExtraTreesClassifier::parse("FRGXTRE2" + good.substr(8), "e").ok());
  // Every truncation is refused with the name in the message.
  for (size_t n = 0; n < good.size(); ++n) {
    auto r = ExtraTreesClassifier::parse(std::string_view(good).substr(0, n), "cut.bin");
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_NE(r.error().message().find("cut.bin"), std::string::npos);
  }
  EXPECT_FALSE(ExtraTreesClassifier::parse(good + "x", "e").ok());  // trailing bytes
  // A child that points back at its parent would loop: refused.
  std::string loop = good;
  // Layout: magic 8, d 4, trees 4, means 4 d, then tree 0: count 4, features 4 n, left 4 n, ...
  const size_t t0 = 8 + 4 + 4 + 4 * 2;
  uint32_t nn = 0;
  std::memcpy(&nn, loop.data() + t0, 4);
  ASSERT_GE(nn, 3u);  // the two rows differ: the root splits
  const int32_t back = 0;
  std::memcpy(loop.data() + t0 + 4 + 4 * nn, &back, 4);  // left child of node 0 := 0
  auto r = ExtraTreesClassifier::parse(loop, "loop.bin");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("malformed"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace fragua::materials
