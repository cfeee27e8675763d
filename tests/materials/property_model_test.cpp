// SPDX-License-Identifier: Apache-2.0
// Both property-model families through the one interface: made by name, trained on the same
// small data set, equal to the family trained directly, saved, recognised and loaded back with
// the same predictions; and the errors of the factory and the loader.
#include "fragua/materials/property_model.h"

#include <cmath>
#include <filesystem>

#include "fragua/base/file.h"
#include "fragua/base/progress.h"
#include "fragua/materials/features.h"
#include "fragua/materials/validation.h"
#include "golden.h"
#include "small_data.h"
#include "test_util.h"

namespace fragua::materials {
namespace {

using testing::small_dataset;
using testing::small_options;
using testing::table;

void expect_same(const Prediction& a, const Prediction& b, double tol) {
  ASSERT_EQ(a.mean.size(), b.mean.size());
  ASSERT_EQ(a.p_zero.size(), b.p_zero.size());
  for (size_t i = 0; i < a.mean.size(); ++i) {
    EXPECT_NEAR(a.mean[i], b.mean[i], tol * (1 + std::fabs(b.mean[i]))) << i;
    EXPECT_NEAR(a.std[i], b.std[i], tol * (1 + b.std[i])) << i;
    if (!a.p_zero.empty()) EXPECT_NEAR(a.p_zero[i], b.p_zero[i], tol) << i;
  }
}

TEST(PropertyModel, BothFamiliesTrainPredictSaveAndLoadThroughOneInterface) {
  ProgressBar::set_enabled(false);
  const Dataset d = small_dataset();
  const std::vector<Composition> probe = {*parse_formula("ZnTe", table()), *parse_formula("InN", table()),
                                          *parse_formula("Cu3Au", table())};
  ASSERT_EQ(property_model_families(), (std::vector<std::string>{"xgboost", "ensemble", "attention"}));
  EXPECT_EQ(kDefaultPropertyModel, "xgboost");
  test::TempDir dir;
  // The two-family ensemble has its own test (ensemble_model_test.cpp): its parts are these two.
  for (const std::string family : {"xgboost", "attention"}) {
    SCOPED_TRACE(family);
    auto m = make_property_model(family, small_options());
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    PropertyModel& model = **m;
    EXPECT_EQ(model.family(), family);
    EXPECT_EQ(model.task(), Task::regression);
    EXPECT_EQ(model.target(), "");
    // Not trained yet: prediction and saving are errors, not crashes.
    EXPECT_FALSE(model.predict(probe, table()).ok());
    EXPECT_FALSE(model.save(dir.file("untrained"), {}).ok());

    const std::string metrics = dir.file(family + ".jsonl");
    ASSERT_TRUE(model.train(d, table(), metrics).ok());
    // The attention model logs a loss per member and epoch; the trees log nothing and leave no file.
    auto lines = read_metrics(metrics);
    if (family == "attention") {
      ASSERT_TRUE(lines.ok()) << lines.error().to_string();
      EXPECT_EQ(lines->size(), 2u * 20u);
    } else {
      EXPECT_FALSE(std::filesystem::exists(metrics));
    }
    EXPECT_EQ(model.target(), "gap_eV");
    EXPECT_EQ(model.describe(), family == "xgboost" ? "2 members" : "2 attention members");
    EXPECT_EQ(model.config_json().at("zero_gate"), "on");  // resolved: 7 of 36 targets are 0
    auto p = model.predict(probe, table(), 1);
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    ASSERT_EQ(p->mean.size(), probe.size());
    EXPECT_EQ(p->p_zero.size(), probe.size());

    // The interface passes the settings through: the family trained directly agrees.
    Prediction direct;
    double tol = 1e-9;
    if (family == "xgboost") {
      TrainConfig c = small_options().trees;
      Featurizer fz(table());
      auto tm = Model::train(fz.featurize_all(d.comps), fz.size(), d.y, c, fz.signature());
      ASSERT_TRUE(tm.ok());
      direct = *predict_compositions(*tm, probe, table(), 1);
    } else {
      AttentionConfig c = small_options().attention;
      c.n_models = 2;
      c.threads = 2;
      c.seed = 11;
      auto am = AttentionModel::train(d.comps, d.y, table(), c);
      ASSERT_TRUE(am.ok());
      direct = *am->predict(probe, table(), 1);
      tol = 1e-4;  // 20 epochs of float arithmetic whose BLAS calls may split differently
    }
    expect_same(*p, direct, tol);

    const std::string path = dir.file(family + ".model");
    ASSERT_TRUE(model.save(path, {{"command", "test"}, {"target", model.target()}}).ok());
    auto back = load_property_model(path);
    ASSERT_TRUE(back.ok()) << back.error().to_string();
    EXPECT_EQ((*back)->family(), family);
    EXPECT_EQ((*back)->target(), "gap_eV");
    const nlohmann::json saved = model.config_json(), loaded = (*back)->config_json();
    ASSERT_EQ(loaded.size(), saved.size());
    for (auto& [key, v] : saved.items()) {
      if (v.is_number_float())  // the attention file keeps lr and weight decay as float
        EXPECT_NEAR(loaded.at(key).get<double>(), v.get<double>(), 1e-7 * std::fabs(v.get<double>())) << key;
      else
        EXPECT_EQ(loaded.at(key), v) << key;
    }
    auto q = (*back)->predict(probe, table(), 1);
    ASSERT_TRUE(q.ok()) << q.error().to_string();
    expect_same(*q, *p, 1e-5);  // same weights; BLAS may round differently after a reload
  }
}

TEST(PropertyModel, CrossValidatesEitherFamily) {
  ProgressBar::set_enabled(false);
  const Dataset d = small_dataset();
  for (const std::string family : {"xgboost", "attention"}) {
    SCOPED_TRACE(family);
    auto m = make_property_model(family, small_options());
    ASSERT_TRUE(m.ok());
    auto r = (*m)->cross_validate(d, table(), 3, kMatbenchSeed);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->per_fold.size(), 3u);
    EXPECT_EQ(r->oof.mean.size(), d.size());
    EXPECT_EQ(r->fold.size(), d.size());
    EXPECT_TRUE(std::isfinite(r->mae));
    EXPECT_FALSE((*m)->predict(d.comps, table()).ok()) << "cross-validation leaves the model untrained";
  }
}

TEST(PropertyModel, FactoryAndLoaderErrorsNameWhatIsWrong) {
  auto bad = make_property_model("forest", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("unknown property model family 'forest' (known: xgboost, ensemble, attention)"),
            std::string::npos)
      << bad.error().message();

  test::TempDir dir;
  auto missing = load_property_model(dir.file("none.model"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("none.model: cannot open the model file"), std::string::npos);

  ASSERT_TRUE(write_file_atomic(dir.file("junk.model"), "hello").ok());
  auto junk = load_property_model(dir.file("junk.model"));
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.error().to_string().find("junk.model"), std::string::npos) << junk.error().to_string();

  // A tree-ensemble magic of an unknown version goes to the tree ensemble's loader.
  ASSERT_TRUE(write_file_atomic(dir.file("v9.model"), "FRAGUA_MATERIALS_MODEL 9\n{}\n").ok());
  auto v9 = load_property_model(dir.file("v9.model"));
  ASSERT_FALSE(v9.ok());
  EXPECT_NE(v9.error().message().find("model format version '9' is not supported"), std::string::npos)
      << v9.error().message();
}

}  // namespace
}  // namespace fragua::materials
