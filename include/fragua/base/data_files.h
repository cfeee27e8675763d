// SPDX-License-Identifier: Apache-2.0
// Where the bundled data files (data/langid/model.bin, data/materials/elements.csv, ...) are
// found at run time. No path of the build machine is compiled into the library: an installed
// `fragua` looks beside itself, a development build through a link CMake places in the build tree.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"

namespace fragua {

// The directories searched, in order: $FRAGUA_DATA_DIR (when set and not empty), then
// <exe>/../share/fragua (the install prefix: <prefix>/bin/fragua, <prefix>/share/fragua), then
// <exe>/share/fragua (CMake links build/<preset>/share/fragua to the source tree's data/).
std::vector<std::string> data_dirs();

// The first data directory that holds `relative` ("materials/elements.csv"), or a not_found error
// that lists the places tried and how to point Fragua at its data.
Result<std::string> find_data_file(std::string_view relative);

}  // namespace fragua
