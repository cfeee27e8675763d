// SPDX-License-Identifier: Apache-2.0
#include "fragua/format/llama_hparams.h"

#include <fmt/format.h>

#include "fragua/base/utf8.h"

namespace fragua::format {

int64_t LlamaHParams::n_params() const {
  const int64_t attention = n_embd * n_embd_q() * 2 + 2 * n_embd * n_embd_kv();
  const int64_t ffn =
      n_expert > 0 ? n_expert * (3 * n_embd * n_ff + n_embd) + 3 * n_embd * n_ff_shexp : 3 * n_embd * n_ff;
  // Mamba-2: in_proj, out_proj, the convolution and its bias, dt bias, A, D, the norm's gain.
  const int64_t mamba = n_embd * ssm_in_rows() + ssm_d_inner * n_embd + (ssm_d_conv + 1) * ssm_conv_channels() +
                        3 * ssm_n_head + ssm_d_inner;
  int64_t total = n_vocab * n_embd * (tied_output ? 1 : 2) + n_embd;
  for (int64_t l = 0; l < n_layer; ++l) total += 2 * n_embd + ffn + (is_recurrent(l) ? mamba : attention);
  return total;
}

Result<int64_t> read_int_hparam(const GgufFile& file, const std::string& key, std::optional<int64_t> def, int64_t lo,
                                int64_t hi) {
  if (!file.find(key)) {
    if (!def) return not_found_error("{}: metadata key '{}' is missing", file.path(), key);
    return *def;
  }
  const uint64_t v = FRAGUA_TRY(file.get_uint(key));
  if (v < static_cast<uint64_t>(lo) || v > static_cast<uint64_t>(hi))
    return corruption_error("{}: {} = {} is outside [{}, {}]", file.path(), key, v, lo, hi);
  return static_cast<int64_t>(v);
}

Result<float> read_float_hparam(const GgufFile& file, const std::string& key, double def, double lo, double hi,
                                bool lo_inclusive) {
  // Checked as a double: NaN fails every comparison, and narrowing a double beyond float's
  // range to float is undefined behaviour.
  const double v = FRAGUA_TRY(file.get_float_or(key, def));
  const bool above_lo = lo_inclusive ? v >= lo : v > lo;
  if (!(above_lo && v <= hi))
    return corruption_error("{}: {} = {} must be a finite number in {}{}, {}]", file.path(), key, v,
                            lo_inclusive ? "[" : "(", lo, hi);
  return static_cast<float>(v);
}

namespace {

// A scalar, or (hybrid models, llama.cpp's llama_hparams::n_head_kv_arr) one entry per layer: 0
// marks a recurrent layer; the others must agree, since every attention layer shares one cache
// row width.
Status read_head_count_kv(const GgufFile& file, const std::string& key, LlamaHParams& c) {
  c.recurrent_layer.clear();
  const GgufValue* v = file.find(key);
  if (!v || v->type != GgufType::array) {
    c.n_head_kv = FRAGUA_TRY(read_int_hparam(file, key, c.n_head, 1, c.n_head));
    return {};
  }
  const auto* per_layer = FRAGUA_TRY(file.get_ints(key));
  if (static_cast<int64_t>(per_layer->size()) != c.n_layer)
    return corruption_error("{}: {} has {} entries for {} layers", file.path(), key, per_layer->size(), c.n_layer);
  c.n_head_kv = 0;
  c.recurrent_layer.assign(per_layer->size(), false);
  for (size_t l = 0; l < per_layer->size(); ++l) {
    const int64_t n = (*per_layer)[l];
    if (n < 0 || n > c.n_head)
      return corruption_error("{}: {}[{}] = {} is outside [0, {}]", file.path(), key, l, n, c.n_head);
    if (n == 0) {
      c.recurrent_layer[l] = true;
    } else if (c.n_head_kv != 0 && n != c.n_head_kv) {
      return unsupported_error("{}: {}[{}] = {} differs from an earlier layer's {}: one key/value width is supported",
                               file.path(), key, l, n, c.n_head_kv);
    } else {
      c.n_head_kv = n;
    }
  }
  if (c.n_head_kv == 0) c.n_head_kv = c.n_head;  // no attention layer: any width keeps the checks below
  return {};
}

}  // namespace

bool LlamaHParams::has_recurrent() const {
  for (bool r : recurrent_layer)
    if (r) return true;
  return false;
}

Status read_llama_hparams(const GgufFile& file, std::string_view arch, LlamaHParams& c) {
  const std::string p = std::string(arch) + ".";
  c.n_embd = FRAGUA_TRY(read_int_hparam(file, p + "embedding_length", std::nullopt, 1, kMaxEmbd));
  c.n_layer = FRAGUA_TRY(read_int_hparam(file, p + "block_count", std::nullopt, 1, kMaxLayers));
  c.n_ff = FRAGUA_TRY(read_int_hparam(file, p + "feed_forward_length", std::nullopt, 1, kMaxFeedForward));
  c.n_head = FRAGUA_TRY(read_int_hparam(file, p + "attention.head_count", std::nullopt, 1, kMaxHeads));
  FRAGUA_TRY(read_head_count_kv(file, p + "attention.head_count_kv", c));
  if (c.n_head % c.n_head_kv != 0)
    return corruption_error("{}: head_count {} is not a multiple of head_count_kv {}", file.path(), c.n_head,
                            c.n_head_kv);
  c.n_ctx_train = FRAGUA_TRY(read_int_hparam(file, p + "context_length", 2048, 1, kMaxTrainContext));
  c.rms_eps = FRAGUA_TRY(read_float_hparam(file, p + "attention.layer_norm_rms_epsilon", 1e-5, 0.0, kMaxRmsEps, false));
  c.rope_theta = FRAGUA_TRY(read_float_hparam(file, p + "rope.freq_base", 10000.0, 0.0, kMaxRopeBase, false));
  if (!file.find(p + "attention.key_length") && c.n_embd % c.n_head != 0)
    return corruption_error(
        "{}: {}embedding_length {} is not a multiple of {}attention.head_count {} (and no {}attention.key_length)",
        file.path(), p, c.n_embd, p, c.n_head, p);
  c.head_dim = FRAGUA_TRY(read_int_hparam(file, p + "attention.key_length", c.n_embd / c.n_head, 1, kMaxHeadDim));
  if (c.head_dim % 2 != 0)
    return corruption_error("{}: head dimension {} must be even and at most {}", file.path(), c.head_dim, kMaxHeadDim);
  c.n_rot = FRAGUA_TRY(read_int_hparam(file, p + "rope.dimension_count", c.head_dim, 1, c.head_dim));
  if (c.n_rot % 2 != 0)
    return corruption_error("{}: {}rope.dimension_count {} must be even and at most the head dimension {}", file.path(),
                            p, c.n_rot, c.head_dim);
  auto scaling = FRAGUA_TRY(file.get_string_or(p + "rope.scaling.type", "none"));
  if (scaling == "linear") {
    c.rope_scaling = RopeScaling::linear;
    if (!file.find(p + "rope.scaling.factor"))
      return not_found_error("{}: metadata key '{}rope.scaling.factor' is missing", file.path(), p);
    c.rope_scale_factor =
        FRAGUA_TRY(read_float_hparam(file, p + "rope.scaling.factor", 1.0, 0.0, kMaxRopeScaling, false));
  } else if (scaling != "none") {
    return unsupported_error("{}: RoPE scaling '{}' is not supported (none, linear; llama3 via rope_freqs.weight)",
                             file.path(), terminal_safe(scaling));
  }
  return {};
}

void write_llama_hparams(GgufWriter& w, std::string_view arch, const LlamaHParams& c) {
  const std::string p = std::string(arch) + ".";
  auto u32 = [](int64_t v) { return GgufValue::of_u32(static_cast<uint32_t>(v)); };
  w.set(p + "context_length", u32(c.n_ctx_train));
  w.set(p + "embedding_length", u32(c.n_embd));
  w.set(p + "block_count", u32(c.n_layer));
  w.set(p + "feed_forward_length", u32(c.n_ff));
  w.set(p + "attention.head_count", u32(c.n_head));
  if (c.recurrent_layer.empty()) {
    w.set(p + "attention.head_count_kv", u32(c.n_head_kv));
  } else {
    std::vector<int32_t> per_layer;
    for (bool r : c.recurrent_layer) per_layer.push_back(r ? 0 : static_cast<int32_t>(c.n_head_kv));
    w.set(p + "attention.head_count_kv", GgufValue::of_i32s(std::move(per_layer)));
  }
  w.set(p + "attention.layer_norm_rms_epsilon", GgufValue::of_f32(c.rms_eps));
  w.set(p + "rope.freq_base", GgufValue::of_f32(c.rope_theta));
  // The reader's default for key_length is n_embd / n_head: written only for models that differ.
  if (c.n_head <= 0 || c.head_dim != c.n_embd / c.n_head || c.n_embd % c.n_head != 0)
    w.set(p + "attention.key_length", u32(c.head_dim));
  w.set(p + "rope.dimension_count", u32(c.n_rot));
  if (c.rope_scaling == RopeScaling::linear) {
    w.set(p + "rope.scaling.type", GgufValue::of_string("linear"));
    w.set(p + "rope.scaling.factor", GgufValue::of_f32(c.rope_scale_factor));
  }
  w.set(p + "vocab_size", u32(c.n_vocab));
}

Status read_moe_hparams(const GgufFile& file, std::string_view arch, LlamaHParams& hp) {
  const std::string p = std::string(arch) + ".";
  hp.n_expert = FRAGUA_TRY(read_int_hparam(file, p + "expert_count", 0, 0, kMaxExperts));
  if (hp.n_expert == 0) {
    hp.n_expert_used = hp.n_ff_shexp = 0;
    return {};
  }
  hp.n_expert_used = FRAGUA_TRY(read_int_hparam(file, p + "expert_used_count", std::nullopt, 1, hp.n_expert));
  hp.n_ff_shexp = FRAGUA_TRY(read_int_hparam(file, p + "expert_shared_feed_forward_length", 0, 0, kMaxFeedForward));
  return {};
}

void write_moe_hparams(GgufWriter& w, std::string_view arch, const LlamaHParams& hp) {
  if (hp.n_expert == 0) return;
  const std::string p = std::string(arch) + ".";
  w.set(p + "expert_count", GgufValue::of_u32(static_cast<uint32_t>(hp.n_expert)));
  w.set(p + "expert_used_count", GgufValue::of_u32(static_cast<uint32_t>(hp.n_expert_used)));
  if (hp.n_ff_shexp > 0)
    w.set(p + "expert_shared_feed_forward_length", GgufValue::of_u32(static_cast<uint32_t>(hp.n_ff_shexp)));
}

Status read_ssm_hparams(const GgufFile& file, std::string_view arch, LlamaHParams& hp) {
  const std::string p = std::string(arch) + ".ssm.";
  // Granite 4.0-H: kernel 4, inner 2 x n_embd, state 128, 48..128 heads of 64, 1 group.
  hp.ssm_d_conv = FRAGUA_TRY(read_int_hparam(file, p + "conv_kernel", std::nullopt, 1, 64));
  hp.ssm_d_inner = FRAGUA_TRY(read_int_hparam(file, p + "inner_size", std::nullopt, 1, 2 * kMaxEmbd));
  hp.ssm_d_state = FRAGUA_TRY(read_int_hparam(file, p + "state_size", std::nullopt, 1, 4096));
  hp.ssm_n_head = FRAGUA_TRY(read_int_hparam(file, p + "time_step_rank", std::nullopt, 1, kMaxHeads));
  hp.ssm_n_group = FRAGUA_TRY(read_int_hparam(file, p + "group_count", std::nullopt, 1, kMaxHeads));
  if (hp.ssm_d_inner % hp.ssm_n_head != 0 || hp.ssm_n_head % hp.ssm_n_group != 0)
    return corruption_error(
        "{}: {}inner_size {} must divide into {}time_step_rank {} heads, and they into {}group_count {}", file.path(),
        p, hp.ssm_d_inner, p, hp.ssm_n_head, p, hp.ssm_n_group);
  const std::string finetuned = std::string(arch) + ".rope.scaling.finetuned";
  hp.use_rope = file.find(finetuned) ? FRAGUA_TRY(file.get_bool(finetuned)) : true;
  return {};
}

void write_ssm_hparams(GgufWriter& w, std::string_view arch, const LlamaHParams& hp) {
  const std::string p = std::string(arch) + ".ssm.";
  auto u32 = [](int64_t v) { return GgufValue::of_u32(static_cast<uint32_t>(v)); };
  w.set(p + "conv_kernel", u32(hp.ssm_d_conv));
  w.set(p + "inner_size", u32(hp.ssm_d_inner));
  w.set(p + "state_size", u32(hp.ssm_d_state));
  w.set(p + "time_step_rank", u32(hp.ssm_n_head));
  w.set(p + "group_count", u32(hp.ssm_n_group));
  w.set(std::string(arch) + ".rope.scaling.finetuned", GgufValue::of_bool(hp.use_rope));
}

Status read_float_keys(const GgufFile& file, std::string_view arch, std::span<const FloatKey> keys, LlamaHParams& hp) {
  for (const FloatKey& k : keys)
    hp.*k.field =
        FRAGUA_TRY(read_float_hparam(file, fmt::format("{}.{}", arch, k.suffix), k.def, k.lo, k.hi, k.lo_inclusive));
  return {};
}

void write_float_keys(GgufWriter& w, std::string_view arch, std::span<const FloatKey> keys, const LlamaHParams& hp) {
  for (const FloatKey& k : keys) w.set(fmt::format("{}.{}", arch, k.suffix), GgufValue::of_f32(hp.*k.field));
}

}  // namespace fragua::format
