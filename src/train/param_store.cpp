// The flat parameter store (param_store.h).
#include "fragua/train/param_store.h"

#include <algorithm>

#include <fmt/ranges.h>

#include "fragua/format/safetensors.h"
#include "fragua/train/model.h"

namespace fragua::train {

size_t ParamStore::add(std::string name, std::vector<int64_t> ne, bool decay) {
  size_t n = 1;
  for (int64_t d : ne) n *= static_cast<size_t>(d);
  size_t off = infos_.empty() ? 0 : infos_.back().offset + infos_.back().size;
  infos_.push_back({std::move(name), std::move(ne), off, n, decay});
  return infos_.size() - 1;
}

void ParamStore::allocate() {
  size_t n = infos_.empty() ? 0 : infos_.back().offset + infos_.back().size;
  params_.assign(n, 0.0f);
  grads_.assign(n, 0.0f);
}

const ParamInfo* ParamStore::find(std::string_view name) const {
  for (const auto& p : infos_)
    if (p.name == name) return &p;
  return nullptr;
}

void ParamStore::zero_grad() { std::fill(grads_.begin(), grads_.end(), 0.0f); }

void ParamStore::init_random(uint64_t seed, const std::function<float(const ParamInfo&)>& stddev) {
  Rng rng(seed);
  for (const auto& p : infos_) {
    float* w = params_.data() + p.offset;
    if (p.name.ends_with(".bias")) {
      std::fill(w, w + p.size, 0.0f);
      continue;
    }
    if (!p.decay) {
      std::fill(w, w + p.size, 1.0f);
      continue;
    }
    const float sd = stddev(p);
    for (size_t i = 0; i < p.size; ++i) w[i] = sd * rng.normal();
  }
}

Status ParamStore::add_safetensors(format::SafetensorsWriter& w, const std::string& prefix, const float* base) const {
  for (const auto& p : infos_)
    FRAGUA_TRY(w.add_tensor(prefix + p.name, "F32", torch_shape(p), base + p.offset, p.size * sizeof(float)));
  return ok_status();
}

Status ParamStore::read_safetensors(const format::SafetensorsFile& f, const std::string& prefix, float* base) const {
  for (const auto& p : infos_) {
    const auto* t = f.find(prefix + p.name);
    if (!t) return corruption_error("{}: missing tensor '{}'", f.path(), prefix + p.name);
    if (t->shape != torch_shape(p))
      return corruption_error("{}: tensor '{}' has shape [{}], the model needs [{}]", f.path(), prefix + p.name,
                              fmt::join(t->shape, ", "), fmt::join(torch_shape(p), ", "));
    FRAGUA_TRY(f.read_f32(prefix + p.name, base + p.offset, static_cast<int64_t>(p.size)));
  }
  return ok_status();
}

}  // namespace fragua::train
