// SPDX-License-Identifier: Apache-2.0
// Loads tests/reference/materials/golden.json (produced by make_golden.py from sklearn, numpy
// and pymatgen).
#pragma once

#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/materials/elements.h"
#include "test_util.h"

namespace fragua::materials::testing {

inline const nlohmann::json& golden() {
  static const nlohmann::json j = [] {
    auto text = read_file(test::source_dir() + "/tests/reference/materials/golden.json");
    EXPECT_TRUE(text.ok());
    return text.ok() ? nlohmann::json::parse(*text) : nlohmann::json::object();
  }();
  return j;
}

inline const ElementTable& table() {
  auto t = ElementTable::builtin();
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().to_string());
  return **t;
}

}  // namespace fragua::materials::testing
