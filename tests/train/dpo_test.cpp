// SPDX-License-Identifier: Apache-2.0
// DPO: loss, log-probabilities and every weight gradient against PyTorch (float64,
// tests/reference/train/lora_dpo_goldens.py).
#include <cmath>

#include <nlohmann/json.hpp>

#include "fragua/format/safetensors.h"
#include "fragua/train/dpo.h"
#include "test_util.h"

namespace fragua::train {
namespace {

TEST(DpoGradients, LossAndGradientsMatchPyTorch) {
  auto f = format::SafetensorsFile::open(test::source_dir() + "/tests/reference/train/dpo_grads.safetensors");
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  auto cfg = ModelConfig::from_json(nlohmann::json::parse(f->metadata().at("config")));
  ASSERT_TRUE(cfg.ok());
  auto model = Model::create(*cfg);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(model->param_store().read_safetensors(*f, "w/", model->params().data()).ok());
  const auto* tk = f->find("tokens");
  ASSERT_TRUE(tk && f->find("targets") && f->find("mask") && f->find("ref_logp"));
  PackedBatch rows;
  rows.rows = static_cast<int>(tk->shape[0]);
  rows.T = static_cast<int>(tk->shape[1]);
  rows.tokens.resize(tk->n_elements());
  rows.targets.resize(tk->n_elements());
  rows.weights.resize(tk->n_elements());
  std::memcpy(rows.tokens.data(), tk->data, tk->n_bytes);
  std::memcpy(rows.targets.data(), f->find("targets")->data, f->find("targets")->n_bytes);
  std::memcpy(rows.weights.data(), f->find("mask")->data, f->find("mask")->n_bytes);
  std::vector<float> ref32(rows.rows);
  std::memcpy(ref32.data(), f->find("ref_logp")->data, f->find("ref_logp")->n_bytes);
  std::vector<double> ref(ref32.begin(), ref32.end());
  const float beta = std::stof(f->metadata().at("beta"));
  ThreadPool pool(2);
  KernelOptions opts{&pool, true};
  model->zero_grad();
  DpoOutcome o = dpo_forward_backward(*model, rows, ref, beta, true, opts);
  const double want = std::stod(f->metadata().at("loss"));
  EXPECT_NEAR(o.loss, want, 1e-5 * std::abs(want) + 1e-7);
  auto logp = nlohmann::json::parse(f->metadata().at("logp")).get<std::vector<double>>();
  for (int r = 0; r < rows.rows; ++r) EXPECT_NEAR(o.logp[r], logp[r], 1e-4 * std::abs(logp[r])) << "row " << r;
  for (const auto& p : model->param_infos()) {
    std::vector<float> g(p.size);
    ASSERT_TRUE(f->read_f32("g/" + p.name, g.data(), static_cast<int64_t>(p.size)).ok());
    double scale = 0, worst = 0;
    for (float x : g) scale = std::max(scale, static_cast<double>(std::abs(x)));
    ASSERT_GT(scale, 0) << p.name;
    const float* got = model->grads().data() + p.offset;
    for (size_t i = 0; i < p.size; ++i) worst = std::max(worst, std::abs(static_cast<double>(got[i]) - g[i]));
    EXPECT_LE(worst / scale, 1e-4) << p.name;
  }
  // Without backward: the same loss, no gradient.
  model->zero_grad();
  DpoOutcome o2 = dpo_forward_backward(*model, rows, ref, beta, false, opts);
  EXPECT_EQ(o2.loss, o.loss);
  for (float g : model->grads()) ASSERT_EQ(g, 0.0f);
}

}  // namespace
}  // namespace fragua::train
