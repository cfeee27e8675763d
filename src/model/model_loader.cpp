// SPDX-License-Identifier: Apache-2.0
// Loads a GGUF model: weights are views into the memory-mapped file, checked against the
// configuration before any forward pass can touch them.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <cstdlib>
#include <new>
#include <span>
#include <string_view>

#include "fragua/format/llama_tensors.h"
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
    // GGML writers drop trailing dimensions of 1 (ggml_n_dims: llama-quantize writes a one-group
    // ssm_norm [n, 1] as [n]), so shapes compare without them.
    const auto trimmed = [](std::vector<int64_t> ne) {
      while (ne.size() > 1 && ne.back() == 1) ne.pop_back();
      return ne;
    };
    if (trimmed(info->ne) != trimmed(want))
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
// time, with the file's pages to give back as it copies them (the CPU backend: run by run), so
// that the resident size stays that of one copy.
Status prepare_weights(Weights& w, bool tied, const format::GgufFile& file, backend::Backend& be) {
  const backend::ReleaseSource release = [&file](const void* p, uint64_t n) { file.release(p, n); };
  for (auto& L : w.layers) {
    for (Tensor* t : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down, &L.ffn_gate_inp, &L.gate_shexp,
                      &L.up_shexp, &L.down_shexp, &L.ssm_in, &L.ssm_out})
      if (!t->empty()) FRAGUA_TRY(be.prepare_weight(*t, release));
    for (auto* experts : {&L.gate_exp, &L.up_exp, &L.down_exp})
      for (Tensor& t : *experts) FRAGUA_TRY(be.prepare_weight(t, release));
  }
  FRAGUA_TRY(be.prepare_weight(w.output, release));
  // A tied head is also the embedding table, which get_rows reads by rows: where the prepared
  // copy kept the file's row layout (float weights) the table reads the copy too; where it did
  // not (packed panels), the table reads the file, whose pages the copy handed back come back
  // only for the rows that tokens touch.
  if (tied && w.output.layout() == Layout::rows) w.tok_embd = w.output;
  return {};
}

// Where each role of a tensor table lives in Weights. A role without a slot is a table that
// names a tensor the weights cannot hold: an architecture file out of step with model.h.
Result<Tensor*> global_slot(Weights& w, const format::TensorSpec& s, const std::string& arch) {
  using enum format::TensorRole;
  switch (s.role) {
    case token_embd:
      return &w.tok_embd;
    case output_norm:
      return &w.output_norm;
    case output:
      return &w.output;
    case rope_freqs:
      return &w.rope_freqs;
    default:
      break;
  }
  return unsupported_error("the {} architecture's tensor '{}' has no slot in model::Weights", arch, s.name);
}

Result<Tensor*> layer_slot(LayerWeights& L, const format::TensorSpec& s, const std::string& arch) {
  using enum format::TensorRole;
  switch (s.role) {
    case attn_norm:
      return &L.attn_norm;
    case attn_q:
      return &L.wq;
    case attn_k:
      return &L.wk;
    case attn_v:
      return &L.wv;
    case attn_output:
      return &L.wo;
    case attn_q_b:
      return &L.bq;
    case attn_k_b:
      return &L.bk;
    case attn_v_b:
      return &L.bv;
    case ffn_norm:
      return &L.ffn_norm;
    case ffn_gate:
      return &L.w_gate;
    case ffn_up:
      return &L.w_up;
    case ffn_down:
      return &L.w_down;
    case ffn_gate_inp:
      return &L.ffn_gate_inp;
    case ffn_gate_exps:
      return &L.gate_exps;
    case ffn_up_exps:
      return &L.up_exps;
    case ffn_down_exps:
      return &L.down_exps;
    case ffn_gate_shexp:
      return &L.gate_shexp;
    case ffn_up_shexp:
      return &L.up_shexp;
    case ffn_down_shexp:
      return &L.down_shexp;
    case ssm_in:
      return &L.ssm_in;
    case ssm_conv1d:
      return &L.ssm_conv1d;
    case ssm_conv1d_b:
      return &L.ssm_conv1d_b;
    case ssm_dt_b:
      return &L.ssm_dt_b;
    case ssm_a:
      return &L.ssm_a;
    case ssm_d:
      return &L.ssm_d;
    case ssm_norm:
      return &L.ssm_norm;
    case ssm_out:
      return &L.ssm_out;
    default:
      break;
  }
  return unsupported_error("the {} architecture's tensor 'blk.N.{}' has no slot in model::LayerWeights", arch, s.name);
}

// Each expert's 2-D matrix as a view into the file's 3-D tensor [cols, rows, n_expert].
Result<std::vector<Tensor>> expert_slices(const Tensor& t) {
  std::vector<Tensor> out;
  if (t.empty()) return out;
  const int64_t n = t.ne(2);
  const uint64_t bytes = t.n_bytes() / static_cast<uint64_t>(n);
  const std::vector<int64_t> ne = {t.ne(0), t.ne(1)};
  for (int64_t e = 0; e < n; ++e)
    out.push_back(FRAGUA_TRY(Tensor::view(t.dtype(), ne, static_cast<const uint8_t*>(t.data()) + e * bytes, bytes)));
  return out;
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

  const std::span<const format::TensorSpec> table = arch->tensors;
  const auto* embd = f.find_tensor("token_embd.weight");
  if (!embd || embd->ne.size() != 2)
    return not_found_error("{}: tensor 'token_embd.weight' is missing or not 2-D", f.path());
  c.n_vocab = embd->ne[1];
  c.tied_output = false;
  for (const auto& s : table)
    if (s.presence == format::Presence::untied) c.tied_output = f.find_tensor(s.name) == nullptr;

  // The architecture's table, global tensors first and then each layer's block: every tensor
  // present (unless optional or tied), of the table's shape and a dtype Fragua computes with;
  // then the f32-only ones checked.
  TensorBinder b(f);
  Weights& w = m->weights_;
  for (const auto& s : table) {
    if (s.per_layer) continue;
    Tensor* slot = FRAGUA_TRY(global_slot(w, s, c.arch));
    if (s.presence == format::Presence::untied && c.tied_output) {
      *slot = w.tok_embd;  // bound before: the table lists token_embd first
      continue;
    }
    *slot = FRAGUA_TRY(b.get(std::string(s.name), s.shape(c), s.presence == format::Presence::optional));
  }
  for (const auto& s : table)
    if (!s.per_layer && s.f32_only)
      FRAGUA_TRY(check_f32_vector(*FRAGUA_TRY(global_slot(w, s, c.arch)), std::string(s.name), f.path()));
  // Divisors of the RoPE frequencies: a zero, negative or NaN factor gives NaN angles.
  for (int64_t i = 0; !w.rope_freqs.empty() && i < w.rope_freqs.n_elements(); ++i)
    if (const float x = w.rope_freqs.f32()[i]; !(std::isfinite(x) && x > 0.0f))
      return corruption_error("{}: rope_freqs.weight[{}] = {} must be a positive finite number", f.path(), i, x);
  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int64_t i = 0; i < c.n_layer; ++i) {
    auto& L = w.layers[static_cast<size_t>(i)];
    for (const auto& s : table)
      if (s.per_layer && s.in_layer(c, i))
        *FRAGUA_TRY(layer_slot(L, s, c.arch)) =
            FRAGUA_TRY(b.get(s.gguf_name(i), s.shape(c), s.presence == format::Presence::optional));
    for (const auto& s : table)
      if (s.per_layer && s.f32_only && s.in_layer(c, i))
        FRAGUA_TRY(check_f32_vector(*FRAGUA_TRY(layer_slot(L, s, c.arch)), s.gguf_name(i), f.path()));
    L.gate_exp = FRAGUA_TRY(expert_slices(L.gate_exps));
    L.up_exp = FRAGUA_TRY(expert_slices(L.up_exps));
    L.down_exp = FRAGUA_TRY(expert_slices(L.down_exps));
  }
  if (!params.lora.empty()) {
    // Adapters merge before the backend prepares the weights, so the merged F32 matrix is what it
    // prepares. Block matrices only: an adapter of token_embd (llama.cpp allows one, with flipped
    // shapes) finds no weight and is refused by name.
    auto by_name = [&](const std::string& name) -> Tensor* {
      for (int64_t i = 0; i < c.n_layer; ++i)
        for (const auto& s : table)
          if (s.per_layer && s.in_layer(c, i) && s.gguf_name(i) == name) {
            auto slot = layer_slot(w.layers[static_cast<size_t>(i)], s, c.arch);
            return slot.ok() ? *slot : nullptr;
          }
      return nullptr;
    };
    FRAGUA_TRY(merge_lora_adapters(params.lora, c.arch, by_name));
  }
  // Preparing needs no threads: a one-thread CPU backend starts none.
  std::shared_ptr<backend::Backend> be = params.backend ? params.backend : backend::make_cpu_backend(1);
  FRAGUA_TRY(prepare_weights(w, c.tied_output, f, *be));
  m->weights_backend_ = std::string(be->name());
  if (b.bound() != f.tensors().size()) {
    for (const auto& t : f.tensors()) {
      // Report the first tensor the architecture does not use: a sign of a mislabelled file.
      bool used = t.name.rfind("blk.", 0) == 0;
      for (const auto& s : table) used = used || (!s.per_layer && t.name == s.name);
      if (!used)
        return unsupported_error("{}: tensor '{}' is not part of the {} architecture", f.path(), t.name, c.arch);
    }
    return corruption_error("{}: {} tensors in the file but the {}-layer {} model uses {}", f.path(),
                            f.tensors().size(), c.n_layer, c.arch, b.bound());
  }
  return m;
}

}  // namespace fragua::model
