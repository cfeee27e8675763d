// SPDX-License-Identifier: Apache-2.0
// The flat parameter store (param_store.h).
#include "fragua/train/param_store.h"

#include <algorithm>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <xxhash.h>

#include "fragua/base/utf8.h"
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

namespace {

// Metadata key of the tensor checksums of one prefix ("" for the weights, "m/" and "v/" for the
// AdamW moments that share optimizer.safetensors).
std::string param_checksum_key(const std::string& prefix) { return "fragua.xxh64:" + prefix; }

std::string param_tensor_xxh64(const float* data, size_t n) {
  return fmt::format("{:016x}", XXH64(data, n * sizeof(float), 0));
}

}  // namespace

Status ParamStore::add_safetensors(format::SafetensorsWriter& w, const std::string& prefix, const float* base) const {
  nlohmann::json sums = nlohmann::json::object();
  for (const auto& p : infos_) {
    FRAGUA_TRY(w.add_tensor(prefix + p.name, "F32", torch_shape(p), base + p.offset, p.size * sizeof(float)));
    sums[p.name] = param_tensor_xxh64(base + p.offset, p.size);
  }
  w.set_metadata(param_checksum_key(prefix), sums.dump());
  return ok_status();
}

Status ParamStore::read_safetensors(const format::SafetensorsFile& f, const std::string& prefix, float* base) const {
  // Files written before checksums were recorded carry none and are read unchecked.
  nlohmann::json sums;
  if (auto it = f.metadata().find(param_checksum_key(prefix)); it != f.metadata().end()) {
    sums = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    if (!sums.is_object())
      return corruption_error("{}: metadata \"{}\" is not a JSON object of checksums: the file is damaged", f.path(),
                              it->first);
  }
  for (const auto& p : infos_) {
    const auto* t = f.find(prefix + p.name);
    if (!t) return corruption_error("{}: missing tensor '{}'", f.path(), prefix + p.name);
    if (t->shape != torch_shape(p))
      return corruption_error("{}: tensor '{}' has shape [{}], the model needs [{}]", f.path(), prefix + p.name,
                              fmt::join(t->shape, ", "), fmt::join(torch_shape(p), ", "));
    FRAGUA_TRY(f.read_f32(prefix + p.name, base + p.offset, static_cast<int64_t>(p.size)));
    if (sums.is_null()) continue;
    auto want = sums.find(p.name);
    if (want == sums.end() || !want->is_string())
      return corruption_error("{}: tensor '{}' has no checksum in metadata \"{}\": the file is damaged", f.path(),
                              prefix + p.name, param_checksum_key(prefix));
    const std::string got = param_tensor_xxh64(base + p.offset, p.size);
    if (got != want->get_ref<const std::string&>())
      return corruption_error(
          "{}: tensor '{}' fails its checksum (XXH64 {}, saved as {}): the file is damaged; resume from an earlier "
          "checkpoint",
          f.path(), prefix + p.name, got, terminal_safe(want->get<std::string>()));
  }
  return ok_status();
}

}  // namespace fragua::train
