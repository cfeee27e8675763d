// SPDX-License-Identifier: Apache-2.0
// The values of the Jinja interpreter: Python's none/bool/int/float/str/list/dict as Jinja2 sees
// them, plus undefined, namespace and callables. Lists, dicts and namespaces are shared by
// reference as in Python (`ns.x = 1` is seen by every holder of `ns`).
//
// Every string carries, byte by byte, where it came from: the template's own literals (markup,
// where control tokens are meant) or the data given to the render (messages, tools: never
// markup). Concatenation, slicing, strip and split keep the per-byte origin; any other
// transformation marks its whole result as data when any input byte was data. That is what lets
// render_chat keep its guarantee that "<|im_end|>" typed in a message stays text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"

namespace fragua::tokenize::jinja {

// Sandbox limits (a chat template comes from a downloaded file).
inline constexpr size_t kMaxOutputBytes = size_t{8} << 20;  // the rendered prompt, and any one string
inline constexpr size_t kMaxItems = 100'000;                // any one list (range() as Jinja2's sandbox)
inline constexpr int64_t kMaxLoopIterations = 100'000;      // all loop iterations of one render
inline constexpr int kMaxDepth = 200;                       // nested evaluation, macro calls included
inline constexpr int kMaxNesting = 100;                     // nested brackets/blocks in the parser

// Text with the origin of each byte: `data` is empty when every byte is the template's, else
// holds one byte per byte of `text`, 1 where it came from the render's data.
struct Str {
  std::string text;
  std::string data;

  bool any_data() const;
  void append(const Str& s);
  void append_markup(std::string_view s);
  void append_uniform(std::string_view s, bool from_data);
  Str substr(size_t pos, size_t n) const;
};

struct Value;
using List = std::vector<Value>;
struct Dict {
  std::vector<std::pair<Str, Value>> items;
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  void set(Str key, Value v);
};
struct Callable;  // a macro or a built-in function (render.cpp)

struct Value {
  enum class Kind : uint8_t { undefined, none, boolean, integer, floating, string, list, dict, ns, callable };
  Kind kind = Kind::undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::shared_ptr<Str> s;
  std::shared_ptr<List> l;
  std::shared_ptr<Dict> d;  // dict and namespace
  std::shared_ptr<const Callable> fn;

  static Value none() { return Value{Kind::none}; }
  static Value boolean(bool v) { return Value{Kind::boolean, v}; }
  static Value integer(int64_t v) { return Value{Kind::integer, false, v}; }
  static Value floating(double v) { return Value{Kind::floating, false, 0, v}; }
  static Value string(Str v);
  static Value markup(std::string v);  // a string of the template's own
  static Value list(List v = {});
  static Value dict(Dict v = {});

  bool is_undefined() const { return kind == Kind::undefined; }
  bool is_string() const { return kind == Kind::string; }
  bool is_number() const { return kind == Kind::integer || kind == Kind::floating || kind == Kind::boolean; }
  bool is_mapping() const { return kind == Kind::dict || kind == Kind::ns; }
  const std::string& str() const { return s->text; }
};

// Numbers as Python sees them: bool is an int (True == 1).
inline bool is_int(const Value& v) { return v.kind == Value::Kind::integer || v.kind == Value::Kind::boolean; }
inline int64_t inum(const Value& v) { return v.kind == Value::Kind::boolean ? int64_t{v.b} : v.i; }
inline double num(const Value& v) { return v.kind == Value::Kind::floating ? v.f : static_cast<double>(inum(v)); }

// Python semantics.
bool truthy(const Value& v);
bool equal(const Value& a, const Value& b);
const char* type_name(const Value& v);
// str(v), as `{{ v }}` and `~` print it (undefined prints as nothing).
Str to_str(const Value& v);
std::string py_repr_string(std::string_view s);
std::string py_float_repr(double d);
// Does any string inside v (keys included) come from the data?
bool any_data(const Value& v);

// Hugging Face's tojson: json.dumps(v, ensure_ascii=False, indent=indent) (transformers'
// chat_template_utils; Jinja2's own tojson would HTML-escape). indent < 0: one line.
Result<std::string> to_json(const Value& v, int indent);

// The render's input: `from_data` marks every string inside as data.
Value from_json(const nlohmann::ordered_json& j, bool from_data);

}  // namespace fragua::tokenize::jinja
