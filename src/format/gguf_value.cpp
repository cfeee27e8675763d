// SPDX-License-Identifier: Apache-2.0
// GgufValue helpers and printing.
#include <fmt/format.h>

#include "fragua/base/utf8.h"
#include "fragua/format/gguf.h"

namespace fragua::format {

std::string_view gguf_type_name(GgufType t) {
  switch (t) {
    case GgufType::u8:
      return "u8";
    case GgufType::i8:
      return "i8";
    case GgufType::u16:
      return "u16";
    case GgufType::i16:
      return "i16";
    case GgufType::u32:
      return "u32";
    case GgufType::i32:
      return "i32";
    case GgufType::f32:
      return "f32";
    case GgufType::boolean:
      return "bool";
    case GgufType::string:
      return "string";
    case GgufType::array:
      return "array";
    case GgufType::u64:
      return "u64";
    case GgufType::i64:
      return "i64";
    case GgufType::f64:
      return "f64";
  }
  return "unknown";
}

GgufValue GgufValue::of_u32(uint32_t v) {
  GgufValue x;
  x.type = GgufType::u32;
  x.u = v;
  return x;
}
GgufValue GgufValue::of_i32(int32_t v) {
  GgufValue x;
  x.type = GgufType::i32;
  x.i = v;
  return x;
}
GgufValue GgufValue::of_u64(uint64_t v) {
  GgufValue x;
  x.type = GgufType::u64;
  x.u = v;
  return x;
}
GgufValue GgufValue::of_f32(float v) {
  GgufValue x;
  x.type = GgufType::f32;
  x.f = v;
  return x;
}
GgufValue GgufValue::of_bool(bool v) {
  GgufValue x;
  x.type = GgufType::boolean;
  x.u = v ? 1 : 0;
  return x;
}
GgufValue GgufValue::of_string(std::string v) {
  GgufValue x;
  x.type = GgufType::string;
  x.s = std::move(v);
  return x;
}

GgufValue GgufValue::of_strings(std::vector<std::string> v) {
  GgufValue x;
  x.type = GgufType::array;
  x.elem_type = GgufType::string;
  x.strings = std::move(v);
  return x;
}

GgufValue GgufValue::of_f32s(std::vector<float> v) {
  GgufValue x;
  x.type = GgufType::array;
  x.elem_type = GgufType::f32;
  x.floats.assign(v.begin(), v.end());
  return x;
}

GgufValue GgufValue::of_i32s(std::vector<int32_t> v) {
  GgufValue x;
  x.type = GgufType::array;
  x.elem_type = GgufType::i32;
  x.ints.assign(v.begin(), v.end());
  return x;
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::u8:
    case GgufType::i8:
    case GgufType::u16:
    case GgufType::i16:
    case GgufType::u32:
    case GgufType::i32:
    case GgufType::u64:
    case GgufType::i64:
    case GgufType::boolean:
      return true;
    default:
      return false;
  }
}

uint64_t GgufValue::array_size() const {
  if (type != GgufType::array) return 0;
  switch (elem_type) {
    case GgufType::string:
      return strings.size();
    case GgufType::f32:
    case GgufType::f64:
      return floats.size();
    case GgufType::array:
      return values.size();
    default:
      return ints.size();
  }
}

namespace {
bool is_signed(GgufType t) {
  return t == GgufType::i8 || t == GgufType::i16 || t == GgufType::i32 || t == GgufType::i64;
}
// Values come from untrusted files and are printed by `fragua info`: quotes and backslashes
// escaped, then every control character and invalid byte made terminal-safe.
std::string quote(const std::string& s, size_t max = 60) {
  std::string body;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const char c = s[i];
    if (c == '"' || c == '\\') body += '\\';
    body += c;
  }
  std::string out = "\"" + terminal_safe(body);
  if (s.size() > max) out += "...";
  return out + "\"";
}
}  // namespace

std::string GgufValue::to_string(size_t max_items) const {
  switch (type) {
    case GgufType::boolean:
      return u ? "true" : "false";
    case GgufType::f32:
    case GgufType::f64:
      return fmt::format("{}", f);
    case GgufType::string:
      return quote(s);
    case GgufType::array: {
      uint64_t n = array_size();
      std::string out = fmt::format("[{} {}:", n, gguf_type_name(elem_type));
      for (uint64_t k = 0; k < n && k < max_items; ++k) {
        out += k ? ", " : " ";
        switch (elem_type) {
          case GgufType::string:
            out += quote(strings[k], 24);
            break;
          case GgufType::f32:
          case GgufType::f64:
            out += fmt::format("{}", floats[k]);
            break;
          case GgufType::array:
            out += values[k].to_string(2);
            break;
          default:
            out += fmt::format("{}", ints[k]);
            break;
        }
      }
      if (n > max_items) out += ", ...";
      return out + "]";
    }
    default:
      return is_signed(type) ? fmt::format("{}", i) : fmt::format("{}", u);
  }
}

int64_t GgufTensorInfo::n_elements() const {
  int64_t n = 1;
  for (auto d : ne) n *= d;
  return n;
}

}  // namespace fragua::format
