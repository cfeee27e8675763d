#include "fragua/format/llama_hparams.h"

#include <fmt/format.h>

#include "fragua/base/utf8.h"

namespace fragua::format {

int64_t LlamaHParams::n_params() const {
  const int64_t per_layer = 2 * n_embd + n_embd * n_embd_q() * 2 + 2 * n_embd * n_embd_kv() + 3 * n_embd * n_ff;
  return n_vocab * n_embd * (tied_output ? 1 : 2) + n_embd + n_layer * per_layer;
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

Status read_llama_hparams(const GgufFile& file, std::string_view arch, LlamaHParams& c) {
  const std::string p = std::string(arch) + ".";
  c.n_embd = FRAGUA_TRY(read_int_hparam(file, p + "embedding_length", std::nullopt, 1, kMaxEmbd));
  c.n_layer = FRAGUA_TRY(read_int_hparam(file, p + "block_count", std::nullopt, 1, kMaxLayers));
  c.n_ff = FRAGUA_TRY(read_int_hparam(file, p + "feed_forward_length", std::nullopt, 1, kMaxFeedForward));
  c.n_head = FRAGUA_TRY(read_int_hparam(file, p + "attention.head_count", std::nullopt, 1, kMaxHeads));
  c.n_head_kv = FRAGUA_TRY(read_int_hparam(file, p + "attention.head_count_kv", c.n_head, 1, c.n_head));
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
  w.set(p + "attention.head_count_kv", u32(c.n_head_kv));
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
