// SPDX-License-Identifier: Apache-2.0
// The flat parameter store of a trainable network: named F32 tensors laid out one after another
// in a single buffer, and a gradient buffer of the same layout. One buffer is what AdamW
// (optim.h) steps, what a checkpoint writes, and what data parallelism allreduces in one call,
// as llm.c keeps its parameters. train::Model (the Llama stack) and materials::ElementTransformer
// both keep their weights here.
//
// Tensors are named as GGUF names them ("blk.0.attn_q.weight") and shaped in GGML order (ne[0]
// is the contiguous dimension; a linear weight (out, in) has ne = [in, out]).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"

namespace fragua::format {
class SafetensorsFile;
class SafetensorsWriter;
}  // namespace fragua::format

namespace fragua::train {

// One parameter tensor inside the flat parameter buffer.
struct ParamInfo {
  std::string name;         // GGUF name: "blk.0.attn_q.weight"
  std::vector<int64_t> ne;  // GGML order: ne[0] is the contiguous dimension
  size_t offset = 0;        // in floats, into params() / grads()
  size_t size = 0;
  bool decay = true;  // false for norm gains and biases (no weight decay on them)
};

class ParamStore {
 public:
  // Appends a tensor after the last one and returns its index. The layout is fixed by the order
  // of the calls; allocate() once they are all made.
  size_t add(std::string name, std::vector<int64_t> ne, bool decay);
  // Sizes params and grads to the layout, zero-filled.
  void allocate();

  const std::vector<ParamInfo>& infos() const { return infos_; }
  // nullptr when no tensor has this name.
  const ParamInfo* find(std::string_view name) const;
  size_t size() const { return params_.size(); }  // floats, after allocate()

  // Tensor i of the layout inside the parameter / gradient buffer.
  float* param(size_t i) { return params_.data() + infos_[i].offset; }
  const float* param(size_t i) const { return params_.data() + infos_[i].offset; }
  float* grad(size_t i) { return grads_.data() + infos_[i].offset; }

  std::span<float> params() { return params_; }
  std::span<const float> params() const { return params_; }
  std::span<float> grads() { return grads_; }
  std::span<const float> grads() const { return grads_; }
  void zero_grad();

  // The initialisation both networks use, in layout order from one xoshiro256** stream
  // (Rng(seed), model.h): a tensor named "*.bias" 0; any other tensor without weight decay (a
  // norm gain) 1; every other tensor N(0, stddev(info)^2), one draw per element. The caller's
  // stddev carries the architecture's rule (GPT-2's 0.02 with residual projections scaled by
  // 1/sqrt(2 n_layer), Radford et al. 2019; 1/sqrt(fan_in) for a small MLP head).
  void init_random(uint64_t seed, const std::function<float(const ParamInfo&)>& stddev);

  // Safetensors I/O of a buffer with this layout (the parameters, the gradients or an optimiser
  // moment): every tensor as "<prefix><name>", F32, shape outermost first (PyTorch's order,
  // ne reversed). `base` must hold size() floats and stay valid until the writer has written.
  Status add_safetensors(format::SafetensorsWriter& w, const std::string& prefix, const float* base) const;
  // Reads them back into base; errors name the file and the missing or misshapen tensor.
  Status read_safetensors(const format::SafetensorsFile& f, const std::string& prefix, float* base) const;
  static std::vector<int64_t> torch_shape(const ParamInfo& p) { return {p.ne.rbegin(), p.ne.rend()}; }

 private:
  std::vector<ParamInfo> infos_;
  std::vector<float> params_, grads_;
};

}  // namespace fragua::train
