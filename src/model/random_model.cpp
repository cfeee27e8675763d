#include "fragua/model/random_model.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <fmt/format.h>

#include "fragua/format/gguf.h"

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
  if (s.arch != "llama" && s.arch != "granite") return invalid_argument_error("unknown architecture '{}'", s.arch);
  if (s.n_head % s.n_head_kv != 0 || s.n_embd % s.n_head != 0)
    return invalid_argument_error("n_embd {} must divide into {} heads, and heads into {} kv heads", s.n_embd, s.n_head,
                                  s.n_head_kv);
  if (s.n_vocab < 3) return invalid_argument_error("vocabulary of {} tokens is too small", s.n_vocab);
  std::mt19937_64 rng(s.seed);
  const int64_t hd = s.n_embd / s.n_head;
  format::GgufWriter g;
  const std::string a = s.arch;
  g.set("general.architecture", format::GgufValue::of_string(a));
  g.set("general.name", format::GgufValue::of_string(fmt::format("fragua-random-{}-{}", a, s.seed)));
  g.set("general.file_type", format::GgufValue::of_u32(static_cast<uint32_t>(s.dtype == DType::f32   ? 0
                                                                             : s.dtype == DType::f16 ? 1
                                                                                                     : 7)));
  g.set(a + ".context_length", format::GgufValue::of_u32(static_cast<uint32_t>(s.n_ctx)));
  g.set(a + ".embedding_length", format::GgufValue::of_u32(static_cast<uint32_t>(s.n_embd)));
  g.set(a + ".block_count", format::GgufValue::of_u32(static_cast<uint32_t>(s.n_layer)));
  g.set(a + ".feed_forward_length", format::GgufValue::of_u32(static_cast<uint32_t>(s.n_ff)));
  g.set(a + ".attention.head_count", format::GgufValue::of_u32(static_cast<uint32_t>(s.n_head)));
  g.set(a + ".attention.head_count_kv", format::GgufValue::of_u32(static_cast<uint32_t>(s.n_head_kv)));
  g.set(a + ".attention.layer_norm_rms_epsilon", format::GgufValue::of_f32(1e-5f));
  g.set(a + ".rope.freq_base", format::GgufValue::of_f32(s.rope_theta));
  g.set(a + ".rope.dimension_count", format::GgufValue::of_u32(static_cast<uint32_t>(hd)));
  g.set(a + ".vocab_size", format::GgufValue::of_u32(static_cast<uint32_t>(s.n_vocab)));
  if (a == "granite") {
    g.set("granite.embedding_scale", format::GgufValue::of_f32(s.embedding_scale));
    g.set("granite.attention.scale", format::GgufValue::of_f32(s.attention_scale));
    g.set("granite.residual_scale", format::GgufValue::of_f32(s.residual_scale));
    g.set("granite.logit_scale", format::GgufValue::of_f32(s.logit_scale));
  }
  write_vocab(g, s.n_vocab);

  std::vector<Blob> blobs;
  const DType d = s.dtype;
  const float wide = s.plain_init ? 1.0f : 20.0f, proj = s.plain_init ? 1.0f : 4.0f;
  blobs.push_back(FRAGUA_TRY(make_matrix("token_embd.weight", s.n_embd, s.n_vocab, d, s.init_std * wide, rng)));
  for (int64_t l = 0; l < s.n_layer; ++l) {
    auto n = [&](const char* x) { return fmt::format("blk.{}.{}.weight", l, x); };
    float std = s.init_std;
    blobs.push_back(make_vector(n("attn_norm"), s.n_embd, 1.0f, 0.1f, rng));
    blobs.push_back(FRAGUA_TRY(make_matrix(n("attn_q"), s.n_embd, s.n_head * hd, d, std * proj, rng)));
    blobs.push_back(FRAGUA_TRY(make_matrix(n("attn_k"), s.n_embd, s.n_head_kv * hd, d, std * proj, rng)));
    blobs.push_back(FRAGUA_TRY(make_matrix(n("attn_v"), s.n_embd, s.n_head_kv * hd, d, std * proj, rng)));
    blobs.push_back(FRAGUA_TRY(make_matrix(n("attn_output"), s.n_head * hd, s.n_embd, d, std, rng)));
    blobs.push_back(make_vector(n("ffn_norm"), s.n_embd, 1.0f, 0.1f, rng));
    blobs.push_back(FRAGUA_TRY(make_matrix(n("ffn_gate"), s.n_embd, s.n_ff, d, std * proj, rng)));
    blobs.push_back(FRAGUA_TRY(make_matrix(n("ffn_up"), s.n_embd, s.n_ff, d, std * proj, rng)));
    blobs.push_back(FRAGUA_TRY(make_matrix(n("ffn_down"), s.n_ff, s.n_embd, d, std, rng)));
  }
  blobs.push_back(make_vector("output_norm.weight", s.n_embd, 1.0f, 0.1f, rng));
  if (!s.tied_output)
    blobs.push_back(FRAGUA_TRY(make_matrix("output.weight", s.n_embd, s.n_vocab, d, s.init_std * wide, rng)));
  if (s.llama3_rope) {
    auto f = llama3_rope_factors(hd, s.rope_theta);
    Blob b{"rope_freqs.weight", {static_cast<int64_t>(f.size())}, DType::f32, std::vector<uint8_t>(f.size() * 4)};
    std::memcpy(b.bytes.data(), f.data(), b.bytes.size());
    blobs.push_back(std::move(b));
  }
  for (const auto& b : blobs) FRAGUA_TRY(g.add_tensor(b.name, b.ne, b.dtype, b.bytes.data(), b.bytes.size()));
  return g.write(path);
}

}  // namespace fragua::model
