// SPDX-License-Identifier: Apache-2.0
// The backend a model is prepared for and a Context runs on (ModelParams::backend,
// ContextParams::backend): the loader hands every matrix that matmul alone reads to
// Backend::prepare_weight, the forward pass gives the prepared tensors back to that backend's
// matmul, and a Context on a backend of another name is refused.
#include <cstring>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "fragua/base/thread_pool.h"
#include "fragua/model/model.h"
#include "fragua/model/random_model.h"
#include "model/fixtures.h"
#include "test_util.h"

namespace fragua::model {
namespace {

// A backend of its own name over the CPU one: prepare_weight copies a matrix into a layout tag of
// its own (the bytes unchanged), and matmul reads such copies as rows again. Everything else is
// the CPU backend's.
class TaggingBackend final : public backend::Backend {
 public:
  static constexpr Layout kTag{42};
  std::string_view name() const override { return "tagging"; }
  int n_threads() const override { return cpu_->n_threads(); }
  ThreadPool& pool() override { return cpu_->pool(); }
  Status prepare_weight(Tensor& w, const backend::ReleaseSource& release) override {
    prepared.insert(w.data());
    std::shared_ptr<uint8_t[]> copy(new uint8_t[w.n_bytes()]);
    std::memcpy(copy.get(), w.data(), w.n_bytes());
    auto t = FRAGUA_TRY(Tensor::owned(w.dtype(), w.shape(), std::move(copy), w.n_bytes(), kTag));
    release(w.data(), w.n_bytes());
    ++released;
    w = std::move(t);
    return {};
  }
  void matmul(const Tensor& w, const float* x, int64_t n, float* y) override {
    if (w.layout() != kTag) {
      ++untagged_matmuls;
      cpu_->matmul(w, x, n, y);
      return;
    }
    ++tagged_matmuls;
    auto rows = Tensor::view(w.dtype(), w.shape(), w.data(), w.n_bytes());
    cpu_->matmul(*rows, x, n, y);
  }
  void get_rows(const Tensor& w, const int32_t* ids, int64_t n, float* y) override {
    EXPECT_EQ(w.layout(), Layout::rows);
    cpu_->get_rows(w, ids, n, y);
  }
  void rmsnorm(const float* x, const float* weight, int64_t n_rows, int64_t dim, float eps, float* y) override {
    cpu_->rmsnorm(x, weight, n_rows, dim, eps, y);
  }
  void rope(float* x, int64_t n_tokens, int64_t n_head, int64_t head_dim, const int32_t* pos,
            const backend::RopeParams& p) override {
    cpu_->rope(x, n_tokens, n_head, head_dim, pos, p);
  }
  void swiglu(const float* gate, const float* up, int64_t n, float* y) override { cpu_->swiglu(gate, up, n, y); }
  void attention(const backend::AttentionArgs& a) override { cpu_->attention(a); }
  void to_f16(const float* x, int64_t n, uint16_t* y) override { cpu_->to_f16(x, n, y); }
  void add_scaled(float* x, const float* y, int64_t n, float scale) override { cpu_->add_scaled(x, y, n, scale); }

  std::set<const void*> prepared;
  int released = 0, tagged_matmuls = 0, untagged_matmuls = 0;

 private:
  std::unique_ptr<backend::Backend> cpu_ = backend::make_cpu_backend(1);
};

struct ContextBackend : ::testing::TestWithParam<bool> {
  test::TempDir dir;
  std::string path = dir.file("tiny.gguf");
  void SetUp() override {
    RandomModelSpec s = tiny_model_spec();
    s.n_layer = 2;
    s.tied_output = GetParam();
    ASSERT_TRUE(write_random_model(s, path).ok());
  }
};

TEST_P(ContextBackend, WeightsArePreparedAndRunByTheGivenBackend) {
  const bool tied = GetParam();
  auto tagging = std::make_shared<TaggingBackend>();
  auto model = Model::load(path, {.backend = tagging});
  ASSERT_TRUE(model.ok()) << model.error().message();
  const Weights& w = (*model)->weights();
  EXPECT_EQ((*model)->weights_backend(), "tagging");
  // Every layer matrix and the output head, also when it is the embedding table: the table then
  // stays the file's rows (the tagging layout is not rows), read by get_rows.
  const size_t want = 7 * w.layers.size() + 1;
  EXPECT_EQ(tagging->prepared.size(), want);
  EXPECT_EQ(tagging->released, static_cast<int>(want));
  for (const auto& L : w.layers)
    for (const Tensor* t : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down})
      EXPECT_EQ(t->layout(), TaggingBackend::kTag);
  EXPECT_EQ(w.output.layout(), TaggingBackend::kTag);
  EXPECT_EQ(w.tok_embd.layout(), Layout::rows);
  EXPECT_NE(w.tok_embd.data(), w.output.data());

  // The same logits as the model prepared for and run by the CPU backend (the f32 matrices keep
  // their row layout there, and the tagging backend computes with the CPU one).
  const std::vector<int32_t> tokens = {1, 5, 9, 2};
  auto ctx = Context::create(**model, {.n_ctx = 16, .backend = tagging});
  ASSERT_TRUE(ctx.ok()) << ctx.error().message();
  EXPECT_EQ(&(*ctx)->backend(), tagging.get());
  auto logits = (*ctx)->decode(tokens);
  ASSERT_TRUE(logits.ok());
  EXPECT_EQ(tagging->tagged_matmuls, static_cast<int>(want));
  EXPECT_EQ(tagging->untagged_matmuls, 0);

  auto cpu_model = Model::load(path);
  ASSERT_TRUE(cpu_model.ok());
  EXPECT_EQ((*cpu_model)->weights_backend(), "cpu");
  // The CPU backend copies float matrices in their row layout, so a tied table reads the head's copy.
  const Weights& cw = (*cpu_model)->weights();
  EXPECT_EQ(cw.output.layout(), Layout::rows);
  EXPECT_EQ(cw.tok_embd.data() == cw.output.data(), tied);
  auto cpu_ctx = Context::create(**cpu_model, {.n_ctx = 16, .n_threads = 1});
  ASSERT_TRUE(cpu_ctx.ok());
  auto cpu_logits = (*cpu_ctx)->decode(tokens);
  ASSERT_TRUE(cpu_logits.ok());
  ASSERT_EQ(logits->size(), cpu_logits->size());
  for (size_t i = 0; i < logits->size(); ++i) ASSERT_EQ((*logits)[i], (*cpu_logits)[i]) << i;
}

TEST_P(ContextBackend, ContextOnAnotherBackendIsAnError) {
  auto model = Model::load(path, {.backend = std::make_shared<TaggingBackend>()});
  ASSERT_TRUE(model.ok());
  auto cpu = Context::create(**model, {.n_ctx = 16});  // default: a CPU backend
  ASSERT_FALSE(cpu.ok());
  EXPECT_EQ(cpu.error().code(), ErrorCode::invalid_argument);
  EXPECT_NE(cpu.error().message().find("prepared for the 'tagging' backend, not for 'cpu'"), std::string::npos)
      << cpu.error().message();

  auto cpu_model = Model::load(path);
  ASSERT_TRUE(cpu_model.ok());
  auto other = Context::create(**cpu_model, {.n_ctx = 16, .backend = std::make_shared<TaggingBackend>()});
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message().find("prepared for the 'cpu' backend, not for 'tagging'"), std::string::npos)
      << other.error().message();
  // Any CPU backend runs weights prepared by another one.
  auto given = Context::create(**cpu_model, {.n_ctx = 16, .backend = backend::make_cpu_backend(2)});
  ASSERT_TRUE(given.ok()) << given.error().message();
  EXPECT_EQ((*given)->backend().n_threads(), 2);
  EXPECT_TRUE((*given)->decode(std::vector<int32_t>{3, 4}).ok());
}

INSTANTIATE_TEST_SUITE_P(Output, ContextBackend, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? std::string("tied") : std::string("untied"); });

}  // namespace
}  // namespace fragua::model
