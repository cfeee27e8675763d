// SPDX-License-Identifier: Apache-2.0
#include "fragua/model/random_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "fragua/format/gguf.h"
#include "fragua/format/llama_hparams.h"
#include "fragua/format/llama_tensors.h"
#include "model/arch.h"

namespace fragua::model {

std::vector<float> llama3_rope_factors(int64_t n_rot, float theta, float factor, float low_freq_factor,
                                       float high_freq_factor, int64_t original_ctx) {
  // Meta's rule for Llama 3.1: long wavelengths are slowed by `factor`, short ones kept, and the
  // band between them interpolated smoothly.
  const double low_wavelen = static_cast<double>(original_ctx) / low_freq_factor;
  const double high_wavelen = static_cast<double>(original_ctx) / high_freq_factor;
  std::vector<float> out;
  for (int64_t i = 0; i < n_rot; i += 2) {
    double freq = 1.0 / std::pow(static_cast<double>(theta), static_cast<double>(i) / static_cast<double>(n_rot));
    double wavelen = 2.0 * M_PI / freq;
    double div;
    if (wavelen < high_wavelen) {
      div = 1.0;
    } else if (wavelen > low_wavelen) {
      div = factor;
    } else {
      double smooth =
          (static_cast<double>(original_ctx) / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
      div = 1.0 / ((1.0 - smooth) / factor + smooth);
    }
    out.push_back(static_cast<float>(div));
  }
  return out;
}

namespace {

struct Blob {
  std::string name;
  std::vector<int64_t> ne;
  DType dtype;
  std::vector<uint8_t> bytes;
};

Result<Blob> make_matrix(const std::string& name, int64_t cols, int64_t rows, DType dtype, float std,
                         std::mt19937_64& rng) {
  std::normal_distribution<float> nd(0.0f, std);
  std::vector<float> v(static_cast<size_t>(cols * rows));
  for (auto& x : v) x = nd(rng);
  Blob b{name, {cols, rows}, dtype, {}};
  if (dtype == DType::f32) {
    b.bytes.resize(v.size() * 4);
    std::memcpy(b.bytes.data(), v.data(), b.bytes.size());
    return b;
  }
  const DTypeTraits* tr = dtype_traits(dtype);
  if (!tr || !tr->from_float_ref)
    return unsupported_error("cannot write random weights as {} (no quantizer)", dtype_name(dtype));
  if (cols % tr->block_size != 0)
    return invalid_argument_error("{}: row length {} is not a multiple of the {} block size {}", name, cols, tr->name,
                                  tr->block_size);
  const size_t rs = row_size(dtype, cols);
  b.bytes.resize(rs * static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r)
    tr->from_float_ref(v.data() + r * cols, b.bytes.data() + static_cast<size_t>(r) * rs, cols);
  return b;
}

Blob make_vector(const std::string& name, int64_t n, float base, float jitter, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> ud(-jitter, jitter);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = base + ud(rng);
  Blob b{name, {n}, DType::f32, std::vector<uint8_t>(v.size() * 4)};
  std::memcpy(b.bytes.data(), v.data(), b.bytes.size());
  return b;
}

void write_vocab(format::GgufWriter& g, int64_t n_vocab) {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  // SentencePiece conventions: type 2 unknown, 3 control, 6 byte, 1 normal.
  tokens = {"<unk>", "<s>", "</s>"};
  scores = {0, 0, 0};
  types = {2, 3, 3};
  for (int b = 0; b < 256 && static_cast<int64_t>(tokens.size()) < n_vocab; ++b) {
    tokens.push_back(fmt::format("<0x{:02X}>", b));
    scores.push_back(0);
    types.push_back(6);
  }
  for (int64_t i = static_cast<int64_t>(tokens.size()); i < n_vocab; ++i) {
    tokens.push_back(fmt::format("\xE2\x96\x81t{}", i));
    scores.push_back(-static_cast<float>(i));
    types.push_back(1);
  }
  g.set("tokenizer.ggml.model", format::GgufValue::of_string("llama"));
  g.set("tokenizer.ggml.tokens", format::GgufValue::of_strings(std::move(tokens)));
  g.set("tokenizer.ggml.scores", format::GgufValue::of_f32s(std::move(scores)));
  g.set("tokenizer.ggml.token_type", format::GgufValue::of_i32s(std::move(types)));
  g.set("tokenizer.ggml.bos_token_id", format::GgufValue::of_u32(1));
  g.set("tokenizer.ggml.eos_token_id", format::GgufValue::of_u32(2));
  g.set("tokenizer.ggml.unknown_token_id", format::GgufValue::of_u32(0));
}

}  // namespace

Status write_random_model(const RandomModelSpec& s, const std::string& path) {
  const Architecture* arch = find_architecture(s.arch);
  if (!arch) return invalid_argument_error("unknown architecture '{}'", s.arch);
  if (s.n_head % s.n_head_kv != 0 || s.n_embd % s.n_head != 0)
    return invalid_argument_error("n_embd {} must divide into {} heads, and heads into {} kv heads", s.n_embd, s.n_head,
                                  s.n_head_kv);
  if (s.n_vocab < 3) return invalid_argument_error("vocabulary of {} tokens is too small", s.n_vocab);
  std::mt19937_64 rng(s.seed);
  format::LlamaHParams hp;
  hp.n_vocab = s.n_vocab;
  hp.n_ctx_train = s.n_ctx;
  hp.n_embd = s.n_embd;
  hp.n_layer = s.n_layer;
  hp.n_head = s.n_head;
  hp.n_head_kv = s.n_head_kv;
  hp.n_ff = s.n_ff;
  hp.head_dim = hp.n_rot = s.n_embd / s.n_head;
  hp.rope_theta = s.rope_theta;
  hp.tied_output = s.tied_output;
  hp.embedding_scale = s.embedding_scale;
  hp.attention_scale = s.attention_scale;
  hp.residual_scale = s.residual_scale;
  hp.logit_scale = s.logit_scale;
  // What the architecture's table holds: experts (always, or instead of a dense FFN), Mamba-2.
  const auto has = [&](format::TensorRole r) {
    return std::any_of(arch->tensors.begin(), arch->tensors.end(), [r](const auto& t) { return t.role == r; });
  };
  const bool moe = has(format::TensorRole::ffn_gate_inp), hybrid = has(format::TensorRole::ssm_in);
  if (moe) {
    hp.n_expert = s.n_expert == 0 && !has(format::TensorRole::ffn_gate) ? 4 : s.n_expert;
    hp.n_expert_used = s.n_expert_used == 0 ? std::min<int64_t>(2, hp.n_expert) : s.n_expert_used;
    hp.n_ff_shexp = hp.n_expert > 0 ? s.n_ff_shexp : 0;
    if (hp.n_expert < 0 || hp.n_expert_used > hp.n_expert || (hp.n_expert > 0 && hp.n_expert_used < 1))
      return invalid_argument_error("{} experts with {} used per token is not a mixture", hp.n_expert,
                                    hp.n_expert_used);
  }
  if (hybrid) {
    hp.ssm_d_conv = s.ssm_d_conv;
    hp.ssm_d_inner = 2 * s.n_embd;
    hp.ssm_d_state = s.ssm_d_state;
    hp.ssm_n_head = s.ssm_n_head;
    hp.ssm_n_group = s.ssm_n_group;
    hp.use_rope = s.rope;
    if (hp.ssm_d_conv < 2 || hp.ssm_n_head < 1 || hp.ssm_n_group < 1 || hp.ssm_d_inner % hp.ssm_n_head != 0 ||
        hp.ssm_n_head % hp.ssm_n_group != 0)
      return invalid_argument_error(
          "Mamba-2 shape: kernel {} (>= 2), inner width {} must divide into {} heads and they into {} groups",
          hp.ssm_d_conv, hp.ssm_d_inner, hp.ssm_n_head, hp.ssm_n_group);
    hp.recurrent_layer.resize(static_cast<size_t>(s.n_layer));
    if (!s.layers.empty() && static_cast<int64_t>(s.layers.size()) != s.n_layer)
      return invalid_argument_error("layer pattern '{}' has {} letters for {} layers", s.layers, s.layers.size(),
                                    s.n_layer);
    for (int64_t l = 0; l < s.n_layer; ++l) {
      const char k = s.layers.empty() ? (l % 4 == 3 || (s.n_layer < 4 && l == s.n_layer - 1) ? 'a' : 'm')
                                      : s.layers[static_cast<size_t>(l)];
      if (k != 'a' && k != 'm') return invalid_argument_error("layer pattern '{}': letters are 'a' or 'm'", s.layers);
      hp.recurrent_layer[static_cast<size_t>(l)] = k == 'm';
    }
  }

  format::GgufWriter g;
  const std::string a = s.arch;
  g.set("general.architecture", format::GgufValue::of_string(a));
  g.set("general.name", format::GgufValue::of_string(fmt::format("fragua-random-{}-{}", a, s.seed)));
  g.set("general.file_type", format::GgufValue::of_u32(static_cast<uint32_t>(s.dtype == DType::f32   ? 0
                                                                             : s.dtype == DType::f16 ? 1
                                                                                                     : 7)));
  format::write_llama_hparams(g, a, hp);
  format::write_float_keys(g, a, arch->float_keys, hp);
  if (moe) format::write_moe_hparams(g, a, hp);
  if (hybrid) format::write_ssm_hparams(g, a, hp);
  write_vocab(g, s.n_vocab);

  // Every tensor of the architecture's table in file order, drawn from one generator in that
  // order (the reference fixtures depend on it).
  std::vector<Blob> blobs;
  const DType d = s.dtype;
  const float wide = s.plain_init ? 1.0f : 20.0f, proj = s.plain_init ? 1.0f : 4.0f;
  using format::TensorRole;
  for (const format::TensorSlot& t : format::tensor_slots(arch->tensors, hp)) {
    const TensorRole role = t.spec->role;
    if (role == TensorRole::rope_freqs) {
      if (!s.llama3_rope) continue;
      auto f = llama3_rope_factors(hp.n_rot, s.rope_theta);
      Blob b{t.name, {static_cast<int64_t>(f.size())}, DType::f32, std::vector<uint8_t>(f.size() * 4)};
      std::memcpy(b.bytes.data(), f.data(), b.bytes.size());
      blobs.push_back(std::move(b));
    } else if (role == TensorRole::ssm_a) {
      // A = -exp(A_log) < 0, decays per step of exp(dt A) in (0, 1): drawn in [-4, -0.5].
      Blob v = make_vector(t.name, t.ne[1], -2.25f, 1.75f, rng);
      v.ne = t.ne;
      blobs.push_back(std::move(v));
    } else if (role == TensorRole::ssm_d) {
      Blob v = make_vector(t.name, t.ne[1], 1.0f, 0.5f, rng);
      v.ne = t.ne;
      blobs.push_back(std::move(v));
    } else if (role == TensorRole::ssm_dt_b || role == TensorRole::ssm_conv1d_b || role == TensorRole::attn_q_b ||
               role == TensorRole::attn_k_b || role == TensorRole::attn_v_b) {  // biases (qwen2's q/k/v)
      blobs.push_back(make_vector(t.name, t.ne[0], 0.0f, 0.5f, rng));
    } else if (t.spec->f32_only) {  // norm gains (ssm_norm is 2-D), the convolution kernel
      const int64_t n = t.ne[0] * (t.ne.size() > 1 ? t.ne[1] : 1);
      Blob v = role == TensorRole::ssm_conv1d ? make_vector(t.name, n, 0.0f, 0.5f, rng)
                                              : make_vector(t.name, n, 1.0f, 0.1f, rng);
      v.ne = t.ne;
      blobs.push_back(std::move(v));
    } else if (t.ne.size() == 3) {  // experts: each a matrix drawn as a dense layer's
      const float std = s.init_std * (role == TensorRole::ffn_down_exps ? 1.0f : proj);
      Blob all = FRAGUA_TRY(make_matrix(t.name, t.ne[0], t.ne[1] * t.ne[2], d, std, rng));
      all.ne = t.ne;
      blobs.push_back(std::move(all));
    } else {
      float std = s.init_std;
      if (role == TensorRole::token_embd || role == TensorRole::output)
        std *= wide;
      else if (role != TensorRole::attn_output && role != TensorRole::ffn_down && role != TensorRole::ffn_down_shexp &&
               role != TensorRole::ssm_out)
        std *= proj;
      blobs.push_back(FRAGUA_TRY(make_matrix(t.name, t.ne[0], t.ne[1], d, std, rng)));
    }
  }
  for (const auto& b : blobs) FRAGUA_TRY(g.add_tensor(b.name, b.ne, b.dtype, b.bytes.data(), b.bytes.size()));
  return g.write(path);
}

}  // namespace fragua::model
