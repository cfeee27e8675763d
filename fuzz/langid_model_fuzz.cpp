// SPDX-License-Identifier: Apache-2.0
// The language-id model file (data/langid.cpp, LangIdModel::from_bytes); a model that loads is
// also used once, so that a header accepted with bad values would show up in scoring.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fragua/data/langid.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m =
      fragua::data::LangIdModel::from_bytes(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.bin");
  if (m.ok()) (void)m->identify_document("Bon dia a tothom. Buenos días a todos.", true);
  return 0;
}
