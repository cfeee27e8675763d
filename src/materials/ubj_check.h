// A structural check of UBJSON (ubjson.org, draft 12: big-endian lengths and counts) before the
// bytes reach libxgboost, whose reader trusts every length it reads: a string length of 2^46 in
// a model member is allocated as given (found by fuzz/materials_xgb_model_fuzz.cpp).
#pragma once

#include <cstddef>
#include <string_view>

#include "fragua/base/error.h"

namespace fragua::materials {

// Nesting of arrays and objects: an XGBoost model nests about 8 levels.
inline constexpr int kUbjMaxDepth = 64;

// Every length and count must fit in the bytes that remain, every marker must be known, nesting
// at most kUbjMaxDepth, and the value must end exactly at the end of `data`. Errors name `origin`
// and the byte offset.
Status check_ubjson(std::string_view data, std::string_view origin);

}  // namespace fragua::materials
