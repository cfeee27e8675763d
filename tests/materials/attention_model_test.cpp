// SPDX-License-Identifier: Apache-2.0
// The element transformer against PyTorch (float64; tests/reference/materials/
// make_attention_golden.py), its input encoding, and the attention property model: it learns a
// composition-dependent target, reports an uncertainty, and survives a save/load round trip;
// bad files give errors.
#include "fragua/materials/attention_model.h"

#include <cmath>
#include <cstring>
#include <random>

#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/base/progress.h"
#include "fragua/format/safetensors.h"
#include "fragua/materials/validation.h"
#include "golden.h"
#include "test_util.h"

namespace fragua::materials {
namespace {

using testing::table;

struct Golden {
  format::SafetensorsFile file;
  ElementTransformerConfig cfg;
};

Golden load_golden() {
  auto file =
      format::SafetensorsFile::open(test::source_dir() + "/tests/reference/materials/element_transformer.safetensors");
  EXPECT_TRUE(file.ok()) << file.error().to_string();
  auto cfg = ElementTransformerConfig::from_json(nlohmann::json::parse(file->metadata().at("net")));
  EXPECT_TRUE(cfg.ok()) << cfg.error().to_string();
  return {std::move(*file), *cfg};
}

template <typename T>
std::vector<T> tensor(const format::SafetensorsFile& f, const std::string& name) {
  const auto* t = f.find(name);
  EXPECT_NE(t, nullptr) << name;
  if (!t) return {};
  std::vector<T> v(static_cast<size_t>(t->n_elements()));
  std::memcpy(v.data(), t->data, t->n_bytes);
  return v;
}

void check_against_torch(bool use_blas, int threads) {
  Golden g = load_golden();
  auto net = ElementTransformer::create(g.cfg);
  ASSERT_TRUE(net.ok()) << net.error().to_string();
  for (const auto& p : net->param_infos())
    ASSERT_TRUE(g.file.read_f32("w/" + p.name, net->params().data() + p.offset, static_cast<int64_t>(p.size)).ok())
        << p.name;
  ElementBatch b;
  b.id = tensor<int32_t>(g.file, "id");
  b.len = tensor<int32_t>(g.file, "len");
  b.u = tensor<float>(g.file, "u");
  b.frac = tensor<float>(g.file, "frac");
  b.B = static_cast<int>(b.len.size());
  b.T = static_cast<int>(b.id.size() / b.len.size());
  auto r = tensor<float>(g.file, "r");
  auto want = tensor<float>(g.file, "out");
  ThreadPool pool(threads);
  train::KernelOptions opts{&pool, use_blas};
  auto out = net->forward(b, opts);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  ASSERT_EQ(out->size(), want.size());
  double scale = 0;
  for (float v : want) scale = std::max(scale, std::fabs(static_cast<double>(v)));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR((*out)[i], want[i], 1e-5 * scale) << "out " << i;
  net->zero_grad();
  net->backward(r, opts);
  for (const auto& p : net->param_infos()) {
    auto gw = tensor<float>(g.file, "g/" + p.name);
    ASSERT_EQ(gw.size(), p.size) << p.name;
    double m = 0;
    for (float v : gw) m = std::max(m, std::fabs(static_cast<double>(v)));
    for (size_t i = 0; i < p.size; ++i)
      ASSERT_NEAR(net->grads()[p.offset + i], gw[i], 1e-4 * std::max(m, 1e-3)) << p.name << "[" << i << "]";
  }
}

TEST(ElementTransformer, MatchesPyTorchWithBlasOnTwoThreads) { check_against_torch(true, 2); }
TEST(ElementTransformer, MatchesPyTorchWithPlainLoops) { check_against_torch(false, 1); }

TEST(ElementTransformer, RejectsMalformedBatches) {
  ElementTransformerConfig c;
  c.n_elements = 5;
  c.n_input = 2;
  c.d_model = 8;
  c.n_layer = 1;
  c.n_head = 2;
  auto net = ElementTransformer::create(c);
  ASSERT_TRUE(net.ok());
  ElementBatch b{1, 2, {0, 7}, {0, 0, 0, 0}, {0.5f, 0.5f}, {2}};
  auto r = net->forward(b, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("token id 7"), std::string::npos) << r.error().message();
  b.id = {0, 1};
  b.len = {3};
  EXPECT_FALSE(net->forward(b, {}).ok());
  b.len = {2};
  b.u.resize(3);
  EXPECT_FALSE(net->forward(b, {}).ok());
  c.n_head = 3;
  EXPECT_FALSE(ElementTransformer::create(c).ok());  // 3 does not divide 8
}

TEST(AttentionModel, EncodesElementsAndFractions) {
  auto ga = parse_formula("GaAs", table());
  auto czts = parse_formula("Cu2ZnSnS4", table());
  ASSERT_TRUE(ga.ok() && czts.ok());
  auto b = encode_compositions({&*ga, &*czts}, table());
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  const int NI = attention_input_width();
  EXPECT_EQ(b->B, 2);
  EXPECT_EQ(b->T, 4);
  EXPECT_EQ(b->len, (std::vector<int32_t>{2, 4}));
  EXPECT_EQ(b->id[0], 31 - 1);  // Ga
  EXPECT_EQ(b->id[1], 33 - 1);  // As
  EXPECT_EQ(b->id[2], 0);       // padding
  EXPECT_FLOAT_EQ(b->frac[0], 0.5f);
  EXPECT_FLOAT_EQ(b->frac[2], 0.0f);
  EXPECT_EQ(b->id[4], 16 - 1);         // tokens follow atomic number: S first in Cu2ZnSnS4
  EXPECT_FLOAT_EQ(b->frac[4], 0.5f);   // 4 of 8 atoms
  EXPECT_FLOAT_EQ(b->frac[5], 0.25f);  // Cu
  // Fraction encoding of f = 1/2: f, ln f / 7, sin/cos(pi f), ...; L = ln 2 / ln 1000.
  const float* fe = b->u.data() + NI - 22;
  EXPECT_FLOAT_EQ(fe[0], 0.5f);
  EXPECT_NEAR(fe[1], std::log(0.5) / 7, 1e-6);
  EXPECT_NEAR(fe[2], 1.0, 1e-6);  // sin(pi / 2)
  EXPECT_NEAR(fe[3], 0.0, 1e-6);  // cos(pi / 2)
  double L = std::log(2.0) / std::log(1000.0);
  EXPECT_NEAR(fe[14], std::sin(M_PI * L), 1e-6);
  // Properties are standardised: Ga's Pauling electronegativity (1.81) sits below As's (2.18).
  const int en = 7;  // position of pauling_en in the token properties
  EXPECT_LT(b->u[en], b->u[NI + en]);
  // Padding carries nothing.
  for (int k = 0; k < NI; ++k) EXPECT_EQ(b->u[2 * NI + k], 0.0f);
  Composition empty;
  EXPECT_FALSE(encode_compositions({&empty}, table()).ok());
}

// Binary and ternary compounds over 16 elements; y is a smooth function of the composition
// (the fraction-weighted electronegativity spread) with a zero for a quarter of them, as band
// gaps are.
void synthetic(size_t n, uint32_t seed, std::vector<Composition>& comps, std::vector<double>& y) {
  const int zs[] = {3, 8, 9, 11, 12, 13, 14, 16, 17, 19, 20, 26, 29, 31, 33, 35};
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pick(0, 15), amt(1, 4), kind(2, 3);
  while (comps.size() < n) {
    int k = kind(rng);
    std::vector<std::pair<int, double>> a;
    for (int i = 0; i < k; ++i) a.emplace_back(zs[pick(rng)], amt(rng));
    Composition c(a);
    if (c.num_elements() < 2) continue;
    auto f = c.fractions();
    double m = 0, d = 0;
    for (size_t i = 0; i < f.size(); ++i) m += f[i] * table().by_z(c.amounts()[i].first).get(Prop::pauling_en);
    for (size_t i = 0; i < f.size(); ++i)
      d += f[i] * std::fabs(table().by_z(c.amounts()[i].first).get(Prop::pauling_en) - m);
    comps.push_back(c);
    y.push_back(d < 0.25 ? 0.0 : 4 * d);
  }
}

// A training set and a test set of the synthetic target, drawn with their own seeds.
struct SyntheticSets {
  std::vector<Composition> comps;
  std::vector<double> y;
  std::vector<Composition> test_comps;
  std::vector<double> yt;
};
SyntheticSets synthetic_sets(size_t n, uint32_t seed, size_t n_test, uint32_t test_seed) {
  SyntheticSets s;
  synthetic(n, seed, s.comps, s.y);
  synthetic(n_test, test_seed, s.test_comps, s.yt);
  return s;
}

AttentionConfig small_config() {
  AttentionConfig c;
  c.n_models = 2;
  c.epochs = 40;
  c.batch = 32;
  c.lr = 3e-3;
  c.d_model = 16;
  c.n_layer = 1;
  c.n_head = 2;
  c.head_hidden = 16;
  c.threads = 2;
  return c;
}

TEST(AttentionModel, LearnsACompositionTargetAndRoundTrips) {
  ProgressBar::set_enabled(false);
  auto [comps, y, test_comps, yt] = synthetic_sets(300, 1, 100, 2);
  test::TempDir dir;
  auto mw = MetricsWriter::open(dir.file("metrics.jsonl"));
  ASSERT_TRUE(mw.ok());
  auto m = AttentionModel::train(comps, y, table(), small_config(), &*mw);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->config().zero_gate, "on");
  EXPECT_EQ(m->config().log_target, "on");
  auto p = m->predict(test_comps, table(), 2);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  ASSERT_EQ(p->mean.size(), yt.size());
  ASSERT_EQ(p->p_zero.size(), yt.size());
  double mean = 0;
  for (double v : y) mean += v / static_cast<double>(y.size());
  std::vector<double> base(yt.size(), mean);
  double mae = mean_absolute_error(yt, p->mean), mae0 = mean_absolute_error(yt, base);
  EXPECT_LT(mae, 0.5 * mae0) << "model " << mae << " vs constant " << mae0;
  std::vector<double> is_zero;
  for (double v : yt) is_zero.push_back(v == 0 ? 1 : 0);
  EXPECT_GT(roc_auc(is_zero, p->p_zero), 0.8);
  double spread = 0;
  for (double s : p->std) spread += s;
  EXPECT_GT(spread, 0.0);  // two members, two answers: an uncertainty
  // One metrics line per member and epoch.
  auto lines = read_file(dir.file("metrics.jsonl"));
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(std::count(lines->begin(), lines->end(), '\n'), 2 * 40);

  ASSERT_TRUE(m->save(dir.file("a.safetensors"), {{"test", true}}).ok());
  auto back = AttentionModel::load(dir.file("a.safetensors"));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  auto q = back->predict(test_comps, table(), 1);
  ASSERT_TRUE(q.ok());
  for (size_t i = 0; i < yt.size(); ++i) {
    // Same weights; BLAS may round differently with another thread count or alignment.
    EXPECT_NEAR(q->mean[i], p->mean[i], 1e-5 * (1 + std::fabs(p->mean[i])));
    EXPECT_NEAR(q->std[i], p->std[i], 1e-5 * (1 + p->std[i]));
  }
}

TEST(AttentionModel, AveragesWeightsOverTheLastEpochs) {
  ProgressBar::set_enabled(false);
  const SyntheticSets data = synthetic_sets(200, 5, 60, 6);
  const auto &comps = data.comps, &test_comps = data.test_comps;
  const auto &y = data.y, &yt = data.yt;
  AttentionConfig c = small_config();
  c.epochs = 20;
  auto train_predict = [&](int swa) {
    c.swa_epochs = swa;
    auto m = AttentionModel::train(comps, y, table(), c);
    EXPECT_TRUE(m.ok()) << m.error().to_string();
    EXPECT_EQ(m->config().swa_epochs, swa);
    auto p = m->predict(test_comps, table(), 1);
    EXPECT_TRUE(p.ok());
    return *p;
  };
  auto last = train_predict(0), one = train_predict(1), avg = train_predict(10);
  // The mean of one snapshot is that snapshot: the same weights, the same predictions.
  EXPECT_EQ(one.mean, last.mean);
  EXPECT_EQ(one.p_zero, last.p_zero);
  // The mean of ten is other weights (the same training run, so close to the last epoch's), and
  // still a model of the target.
  EXPECT_NE(avg.mean, last.mean);
  double mean = 0;
  for (double v : y) mean += v / static_cast<double>(y.size());
  const double mae_avg = mean_absolute_error(yt, avg.mean), mae_last = mean_absolute_error(yt, last.mean),
               mae0 = mean_absolute_error(yt, std::vector<double>(yt.size(), mean));
  EXPECT_LT(mae_avg, 0.6 * mae0) << "averaged " << mae_avg << ", last " << mae_last << ", constant " << mae0;

  c.swa_epochs = 21;  // more than the epochs
  auto bad = AttentionModel::train(comps, y, table(), c);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("--swa-epochs 21"), std::string::npos) << bad.error().message();
  c.swa_epochs = -1;
  EXPECT_FALSE(AttentionModel::train(comps, y, table(), c).ok());

  // The setting travels in the config; a config written before it existed reads as 0.
  c.swa_epochs = 7;
  auto j = attention_config_to_json(c);
  auto back = attention_config_from_json(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->swa_epochs, 7);
  j.erase("swa_epochs");
  back = attention_config_from_json(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->swa_epochs, 0);
  j["swa_epochs"] = -3;
  EXPECT_FALSE(attention_config_from_json(j).ok());
}

TEST(AttentionModel, ClassifiesAndCrossValidates) {
  ProgressBar::set_enabled(false);
  std::vector<Composition> comps;
  std::vector<double> y;
  synthetic(250, 3, comps, y);
  for (double& v : y) v = v == 0 ? 1.0 : 0.0;  // "metal" = no gap
  AttentionConfig c = small_config();
  c.task = Task::classification;
  c.epochs = 25;
  auto r = cross_validate_attention(comps, y, table(), c, 3, kMatbenchSeed);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->per_fold.size(), 3u);
  EXPECT_GT(r->auc, 0.7);  // a constant scores 0.5
  for (double p : r->oof.mean) {
    EXPECT_GE(p, 0.0);
    EXPECT_LE(p, 1.0);
  }
}

TEST(AttentionModel, BadInputAndFilesGiveErrors) {
  ProgressBar::set_enabled(false);
  std::vector<Composition> comps;
  std::vector<double> y;
  synthetic(20, 4, comps, y);
  AttentionConfig c = small_config();
  c.task = Task::classification;
  auto r = AttentionModel::train(comps, y, table(), c);  // labels are not 0/1
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("labels must be 0 or 1"), std::string::npos);
  c.task = Task::regression;
  y[3] = std::nan("");
  EXPECT_FALSE(AttentionModel::train(comps, y, table(), c).ok());

  test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("junk.safetensors"), "not a model").ok());
  EXPECT_FALSE(AttentionModel::load(dir.file("junk.safetensors")).ok());
  // A valid safetensors file of another kind.
  format::SafetensorsWriter w;
  float x = 1;
  w.set_metadata("format", "something-else");
  ASSERT_TRUE(w.add_tensor("x", "F32", {1}, &x, 4).ok());
  ASSERT_TRUE(w.write(dir.file("other.safetensors")).ok());
  auto o = AttentionModel::load(dir.file("other.safetensors"));
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.error().message().find("not a fragua attention materials model"), std::string::npos);
}

}  // namespace
}  // namespace fragua::materials
