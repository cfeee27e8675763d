// SPDX-License-Identifier: Apache-2.0
// Numbers, lists and mixtures from flags, configs and environment variables, parsed one way
// everywhere (std::from_chars: no locale, no exceptions, the whole text must be consumed).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fragua/base/error.h"

namespace fragua {

// `what` names the value in messages ("--mix", "threads").
Result<int64_t> parse_int(std::string_view text, std::string_view what, int64_t lo = INT64_MIN, int64_t hi = INT64_MAX);
// A finite number (no "inf", "nan" or trailing text).
Result<double> parse_double(std::string_view text, std::string_view what);
// Comma-separated items; an empty item ("a,,b", a trailing comma) is an error.
Result<std::vector<std::string>> parse_list(std::string_view text, std::string_view what);

// "es=0.5,ca=0.3,eu=0.2": names unique and not empty, weights finite and >= 0, not all 0.
// The weights are returned as written (callers that need shares divide by the sum).
Result<std::vector<std::pair<std::string, double>>> parse_mixture(std::string_view text, std::string_view what);

}  // namespace fragua
