// SPDX-License-Identifier: Apache-2.0
#include "model/arch.h"

#include <string>

namespace fragua::model {

namespace {
const Architecture* const kArchitectures[] = {
    &arch::llama,
    &arch::granite,
    &arch::granitemoe,
    &arch::granitehybrid,
    &arch::qwen2,
};
}  // namespace

const Architecture* find_architecture(std::string_view name) {
  for (const auto* a : kArchitectures)
    if (a->name == name) return a;
  return nullptr;
}

const Architecture* find_hf_architecture(std::string_view hf_class) {
  for (const auto* a : kArchitectures)
    if (a->hf)
      for (std::string_view n : a->hf->architectures)
        if (n == hf_class) return a;
  return nullptr;
}

std::string known_hf_architectures() {
  std::string s;
  for (const auto* a : kArchitectures)
    if (a->hf)
      for (std::string_view n : a->hf->architectures) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

std::string known_architectures() {
  std::string s;
  for (const auto* a : kArchitectures) s += (s.empty() ? "" : ", ") + std::string(a->name);
  return s;
}

}  // namespace fragua::model
