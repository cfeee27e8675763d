#include "model/arch.h"

#include <string>

namespace fragua::model {

namespace {
const Architecture* const kArchitectures[] = {
    &arch::llama,
    &arch::granite,
};
}  // namespace

const Architecture* find_architecture(std::string_view name) {
  for (const auto* a : kArchitectures)
    if (a->name == name) return a;
  return nullptr;
}

std::string known_architectures() {
  std::string s;
  for (const auto* a : kArchitectures) s += (s.empty() ? "" : ", ") + std::string(a->name);
  return s;
}

}  // namespace fragua::model
