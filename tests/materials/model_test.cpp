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

}  // namespace
}  // namespace fragua::materials
