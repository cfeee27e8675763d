// Loads a GGUF model: weights are views into the memory-mapped file, checked against the
// configuration before any forward pass can touch them.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdlib>
#include <new>
#include <string_view>

#include "fragua/model/model.h"
#include "model/arch.h"

namespace fragua::model {

namespace {

class TensorBinder {
 public:
  TensorBinder(const format::GgufFile& file) : file_(file) {}

  Result<Tensor> get(const std::string& name, std::vector<int64_t> want, bool optional = false) {
    const format::GgufTensorInfo* info = file_.find_tensor(name);
    if (!info) {
      if (optional) return Tensor();
      return not_found_error("{}: tensor '{}' is missing", file_.path(), name);
    }
    if (info->ne != want)
      return corruption_error("{}: tensor '{}' has shape [{}], expected [{}]", file_.path(), name,
                              fmt::join(info->ne, ", "), fmt::join(want, ", "));
    const DTypeTraits* tr = dtype_traits(info->dtype);
    if (!tr || !tr->to_float)
      return unsupported_error("{}: tensor '{}' has dtype {} which Fragua cannot compute with", file_.path(), name,
                               dtype_name(info->dtype));
    ++bound_;
    return Tensor::view(info->dtype, info->ne, info->data, info->n_bytes);
  }
  size_t bound() const { return bound_; }

 private:
  const format::GgufFile& file_;
  size_t bound_ = 0;
};

// Hands the matrices that matmul alone reads to the backend (Backend::prepare_weight), one at a
// time, with the file's pages to give back once it holds its own copy, so that the resident size
// stays that of one copy.
Status prepare_weights(Weights& w, bool tied, const format::GgufFile& file, backend::Backend& be) {
  const backend::ReleaseSource release = [&file](const void* p, uint64_t n) { file.release(p, n); };
  for (auto& L : w.layers)
    for (Tensor* t : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down})
      FRAGUA_TRY(be.prepare_weight(*t, release));
  if (!tied) FRAGUA_TRY(be.prepare_weight(w.output, release));  // a tied head is also the embedding table, read by rows
  return {};
}

Status check_f32_vector(const Tensor& t, const std::string& name, const std::string& path) {
  if (!t.empty() && t.dtype() != DType::f32)
    return unsupported_error("{}: tensor '{}' must be f32 (norm weights), is {}", path, name, dtype_name(t.dtype()));
  return {};
}

}  // namespace

Result<std::unique_ptr<Model>> Model::load(const std::string& path, const ModelParams& params) {
  auto file = FRAGUA_TRY(format::GgufFile::open(path));
  return from_gguf(std::move(file), params);
}

Result<std::unique_ptr<Model>> Model::from_gguf(format::GgufFile file, const ModelParams& params) {
  std::unique_ptr<Model> m(new Model(std::move(file)));
  const auto& f = m->file_;
  ModelConfig& c = m->config_;
  c.arch = FRAGUA_TRY(f.get_string("general.architecture"));
  c.name = FRAGUA_TRY(f.get_string_or("general.name", ""));
  const Architecture* arch = find_architecture(c.arch);
  if (!arch)
    return unsupported_error("{}: architecture '{}' is not supported (supported: {})", f.path(), c.arch,
                             known_architectures());
  FRAGUA_TRY(read_decoder_hparams(f, c));
  FRAGUA_TRY(arch->read_hparams(f, c));

  const auto* embd = f.find_tensor("token_embd.weight");
  if (!embd || embd->ne.size() != 2)
    return not_found_error("{}: tensor 'token_embd.weight' is missing or not 2-D", f.path());
  c.n_vocab = embd->ne[1];
  c.tied_output = f.find_tensor("output.weight") == nullptr;

  TensorBinder b(f);
  Weights& w = m->weights_;
  const int64_t E = c.n_embd, Q = c.n_embd_q(), KV = c.n_embd_kv(), F = c.n_ff, V = c.n_vocab;
  w.tok_embd = FRAGUA_TRY(b.get("token_embd.weight", {E, V}));
  w.output_norm = FRAGUA_TRY(b.get("output_norm.weight", {E}));
  w.output = c.tied_output ? w.tok_embd : FRAGUA_TRY(b.get("output.weight", {E, V}));
  w.rope_freqs = FRAGUA_TRY(b.get("rope_freqs.weight", {c.n_rot / 2}, /*optional=*/true));
  FRAGUA_TRY(check_f32_vector(w.output_norm, "output_norm.weight", f.path()));
  FRAGUA_TRY(check_f32_vector(w.rope_freqs, "rope_freqs.weight", f.path()));
  // Divisors of the RoPE frequencies: a zero, negative or NaN factor gives NaN angles.
  for (int64_t i = 0; !w.rope_freqs.empty() && i < w.rope_freqs.n_elements(); ++i)
    if (const float x = w.rope_freqs.f32()[i]; !(std::isfinite(x) && x > 0.0f))
      return corruption_error("{}: rope_freqs.weight[{}] = {} must be a positive finite number", f.path(), i, x);
  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int64_t i = 0; i < c.n_layer; ++i) {
    auto& L = w.layers[static_cast<size_t>(i)];
    auto n = [&](const char* s) { return fmt::format("blk.{}.{}.weight", i, s); };
    L.attn_norm = FRAGUA_TRY(b.get(n("attn_norm"), {E}));
    L.wq = FRAGUA_TRY(b.get(n("attn_q"), {E, Q}));
    L.wk = FRAGUA_TRY(b.get(n("attn_k"), {E, KV}));
    L.wv = FRAGUA_TRY(b.get(n("attn_v"), {E, KV}));
    L.wo = FRAGUA_TRY(b.get(n("attn_output"), {Q, E}));
    L.ffn_norm = FRAGUA_TRY(b.get(n("ffn_norm"), {E}));
    L.w_gate = FRAGUA_TRY(b.get(n("ffn_gate"), {E, F}));
    L.w_up = FRAGUA_TRY(b.get(n("ffn_up"), {E, F}));
    L.w_down = FRAGUA_TRY(b.get(n("ffn_down"), {F, E}));
    FRAGUA_TRY(check_f32_vector(L.attn_norm, n("attn_norm"), f.path()));
    FRAGUA_TRY(check_f32_vector(L.ffn_norm, n("ffn_norm"), f.path()));
  }
  // Preparing needs no threads: a one-thread CPU backend starts none.
  std::shared_ptr<backend::Backend> be = params.backend ? params.backend : backend::make_cpu_backend(1);
  FRAGUA_TRY(prepare_weights(w, c.tied_output, f, *be));
  m->weights_backend_ = std::string(be->name());
  if (b.bound() != f.tensors().size()) {
    for (const auto& t : f.tensors()) {
      // Report the first tensor the architecture does not use: a sign of a mislabelled file.
      bool used = t.name == "token_embd.weight" || t.name == "output_norm.weight" || t.name == "output.weight" ||
                  t.name == "rope_freqs.weight" || t.name.rfind("blk.", 0) == 0;
      if (!used)
        return unsupported_error("{}: tensor '{}' is not part of the {} architecture", f.path(), t.name, c.arch);
    }
    return corruption_error("{}: {} tensors in the file but the {}-layer {} model uses {}", f.path(),
                            f.tensors().size(), c.n_layer, c.arch, b.bound());
  }
  return m;
}

}  // namespace fragua::model
