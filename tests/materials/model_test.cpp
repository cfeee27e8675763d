// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/model.h"

#include <random>

#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/base/progress.h"
#include "fragua/materials/validation.h"
#include "test_util.h"

namespace fragua::materials {
namespace {

// y = 2 x0 + step(x1) + noise: a tree ensemble must beat the constant predictor by far.
void synthetic(size_t n, std::vector<float>& x, std::vector<double>& y, uint32_t seed, bool classify) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0, 1);
  std::normal_distribution<double> noise(0, 0.05);
  x.clear();
  y.clear();
  for (size_t i = 0; i < n; ++i) {
    float a = u(rng), b = u(rng), c = u(rng);
    x.insert(x.end(), {a, b, i % 7 == 0 ? std::nanf("") : c});
    double t = 2 * a + (b > 0.5 ? 1.0 : 0.0);
    y.push_back(classify ? (t > 1.5 ? 1.0 : 0.0) : t + noise(rng));
  }
}

TrainConfig small_config(Task task) {
  TrainConfig c;
  c.task = task;
  c.n_models = 3;
  c.n_rounds = 60;
  c.eta = 0.2;
  c.max_depth = 3;
  c.threads = 2;
  return c;
}

TEST(Model, RegressionLearnsAndRoundTrips) {
  ProgressBar::set_enabled(false);
  std::vector<float> x, xt;
  std::vector<double> y, yt;
  synthetic(400, x, y, 1, false);
  synthetic(200, xt, yt, 2, false);
  auto m = Model::train(x, 3, y, small_config(Task::regression), "sig");
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  auto p = m->predict(xt, 3);
  ASSERT_TRUE(p.ok());
  double mean = 0;
  for (double v : y) mean += v / static_cast<double>(y.size());
  std::vector<double> base(yt.size(), mean);
  EXPECT_LT(mean_absolute_error(yt, p->mean), 0.25 * mean_absolute_error(yt, base));
  double spread = 0;
  for (double s : p->std) spread += s;
  EXPECT_GT(spread, 0.0);  // members differ: an uncertainty exists

  test::TempDir dir;
  ASSERT_TRUE(m->save(dir.file("m.model"), {{"test", true}}).ok());
  auto back = Model::load(dir.file("m.model"));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->feature_signature(), "sig");
  auto p2 = back->predict(xt, 3);
  ASSERT_TRUE(p2.ok());
  for (size_t i = 0; i < yt.size(); ++i) EXPECT_DOUBLE_EQ(p2->mean[i], p->mean[i]);
  EXPECT_FALSE(back->predict(xt, 4).ok());
}

TEST(Model, CorruptFilesAreRejected) {
  test::TempDir dir;
  std::vector<float> x;
  std::vector<double> y;
  synthetic(100, x, y, 3, false);
  auto cfg = small_config(Task::regression);
  cfg.n_rounds = 5;
  cfg.log_target = "off";
  auto m = Model::train(x, 3, y, cfg, "sig");
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(m->save(dir.file("m.model"), {}).ok());
  auto data = *read_file(dir.file("m.model"));
  ASSERT_TRUE(write_file_atomic(dir.file("t.model"), data.substr(0, data.size() - 10)).ok());
  auto r = Model::load(dir.file("t.model"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("runs past the end"), std::string::npos) << r.error().message();
  ASSERT_TRUE(write_file_atomic(dir.file("b.model"), "GGUF" + data.substr(4)).ok());
  EXPECT_NE(Model::load(dir.file("b.model")).error().message().find("bad magic"), std::string::npos);
  std::string v2 = data;
  v2.replace(0, 24, "FRAGUA_MATERIALS_MODEL 9");
  ASSERT_TRUE(write_file_atomic(dir.file("v.model"), v2).ok());
  EXPECT_EQ(Model::load(dir.file("v.model")).error().code(), ErrorCode::unsupported);

  // A version 1 file (before the zero gate: no gate keys) still loads.
  size_t eol = data.find('\n', 25);
  auto h = nlohmann::json::parse(data.substr(25, eol - 25));
  h.erase("gate_member_bytes");
  h["config"].erase("zero_gate");
  h["config"].erase("log_target");
  ASSERT_TRUE(write_file_atomic(dir.file("v1.model"), "FRAGUA_MATERIALS_MODEL 1\n" + h.dump() + data.substr(eol)).ok());
  auto v1 = Model::load(dir.file("v1.model"));
  ASSERT_TRUE(v1.ok()) << v1.error().to_string();
  EXPECT_EQ(v1->predict(x, 3)->mean, m->predict(x, 3)->mean);
}

TEST(Model, ClassificationAndCrossValidation) {
  ProgressBar::set_enabled(false);
  std::vector<float> x;
  std::vector<double> y;
  synthetic(300, x, y, 4, true);
  auto r = cross_validate(x, 3, y, small_config(Task::classification), 5, kMatbenchSeed);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GT(r->auc, 0.95);
  EXPECT_EQ(r->per_fold.size(), 5u);
  auto folds = *kfold_assignment(300, 5, true, kMatbenchSeed);
  EXPECT_EQ(r->fold, folds);
  y[5] = 0.5;
  EXPECT_FALSE(Model::train(x, 3, y, small_config(Task::classification), "").ok());
}

// A band-gap-like mixture: "metals" (x1 < 0.4) have y = 0 exactly, the rest y = 1 + 2 x0 + noise.
void gap_like(size_t n, std::vector<float>& x, std::vector<double>& y, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0, 1);
  std::normal_distribution<double> noise(0, 0.05);
  x.clear();
  y.clear();
  for (size_t i = 0; i < n; ++i) {
    float a = u(rng), b = u(rng), c = u(rng);
    x.insert(x.end(), {a, b, c});
    y.push_back(b < 0.4f ? 0.0 : std::max(0.0, 1 + 2 * a + noise(rng)));
  }
}

TEST(Model, TargetOptionsResolve) {
  TrainConfig c;
  auto r = resolve_target_options(c, {0, 0, 1.5, 2.0});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->zero_gate, "on");
  EXPECT_EQ(r->log_target, "on");
  std::vector<double> few_zeros(20, 1.0);
  few_zeros[0] = 0;  // 5% zeros: no gate
  EXPECT_EQ(resolve_target_options(c, few_zeros)->zero_gate, "off");
  r = resolve_target_options(c, {0, -1, 2});  // a negative target: neither
  EXPECT_EQ(r->zero_gate, "off");
  EXPECT_EQ(r->log_target, "off");
  c.log_target = "on";
  EXPECT_FALSE(resolve_target_options(c, {0, -1, 2}).ok());
  c.log_target = "auto";
  c.zero_gate = "on";
  EXPECT_FALSE(resolve_target_options(c, {0, 0, 0}).ok());
  EXPECT_FALSE(resolve_target_options(c, {1, 2, 3}).ok());
  c.zero_gate = "yes";
  EXPECT_FALSE(resolve_target_options(c, {0, 1}).ok());
  c.zero_gate = "on";
  c.task = Task::classification;  // a classifier has neither
  EXPECT_EQ(resolve_target_options(c, {0, 1})->zero_gate, "off");
}

// The gated model must equal its parts: a classifier on (y == 0) and a log1p regressor on the
// non-zero rows, trained separately with the same seeds (XGBoost is deterministic on one thread).
TEST(Model, ZeroGateComposesClassifierAndRegressor) {
  ProgressBar::set_enabled(false);
  std::vector<float> x, xt;
  std::vector<double> y, yt;
  gap_like(400, x, y, 5);
  gap_like(200, xt, yt, 6);
  auto cfg = small_config(Task::regression);
  auto gated = Model::train(x, 3, y, cfg, "sig");
  ASSERT_TRUE(gated.ok()) << gated.error().to_string();
  EXPECT_EQ(gated->config().zero_gate, "on");
  EXPECT_EQ(gated->config().log_target, "on");
  auto pg = *gated->predict(xt, 3);
  ASSERT_EQ(pg.p_zero.size(), yt.size());

  std::vector<float> xnz;
  std::vector<double> ynz, is_zero;
  for (size_t i = 0; i < y.size(); ++i) {
    is_zero.push_back(y[i] == 0 ? 1.0 : 0.0);
    if (y[i] == 0) continue;
    ynz.push_back(y[i]);
    xnz.insert(xnz.end(), x.begin() + static_cast<long>(3 * i), x.begin() + static_cast<long>(3 * i + 3));
  }
  auto clf = Model::train(x, 3, is_zero, small_config(Task::classification), "");
  auto reg_cfg = cfg;
  reg_cfg.zero_gate = "off";
  reg_cfg.log_target = "on";
  auto reg = Model::train(xnz, 3, ynz, reg_cfg, "");
  ASSERT_TRUE(clf.ok() && reg.ok());
  auto pc = *clf->predict(xt, 3);
  auto pr = *reg->predict(xt, 3);
  size_t zeros_right = 0, zeros = 0;
  for (size_t i = 0; i < yt.size(); ++i) {
    double p = pc.mean[i], q = 1 - p, r = pr.mean[i], s = pr.std[i];
    EXPECT_NEAR(pg.p_zero[i], p, 1e-12);
    EXPECT_EQ(pg.mean[i], p >= 0.5 ? 0.0 : r);
    EXPECT_NEAR(pg.std[i], std::sqrt(std::max(0.0, q * (s * s + r * r) - q * q * r * r)), 1e-9);
    if (yt[i] == 0) {
      ++zeros;
      zeros_right += pg.mean[i] == 0.0 ? 1 : 0;
    }
  }
  EXPECT_GT(zeros_right, zeros * 9 / 10);  // the gate predicts exact zeros for the "metals"
  std::vector<double> nz_pred, nz_true;
  for (size_t i = 0; i < yt.size(); ++i)
    if (yt[i] != 0 && pg.p_zero[i] < 0.5) {
      nz_true.push_back(yt[i]);
      nz_pred.push_back(pg.mean[i]);
    }
  EXPECT_LT(mean_absolute_error(nz_true, nz_pred), 0.2);  // y spans 1..3 on these rows

  test::TempDir dir;
  ASSERT_TRUE(gated->save(dir.file("g.model"), {}).ok());
  auto back = Model::load(dir.file("g.model"));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->config().zero_gate, "on");
  auto pb = *back->predict(xt, 3);
  EXPECT_EQ(pb.mean, pg.mean);
  EXPECT_EQ(pb.p_zero, pg.p_zero);

  // Header says gated but the gate members are gone: refused.
  auto data = *read_file(dir.file("g.model"));
  size_t eol = data.find('\n', 25);
  auto h = nlohmann::json::parse(data.substr(25, eol - 25));
  h["gate_member_bytes"] = nlohmann::json::array();
  ASSERT_TRUE(write_file_atomic(dir.file("x.model"), data.substr(0, 25) + h.dump() + data.substr(eol)).ok());
  auto bad = Model::load(dir.file("x.model"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("gate members"), std::string::npos) << bad.error().message();

  auto cv = cross_validate(x, 3, y, cfg, 5, kMatbenchSeed);
  ASSERT_TRUE(cv.ok());
  EXPECT_GT(cv->gate_auc, 0.95);
  EXPECT_EQ(cv->oof.p_zero.size(), y.size());
}

}  // namespace
}  // namespace fragua::materials
