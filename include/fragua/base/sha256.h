// SPDX-License-Identifier: Apache-2.0
// SHA-256 (FIPS 180-4, through libcrypto) as 64 lowercase hex digits: of bytes, and of a file
// read through its memory map (model files are gigabytes).
#pragma once

#include <string>
#include <string_view>

#include "fragua/base/error.h"

namespace fragua {

std::string sha256_hex(std::string_view bytes);
Result<std::string> sha256_file(const std::string& path);

}  // namespace fragua
