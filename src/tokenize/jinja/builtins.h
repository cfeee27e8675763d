// SPDX-License-Identifier: Apache-2.0
// Jinja2's filters, tests, globals and the Python methods of str/list/dict that chat templates
// call, over the values of value.h. Errors unwind as `Fail`; the renderer adds the template
// location and returns them as fragua::Error.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenize/jinja/value.h"

namespace fragua::tokenize::jinja {

struct Fail {
  ErrorCode code;
  std::string message;
};
[[noreturn]] void fail(std::string message);
[[noreturn]] void fail_limit(std::string message);

struct Args {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
  // The argument at `index` or named `name`; null when absent.
  const Value* get(size_t index, std::string_view name) const;
};

// A string no longer than the sandbox allows.
void check_size(size_t bytes);

// What `for x in v` walks: list items, dict keys, string characters; undefined is empty.
List iterate(const Value& v);
// Python's len().
int64_t length(const Value& v);
// Python's <, for sort and comparisons.
bool less(const Value& a, const Value& b);

Value apply_filter(std::string_view name, const Value& v, const Args& args);
bool apply_test(std::string_view name, const Value& v, const Args& args);
// A method of str/list/dict (`s.strip()`, `d.items()`); false when `obj` has no such method.
bool call_method(const Value& obj, std::string_view name, const Args& args, Value* out);
bool is_global(std::string_view name);
Value call_global(std::string_view name, const Args& args);

}  // namespace fragua::tokenize::jinja
