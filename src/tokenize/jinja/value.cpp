// SPDX-License-Identifier: Apache-2.0
#include "tokenize/jinja/value.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace fragua::tokenize::jinja {

bool Str::any_data() const { return data.find('\1') != std::string::npos; }

// `data` stays empty while every byte is the template's; it is filled in at the first data byte.
void Str::append(const Str& s) {
  if (!s.data.empty() || !data.empty()) {
    data.resize(text.size(), '\0');
    s.data.empty() ? data.append(s.text.size(), '\0') : data.append(s.data);
  }
  text += s.text;
}

void Str::append_markup(std::string_view s) { append_uniform(s, false); }

void Str::append_uniform(std::string_view s, bool from_data) {
  if (from_data || !data.empty()) {
    data.resize(text.size(), '\0');
    data.append(s.size(), from_data ? '\1' : '\0');
  }
  text += s;
}

Str Str::substr(size_t pos, size_t n) const {
  Str r;
  r.text = text.substr(pos, n);
  if (!data.empty()) r.data = data.substr(pos, n);
  return r;
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k.text == key) return &v;
  return nullptr;
}

Value* Dict::find(std::string_view key) {
  for (auto& [k, v] : items)
    if (k.text == key) return &v;
  return nullptr;
}

void Dict::set(Str key, Value v) {
  if (Value* old = find(key.text))
    *old = std::move(v);
  else
    items.emplace_back(std::move(key), std::move(v));
}

Value Value::string(Str v) {
  Value r{Kind::string};
  r.s = std::make_shared<Str>(std::move(v));
  return r;
}

Value Value::markup(std::string v) { return string(Str{std::move(v), {}}); }

Value Value::list(List v) {
  Value r{Kind::list};
  r.l = std::make_shared<List>(std::move(v));
  return r;
}

Value Value::dict(Dict v) {
  Value r{Kind::dict};
  r.d = std::make_shared<Dict>(std::move(v));
  return r;
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Value::Kind::undefined:
    case Value::Kind::none:
      return false;
    case Value::Kind::boolean:
      return v.b;
    case Value::Kind::integer:
      return v.i != 0;
    case Value::Kind::floating:
      return v.f != 0;
    case Value::Kind::string:
      return !v.s->text.empty();
    case Value::Kind::list:
      return !v.l->empty();
    case Value::Kind::dict:
      return !v.d->items.empty();
    default:
      return true;
  }
}

namespace {
double as_double(const Value& v) {
  return v.kind == Value::Kind::floating ? v.f : v.kind == Value::Kind::boolean ? double(v.b) : double(v.i);
}
int64_t as_int(const Value& v) { return v.kind == Value::Kind::boolean ? int64_t{v.b} : v.i; }
}  // namespace

bool equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind == Value::Kind::floating || b.kind == Value::Kind::floating) return as_double(a) == as_double(b);
    return as_int(a) == as_int(b);
  }
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::string:
      return a.s->text == b.s->text;
    case Value::Kind::list:
      if (a.l->size() != b.l->size()) return false;
      for (size_t k = 0; k < a.l->size(); ++k)
        if (!equal((*a.l)[k], (*b.l)[k])) return false;
      return true;
    case Value::Kind::dict:
      if (a.d->items.size() != b.d->items.size()) return false;
      for (const auto& [k, v] : a.d->items) {
        const Value* o = b.d->find(k.text);
        if (!o || !equal(v, *o)) return false;
      }
      return true;
    case Value::Kind::ns:
      return a.d == b.d;
    case Value::Kind::callable:
      return a.fn == b.fn;
    default:
      return true;  // undefined == undefined, none == none
  }
}

const char* type_name(const Value& v) {
  static constexpr const char* kNames[] = {"undefined", "none", "bool", "int",       "float",
                                           "str",       "list", "dict", "namespace", "callable"};
  return kNames[static_cast<size_t>(v.kind)];
}

std::string py_repr_string(std::string_view s) {
  const char q = s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos ? '"' : '\'';
  std::string r(1, q);
  for (unsigned char c : s) {
    if (c == '\\' || c == static_cast<unsigned char>(q)) {
      r += '\\';
      r += static_cast<char>(c);
    } else if (c == '\n') {
      r += "\\n";
    } else if (c == '\r') {
      r += "\\r";
    } else if (c == '\t') {
      r += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      r += fmt::format("\\x{:02x}", c);
    } else {
      r += static_cast<char>(c);
    }
  }
  r += q;
  return r;
}

// Python's repr(float): the shortest digits that round-trip, positional when the decimal
// exponent is in [-4, 16), else scientific with a two-digit-minimum exponent (float_repr_style
// 'short', Python/pystrtod.c).
std::string py_float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  const int exp10 = std::stoi(sci.substr(e + 1));
  std::string sign;
  if (mant[0] == '-') {
    sign = "-";
    mant.erase(0, 1);
  }
  std::string digits;
  for (char c : mant)
    if (c != '.') digits += c;
  if (exp10 >= -4 && exp10 < 16) {
    std::string r;
    if (exp10 < 0) {
      r = "0." + std::string(static_cast<size_t>(-exp10 - 1), '0') + digits;
    } else if (static_cast<size_t>(exp10) + 1 >= digits.size()) {
      r = digits + std::string(static_cast<size_t>(exp10) + 1 - digits.size(), '0') + ".0";
    } else {
      r = digits.substr(0, static_cast<size_t>(exp10) + 1) + "." + digits.substr(static_cast<size_t>(exp10) + 1);
    }
    return sign + r;
  }
  std::string r = digits.substr(0, 1);
  if (digits.size() > 1) r += "." + digits.substr(1);
  return sign + r + fmt::format("e{}{:02d}", exp10 < 0 ? '-' : '+', std::abs(exp10));
}

bool any_data(const Value& v) {
  switch (v.kind) {
    case Value::Kind::string:
      return v.s->any_data();
    case Value::Kind::list:
      for (const Value& x : *v.l)
        if (any_data(x)) return true;
      return false;
    case Value::Kind::dict:
    case Value::Kind::ns:
      for (const auto& [k, x] : v.d->items)
        if (k.any_data() || any_data(x)) return true;
      return false;
    default:
      return false;
  }
}

namespace {

std::string repr(const Value& v) {
  switch (v.kind) {
    case Value::Kind::string:
      return py_repr_string(v.s->text);
    case Value::Kind::list: {
      std::string r = "[";
      for (size_t k = 0; k < v.l->size(); ++k) r += (k ? ", " : "") + repr((*v.l)[k]);
      return r + "]";
    }
    case Value::Kind::dict: {
      std::string r = "{";
      for (size_t k = 0; k < v.d->items.size(); ++k)
        r += (k ? ", " : "") + py_repr_string(v.d->items[k].first.text) + ": " + repr(v.d->items[k].second);
      return r + "}";
    }
    case Value::Kind::undefined:
      return "Undefined";
    default:
      return to_str(v).text;
  }
}

}  // namespace

Str to_str(const Value& v) {
  switch (v.kind) {
    case Value::Kind::undefined:
      return {};
    case Value::Kind::none:
      return {"None", {}};
    case Value::Kind::boolean:
      return {v.b ? "True" : "False", {}};
    case Value::Kind::integer:
      return {std::to_string(v.i), {}};
    case Value::Kind::floating:
      return {py_float_repr(v.f), {}};
    case Value::Kind::string:
      return *v.s;
    case Value::Kind::ns:
      return {"<Namespace>", {}};
    case Value::Kind::callable:
      return {"<macro>", {}};
    default: {
      Str r;
      r.append_uniform(repr(v), any_data(v));
      return r;
    }
  }
}

namespace {

// Python's json encoder with ensure_ascii=False: only '"', '\\' and C0 controls are escaped.
void json_string(std::string_view s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  out += '"';
}

Status json_value(const Value& v, int indent, int level, std::string& out) {
  if (out.size() > kMaxOutputBytes)
    return resource_exhausted_error("tojson output exceeds the limit of {} bytes", kMaxOutputBytes);
  auto newline = [&](int lv) {
    if (indent >= 0) out += "\n" + std::string(static_cast<size_t>(indent) * static_cast<size_t>(lv), ' ');
  };
  const char* item_sep = indent >= 0 ? "," : ", ";
  switch (v.kind) {
    case Value::Kind::none:
      out += "null";
      return {};
    case Value::Kind::boolean:
      out += v.b ? "true" : "false";
      return {};
    case Value::Kind::integer:
      out += std::to_string(v.i);
      return {};
    case Value::Kind::floating:
      out += std::isnan(v.f) ? "NaN" : std::isinf(v.f) ? (v.f < 0 ? "-Infinity" : "Infinity") : py_float_repr(v.f);
      return {};
    case Value::Kind::string:
      json_string(v.s->text, out);
      return {};
    case Value::Kind::list:
      if (v.l->empty()) {
        out += "[]";
        return {};
      }
      out += '[';
      for (size_t k = 0; k < v.l->size(); ++k) {
        if (k) out += item_sep;
        newline(level + 1);
        FRAGUA_TRY(json_value((*v.l)[k], indent, level + 1, out));
      }
      newline(level);
      out += ']';
      return {};
    case Value::Kind::dict:
    case Value::Kind::ns:
      if (v.d->items.empty()) {
        out += "{}";
        return {};
      }
      out += '{';
      for (size_t k = 0; k < v.d->items.size(); ++k) {
        if (k) out += item_sep;
        newline(level + 1);
        json_string(v.d->items[k].first.text, out);
        out += ": ";
        FRAGUA_TRY(json_value(v.d->items[k].second, indent, level + 1, out));
      }
      newline(level);
      out += '}';
      return {};
    default:
      return invalid_argument_error("tojson: a value of type {} is not JSON serializable", type_name(v));
  }
}

}  // namespace

Result<std::string> to_json(const Value& v, int indent) {
  std::string out;
  FRAGUA_TRY(json_value(v, indent, 0, out));
  return out;
}

Value from_json(const nlohmann::ordered_json& j, bool from_data) {
  auto str = [&](const std::string& s) {
    Str r;
    r.append_uniform(s, from_data);
    return r;
  };
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return Value::none();
    case nlohmann::ordered_json::value_t::boolean:
      return Value::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
      return Value::integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const auto u = j.get<uint64_t>();
      return u > uint64_t{INT64_MAX} ? Value::floating(double(u)) : Value::integer(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return Value::floating(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Value::string(str(j.get_ref<const std::string&>()));
    case nlohmann::ordered_json::value_t::array: {
      List l;
      for (const auto& x : j) l.push_back(from_json(x, from_data));
      return Value::list(std::move(l));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict d;
      for (const auto& [k, x] : j.items()) d.items.emplace_back(str(k), from_json(x, from_data));
      return Value::dict(std::move(d));
    }
    default:
      return Value{};
  }
}

}  // namespace fragua::tokenize::jinja
