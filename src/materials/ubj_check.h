// SPDX-License-Identifier: Apache-2.0
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

// What libxgboost's tree loader and predictor trust in a gbtree model (checked against 1.7):
// every per-node array as long as tree_param.num_nodes (a shorter one is read past its end),
// children -1 (leaf) or after their parent (so a walk from the root ends), split indices below
// `n_features`, no categorical splits, and as many trees as gbtree_model_param.num_trees says.
// Call after check_ubjson. Errors name `origin`, the tree and the field.
Status check_xgboost_trees(std::string_view data, std::string_view origin, size_t n_features);

}  // namespace fragua::materials
