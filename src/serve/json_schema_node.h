// SPDX-License-Identifier: Apache-2.0
// A compiled JSON schema: the graph of nodes the recogniser (json_constraint.cpp) walks, built by
// json_schema_compiler.cpp. Nodes refer to each other by index, so a recursive $ref is a cycle.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

#include "fragua/serve/json_constraint.h"

namespace fragua::serve {

enum class SchemaKind : uint8_t { object, array, string, number, integer, literals, any_of };

struct SchemaNode {
  SchemaKind kind = SchemaKind::any_of;
  // object: property names as they are written in JSON between the quotes (escaped), sorted
  // bytewise, so the names that start with a prefix are a contiguous range.
  std::vector<std::string> names;
  std::vector<int32_t> prop_node;  // per sorted name
  std::vector<uint8_t> order;      // per sorted name: its place in the declaration (ordered objects)
  uint64_t required = 0;           // bits over the sorted names
  int32_t additional = -1;         // node of other properties' values; -1: none allowed
  bool ordered = false;            // every property, in declaration order (tool-call wrapper)
  // array
  int32_t items = -1;
  uint32_t min_items = 0, max_items = UINT32_MAX;
  // string: length in code points, as JSON Schema counts it
  uint32_t min_len = 0, max_len = UINT32_MAX;
  // literals: canonical JSON texts, sorted bytewise and unique
  std::vector<std::string> literals;
  // any_of
  std::vector<int32_t> alts;
  // The bytes a value of this node may start with (whitespace excluded).
  std::bitset<256> first;
};

struct CompiledSchema {
  std::vector<SchemaNode> nodes;
  int32_t root = 0;
};

}  // namespace fragua::serve
