// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: a Hugging Face config.json and model.safetensors.index.json (`fragua
// convert`'s untrusted JSON). Input: a config.json, then "\n---\n", then an index. Accepted
// configs must give hyper-parameters within the bounds of format/llama_hparams.h (the converter
// multiplies them into tensor shapes) and finite positive RoPE factors; accepted indices only
// plain shard file names.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fragua/format/hf_config.h"

using namespace fragua::format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t cut = in.find("\n---\n");
  const std::string_view config = in.substr(0, cut), index = cut == in.npos ? "" : in.substr(cut + 5);
  if (auto c = HfConfig::parse(config, "config.json"); c.ok()) {
    const LlamaHParams& hp = c->hparams();
    if (hp.n_embd < 1 || hp.n_embd > kMaxEmbd || hp.n_layer < 1 || hp.n_layer > kMaxLayers || hp.n_head < 1 ||
        hp.n_head > kMaxHeads || hp.n_head_kv < 1 || hp.n_head % hp.n_head_kv != 0 || hp.n_ff < 1 ||
        hp.n_ff > kMaxFeedForward || hp.head_dim < 2 || hp.head_dim > kMaxHeadDim || hp.head_dim % 2 != 0 ||
        !(hp.rms_eps > 0) || !std::isfinite(hp.rms_eps) || !(hp.rope_theta > 0) || !std::isfinite(hp.rope_theta))
      std::abort();
    const auto& f = c->rope_freqs();
    if (!f.empty() && static_cast<int64_t>(f.size()) != hp.n_rot / 2) std::abort();
    for (float x : f)
      if (!(x > 0) || !std::isfinite(x)) std::abort();
    (void)c->get_number("embedding_multiplier", 1.0, 0.0, 1e6);
    (void)c->get_int("sliding_window", 0, 0, INT64_MAX);
    (void)c->get_string("model_type", "");
  }
  if (auto idx = parse_hf_weight_index(index, "model.safetensors.index.json"); idx.ok()) {
    for (const auto& s : idx->shards)
      if (s.empty() || s == "." || s == ".." || s.find('/') != s.npos) std::abort();
  }
  return 0;
}
