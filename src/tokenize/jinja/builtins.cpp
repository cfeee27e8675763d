// SPDX-License-Identifier: Apache-2.0
// Filters and tests after Jinja2 3.1 (jinja2/filters.py, jinja2/tests.py), methods after
// Python's str/list/dict, globals after transformers' chat_template_utils (raise_exception,
// strftime_now) and Jinja2's sandbox (range bounded). Only what chat templates use.
#include "tokenize/jinja/builtins.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <ctime>

#include <utf8proc.h>

namespace fragua::tokenize::jinja {

void fail(std::string message) { throw Fail{ErrorCode::invalid_argument, std::move(message)}; }
void fail_limit(std::string message) { throw Fail{ErrorCode::resource_exhausted, std::move(message)}; }

void check_size(size_t bytes) {
  if (bytes > kMaxOutputBytes) fail_limit(fmt::format("a string longer than the limit of {} bytes", kMaxOutputBytes));
}

const Value* Args::get(size_t index, std::string_view name) const {
  if (index < pos.size()) return &pos[index];
  for (const auto& [k, v] : kw)
    if (k == name) return &v;
  return nullptr;
}

namespace {

const std::string& need_str(const Value& v, std::string_view what) {
  if (!v.is_string()) fail(fmt::format("{} expects a string, not '{}'", what, type_name(v)));
  return v.str();
}

Value uniform(std::string text, bool from_data) {
  Str s;
  s.append_uniform(text, from_data);
  return Value::string(std::move(s));
}

bool py_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }

// str.strip/lstrip/rstrip: whitespace, or the characters of `chars` (bytes here).
Value strip(const Value& v, const Value* chars, bool left, bool right) {
  const std::string& s = need_str(v, "strip");
  auto drop = [&](unsigned char c) {
    return chars && chars->is_string() ? chars->str().find(static_cast<char>(c)) != std::string::npos : py_space(c);
  };
  size_t b = 0, e = s.size();
  while (left && b < e && drop(static_cast<unsigned char>(s[b]))) ++b;
  while (right && e > b && drop(static_cast<unsigned char>(s[e - 1]))) --e;
  return Value::string(v.s->substr(b, e - b));
}

// Case mapping by code point (utf8proc), as Python's str.upper/lower/title do for one-to-one maps.
enum class Case { upper, lower, title_word, capitalize };
std::string map_case(std::string_view s, Case how) {
  std::string out;
  bool prev_cased = false;
  for (size_t k = 0; k < s.size();) {
    utf8proc_int32_t cp;
    const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + k),
                                    static_cast<utf8proc_ssize_t>(s.size() - k), &cp);
    if (n <= 0) {
      out += s[k++];
      prev_cased = false;
      continue;
    }
    const bool cased = utf8proc_tolower(cp) != cp || utf8proc_toupper(cp) != cp;
    bool up = how == Case::upper;
    if (how == Case::title_word) up = !prev_cased;
    if (how == Case::capitalize) up = k == 0;
    const utf8proc_int32_t m = up ? utf8proc_toupper(cp) : utf8proc_tolower(cp);
    utf8proc_uint8_t buf[4];
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(utf8proc_encode_char(m, buf)));
    prev_cased = cased;
    k += static_cast<size_t>(n);
  }
  return out;
}

Value case_filter(const Value& v, Case how) {
  Str s = to_str(v);
  return uniform(map_case(s.text, how), s.any_data());
}

// Jinja's title filter: words begin after runs of [-\s({\[<].
std::string jinja_title(std::string_view s) {
  std::string out;
  size_t k = 0;
  auto sep = [](char c) { return py_space(static_cast<unsigned char>(c)) || std::strchr("-({[<", c); };
  while (k < s.size()) {
    size_t e = k;
    if (sep(s[k])) {
      while (e < s.size() && sep(s[e])) ++e;
      out.append(s.substr(k, e - k));
    } else {
      while (e < s.size() && !sep(s[e])) ++e;
      out += map_case(s.substr(k, e - k), Case::capitalize);
    }
    k = e;
  }
  return out;
}

Value split(const Value& v, const Value* sep, const Value* maxsplit) {
  const std::string& s = need_str(v, "split");
  int64_t left = maxsplit && is_int(*maxsplit) ? inum(*maxsplit) : -1;
  List parts;
  if (!sep || sep->kind == Value::Kind::none) {
    size_t k = 0;
    for (;;) {
      while (k < s.size() && py_space(static_cast<unsigned char>(s[k]))) ++k;
      if (k >= s.size()) break;
      size_t e = k;
      if (left == 0) {
        e = s.size();
        while (e > k && py_space(static_cast<unsigned char>(s[e - 1]))) --e;
        parts.push_back(Value::string(v.s->substr(k, e - k)));
        break;
      }
      while (e < s.size() && !py_space(static_cast<unsigned char>(s[e]))) ++e;
      parts.push_back(Value::string(v.s->substr(k, e - k)));
      if (left > 0) --left;
      k = e;
    }
    return Value::list(std::move(parts));
  }
  const std::string& d = need_str(*sep, "split's separator");
  if (d.empty()) fail("split: empty separator");
  size_t k = 0;
  for (size_t at; left != 0 && (at = s.find(d, k)) != std::string::npos; k = at + d.size()) {
    if (parts.size() >= kMaxItems) fail_limit(fmt::format("a list longer than the limit of {} items", kMaxItems));
    parts.push_back(Value::string(v.s->substr(k, at - k)));
    if (left > 0) --left;
  }
  parts.push_back(Value::string(v.s->substr(k, std::string::npos)));
  return Value::list(std::move(parts));
}

Value replace(const Value& v, const Value& from, const Value& to, const Value* count) {
  const std::string& s = need_str(v, "replace");
  const std::string& a = need_str(from, "replace");
  const std::string& b = need_str(to, "replace");
  int64_t left = count && is_int(*count) ? inum(*count) : -1;
  std::string out;
  if (a.empty()) {  // Python inserts `b` between characters and at both ends
    for (size_t k = 0; k <= s.size(); ++k) {
      if (left != 0 && (k == s.size() || (static_cast<unsigned char>(s[k]) & 0xC0) != 0x80)) {
        out += b;
        if (left > 0) --left;
      }
      if (k < s.size()) out += s[k];
      check_size(out.size());
    }
  } else {
    size_t k = 0;
    for (size_t at; left != 0 && (at = s.find(a, k)) != std::string::npos; k = at + a.size()) {
      out.append(s, k, at - k);
      out += b;
      check_size(out.size());
      if (left > 0) --left;
    }
    out.append(s, k);
  }
  check_size(out.size());
  return uniform(std::move(out), v.s->any_data() || from.s->any_data() || to.s->any_data());
}

bool starts_or_ends(const Value& v, const Value& what, bool start) {
  const std::string& s = need_str(v, start ? "startswith" : "endswith");
  auto one = [&](const Value& x) {
    const std::string& p = need_str(x, start ? "startswith" : "endswith");
    return p.size() <= s.size() &&
           (start ? s.compare(0, p.size(), p) : s.compare(s.size() - p.size(), p.size(), p)) == 0;
  };
  if (what.kind == Value::Kind::list) return std::any_of(what.l->begin(), what.l->end(), one);
  return one(what);
}

// str.format with {}, {0} and {name} fields (no format specs).
Value format(const Value& v, const Args& a) {
  const std::string& s = need_str(v, "format");
  Str out;
  size_t auto_index = 0;
  for (size_t k = 0; k < s.size(); ++k) {
    if ((s[k] == '{' || s[k] == '}') && k + 1 < s.size() && s[k + 1] == s[k]) {
      out.append_markup(std::string_view(&s[k++], 1));
      continue;
    }
    if (s[k] != '{') {
      out.append_uniform(std::string_view(&s[k], 1), v.s->data.empty() ? false : v.s->data[k] == '\1');
      continue;
    }
    const size_t e = s.find('}', k);
    if (e == std::string::npos) fail("format: a '{' is not closed");
    const std::string field = s.substr(k + 1, e - k - 1);
    const Value* arg = nullptr;
    if (field.empty())
      arg = auto_index < a.pos.size() ? &a.pos[auto_index++] : nullptr;
    else if (std::all_of(field.begin(), field.end(), [](char c) { return c >= '0' && c <= '9'; }))
      arg = field.size() < 6 ? a.get(std::stoul(field), "") : nullptr;
    else
      arg = a.get(SIZE_MAX, field);
    if (!arg) fail(fmt::format("format: no argument for field '{{{}}}'", field));
    out.append(to_str(*arg));
    check_size(out.text.size());
    k = e;
  }
  return Value::string(std::move(out));
}

Value join(const Value& v, const Value* sep, const Value* attribute) {
  Str out;
  const List items = iterate(v);
  Str d = sep ? to_str(*sep) : Str{};
  for (size_t k = 0; k < items.size(); ++k) {
    if (k) out.append(d);
    Value x = items[k];
    if (attribute && x.is_mapping()) {
      const Value* f = x.d->find(to_str(*attribute).text);
      x = f ? *f : Value{};
    }
    out.append(to_str(x));
    check_size(out.text.size());
  }
  return Value::string(std::move(out));
}

// Jinja's attribute lookup for selectattr/map/sort: "a.b" walks dicts.
Value attribute_of(const Value& v, const std::string& path) {
  Value cur = v;
  size_t k = 0;
  while (k <= path.size()) {
    const size_t e = std::min(path.find('.', k), path.size());
    const std::string key = path.substr(k, e - k);
    if (!cur.is_mapping()) return Value{};
    const Value* f = cur.d->find(key);
    cur = f ? *f : Value{};
    k = e + 1;
  }
  return cur;
}

Args tail(const Args& a, size_t from) {
  Args r;
  if (from < a.pos.size()) r.pos.assign(a.pos.begin() + static_cast<std::ptrdiff_t>(from), a.pos.end());
  return r;
}

Value select(const Value& v, const Args& a, bool by_attr, bool keep) {
  List out;
  const size_t t = by_attr ? 1 : 0;
  std::string attr;
  if (by_attr) {
    if (a.pos.empty()) fail("selectattr/rejectattr need an attribute name");
    attr = to_str(a.pos[0]).text;
  }
  for (const Value& x : iterate(v)) {
    const Value subject = by_attr ? attribute_of(x, attr) : x;
    const bool ok =
        a.pos.size() > t ? apply_test(need_str(a.pos[t], "the test name"), subject, tail(a, t + 1)) : truthy(subject);
    if (ok == keep) out.push_back(x);
  }
  return Value::list(std::move(out));
}

Value map(const Value& v, const Args& a) {
  List out;
  const Value* attr = a.get(SIZE_MAX, "attribute");
  const Value* dflt = a.get(SIZE_MAX, "default");
  for (const Value& x : iterate(v)) {
    if (attr) {
      Value y = attribute_of(x, to_str(*attr).text);
      out.push_back(y.is_undefined() && dflt ? *dflt : y);
    } else {
      if (a.pos.empty()) fail("map needs a filter name or attribute=");
      out.push_back(apply_filter(need_str(a.pos[0], "map's filter name"), x, tail(a, 1)));
    }
  }
  return Value::list(std::move(out));
}

Value indent(const Value& v, const Args& a) {
  const Str s = to_str(v);
  const Value* w = a.get(0, "width");
  const std::string pad =
      w && w->is_string()
          ? w->str()
          : std::string(w && is_int(*w) ? size_t(std::max<int64_t>(0, std::min<int64_t>(inum(*w), 1000))) : 4, ' ');
  const Value* first = a.get(1, "first");
  const Value* blank = a.get(2, "blank");
  std::vector<std::string> lines;
  const std::string text = s.text + "\n";  // Jinja's own quirk before splitlines()
  for (size_t k = 0, e; (e = text.find('\n', k)) != std::string::npos; k = e + 1)
    lines.push_back(text.substr(k, e - k));
  std::string out = lines[0];
  for (size_t k = 1; k < lines.size(); ++k) {
    out += "\n";
    if (!lines[k].empty() || (blank && truthy(*blank))) out += pad;
    out += lines[k];
    check_size(out.size());
  }
  if (first && truthy(*first)) out = pad + out;
  return uniform(std::move(out), s.any_data());
}

Value to_int(const Value& v, const Value* dflt) {
  const Value d = dflt ? *dflt : Value::integer(0);
  if (is_int(v)) return Value::integer(inum(v));
  if (v.kind == Value::Kind::floating) {
    if (!std::isfinite(v.f) || std::fabs(v.f) >= 9.2e18) return d;
    return Value::integer(static_cast<int64_t>(v.f));
  }
  if (!v.is_string()) return d;
  std::string s = strip(v, nullptr, true, true).str();
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  size_t used = 0;
  try {
    const long long i = std::stoll(s, &used, 10);
    if (used == s.size()) return Value::integer(i);
    const double f = std::stod(s, &used);
    if (used == s.size() && std::isfinite(f) && std::fabs(f) < 9.2e18) return Value::integer(static_cast<int64_t>(f));
  } catch (const std::exception&) {}
  return d;
}

Value to_float(const Value& v, const Value* dflt) {
  if (v.is_number()) return Value::floating(num(v));
  if (v.is_string()) {
    const std::string s = strip(v, nullptr, true, true).str();
    size_t used = 0;
    try {
      const double f = std::stod(s, &used);
      if (used == s.size() && !s.empty()) return Value::floating(f);
    } catch (const std::exception&) {}
  }
  return dflt ? *dflt : Value::floating(0);
}

Value round_filter(const Value& v, const Args& a) {
  const Value* p = a.get(0, "precision");
  const Value* m = a.get(1, "method");
  const int64_t prec = p && is_int(*p) ? std::clamp<int64_t>(inum(*p), -300, 300) : 0;
  const std::string method = m ? to_str(*m).text : "common";
  if (!v.is_number()) fail(fmt::format("round expects a number, not '{}'", type_name(v)));
  const double scale = std::pow(10.0, static_cast<double>(prec)), x = num(v) * scale;
  double r;
  if (method == "common")
    r = std::nearbyint(x);  // Python's round(): halves to even
  else if (method == "ceil")
    r = std::ceil(x);
  else if (method == "floor")
    r = std::floor(x);
  else
    fail("round: method must be common, ceil or floor");
  if (is_int(v) && method == "common" && prec >= 0) return Value::integer(inum(v));
  return Value::floating(r / scale);
}

Value sort(const Value& v, const Args& a) {
  List items = iterate(v);
  const Value* rev = a.get(0, "reverse");
  const Value* cs = a.get(1, "case_sensitive");
  const Value* attr = a.get(2, "attribute");
  auto key = [&](const Value& x) {
    Value k = attr ? attribute_of(x, to_str(*attr).text) : x;
    if (k.is_string() && !(cs && truthy(*cs))) k = Value::markup(map_case(k.str(), Case::lower));
    return k;
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) { return less(key(x), key(y)); });
  if (rev && truthy(*rev)) std::reverse(items.begin(), items.end());
  return Value::list(std::move(items));
}

Value html_escape(const Value& v) {
  const Str s = to_str(v);
  std::string out;
  for (char c : s.text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  check_size(out.size());
  return uniform(std::move(out), s.any_data());
}

}  // namespace

List iterate(const Value& v) {
  switch (v.kind) {
    case Value::Kind::list:
      return *v.l;
    case Value::Kind::dict:
    case Value::Kind::ns: {
      List keys;
      for (const auto& [k, x] : v.d->items) keys.push_back(Value::string(k));
      return keys;
    }
    case Value::Kind::string: {
      List chars;
      const std::string& s = v.str();
      for (size_t k = 0; k < s.size();) {
        size_t e = k + 1;
        while (e < s.size() && (static_cast<unsigned char>(s[e]) & 0xC0) == 0x80) ++e;
        if (chars.size() >= kMaxItems)
          fail_limit(fmt::format("iterating a string of more than the limit of {} characters", kMaxItems));
        chars.push_back(Value::string(v.s->substr(k, e - k)));
        k = e;
      }
      return chars;
    }
    case Value::Kind::undefined:
      return {};
    default:
      fail(fmt::format("'{}' object is not iterable", type_name(v)));
  }
}

int64_t length(const Value& v) {
  switch (v.kind) {
    case Value::Kind::string:
      return std::count_if(v.str().begin(), v.str().end(),
                           [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
    case Value::Kind::list:
      return static_cast<int64_t>(v.l->size());
    case Value::Kind::dict:
    case Value::Kind::ns:
      return static_cast<int64_t>(v.d->items.size());
    case Value::Kind::undefined:
      return 0;
    default:
      fail(fmt::format("object of type '{}' has no len()", type_name(v)));
  }
}

bool less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (is_int(a) && is_int(b)) return inum(a) < inum(b);
    return num(a) < num(b);
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str();
  if (a.kind == Value::Kind::list && b.kind == Value::Kind::list) {
    for (size_t k = 0; k < a.l->size() && k < b.l->size(); ++k) {
      if (less((*a.l)[k], (*b.l)[k])) return true;
      if (less((*b.l)[k], (*a.l)[k])) return false;
    }
    return a.l->size() < b.l->size();
  }
  fail(fmt::format("'<' is not supported between '{}' and '{}'", type_name(a), type_name(b)));
}

Value apply_filter(std::string_view name, const Value& v, const Args& a) {
  if (name == "trim") return strip(Value::string(to_str(v)), a.get(0, "chars"), true, true);
  if (name == "tojson") {
    const Value* ind = a.get(0, "indent");
    const int indent = ind && is_int(*ind) ? static_cast<int>(std::clamp<int64_t>(inum(*ind), 0, 64)) : -1;
    auto j = to_json(v, indent);
    if (!j.ok()) throw Fail{j.error().code(), j.error().message()};
    return uniform(std::move(*j), any_data(v));
  }
  if (name == "length" || name == "count") return Value::integer(length(v));
  if (name == "upper") return case_filter(v, Case::upper);
  if (name == "lower") return case_filter(v, Case::lower);
  if (name == "capitalize") return case_filter(v, Case::capitalize);
  if (name == "title") {
    Str s = to_str(v);
    return uniform(jinja_title(s.text), s.any_data());
  }
  if (name == "default" || name == "d") {
    const Value* b = a.get(1, "boolean");
    const bool use = v.is_undefined() || (b && truthy(*b) && !truthy(v));
    const Value* d = a.get(0, "default_value");
    return use ? (d ? *d : Value::markup("")) : v;
  }
  if (name == "join") return join(v, a.get(0, "d"), a.get(1, "attribute"));
  if (name == "replace") {
    if (a.pos.size() < 2) fail("replace needs two arguments");
    return replace(Value::string(to_str(v)), a.pos[0], a.pos[1], a.get(2, "count"));
  }
  if (name == "first" || name == "last") {
    List items = iterate(v);
    if (items.empty()) return Value{};
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") return Value::list(iterate(v));
  if (name == "items") {
    if (v.is_undefined()) return Value::list();
    if (!v.is_mapping()) fail(fmt::format("items expects a mapping, not '{}'", type_name(v)));
    List out;
    for (const auto& [k, x] : v.d->items) out.push_back(Value::list({Value::string(k), x}));
    return Value::list(std::move(out));
  }
  if (name == "selectattr" || name == "rejectattr") return select(v, a, true, name == "selectattr");
  if (name == "select" || name == "reject") return select(v, a, false, name == "select");
  if (name == "map") return map(v, a);
  if (name == "string") return Value::string(to_str(v));
  if (name == "int") return to_int(v, a.get(0, "default"));
  if (name == "float") return to_float(v, a.get(0, "default"));
  if (name == "safe") return v;
  if (name == "indent") return indent(v, a);
  if (name == "round") return round_filter(v, a);
  if (name == "abs") {
    if (!v.is_number()) fail(fmt::format("abs expects a number, not '{}'", type_name(v)));
    if (is_int(v)) {
      if (inum(v) == INT64_MIN) fail("integer overflow (the sandbox has 64-bit integers)");
      return Value::integer(std::abs(inum(v)));
    }
    return Value::floating(std::fabs(v.f));
  }
  if (name == "reverse") {
    if (v.is_string()) {
      List chars = iterate(v);
      Str out;
      for (size_t k = chars.size(); k-- > 0;) out.append(*chars[k].s);
      return Value::string(std::move(out));
    }
    List items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "sort") return sort(v, a);
  if (name == "unique") {
    List out;
    for (const Value& x : iterate(v))
      if (std::none_of(out.begin(), out.end(), [&](const Value& y) { return equal(x, y); })) out.push_back(x);
    return Value::list(std::move(out));
  }
  if (name == "escape" || name == "e") return html_escape(v);
  if (name == "wordcount") return Value::integer(length(split(Value::string(to_str(v)), nullptr, nullptr)));
  fail(fmt::format("unknown filter '{}'", name));
}

bool apply_test(std::string_view name, const Value& v, const Args& a) {
  using K = Value::Kind;
  auto arg = [&]() -> const Value& {
    if (a.pos.empty()) fail(fmt::format("test '{}' needs an argument", name));
    return a.pos[0];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.kind == K::none;
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.kind == K::dict;
  if (name == "iterable") return v.kind == K::list || v.is_mapping() || v.is_string() || v.is_undefined();
  if (name == "sequence") return v.kind == K::list || v.kind == K::dict || v.is_string() || v.is_undefined();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.kind == K::integer;
  if (name == "float") return v.kind == K::floating;
  if (name == "boolean") return v.kind == K::boolean;
  if (name == "true") return v.kind == K::boolean && v.b;
  if (name == "false") return v.kind == K::boolean && !v.b;
  if (name == "callable") return v.kind == K::callable;
  if (name == "equalto" || name == "eq" || name == "==" || name == "sameas") return equal(v, arg());
  if (name == "ne" || name == "!=") return !equal(v, arg());
  if (name == "lt" || name == "lessthan" || name == "<") return less(v, arg());
  if (name == "gt" || name == "greaterthan" || name == ">") return less(arg(), v);
  if (name == "le" || name == "<=") return !less(arg(), v);
  if (name == "ge" || name == ">=") return !less(v, arg());
  if (name == "in") {
    const Value& c = arg();
    if (c.is_string()) return v.is_string() && c.str().find(v.str()) != std::string::npos;
    if (c.is_mapping()) return v.is_string() && c.d->find(v.str());
    for (const Value& x : iterate(c))
      if (equal(x, v)) return true;
    return false;
  }
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (!is_int(v)) fail(fmt::format("test '{}' expects an integer, not '{}'", name, type_name(v)));
    if (name != "divisibleby") return (inum(v) % 2 != 0) == (name == "odd");
    const Value& d = arg();
    if (!is_int(d) || inum(d) == 0) fail("divisibleby needs a non-zero integer");
    return inum(d) == -1 || inum(v) % inum(d) == 0;
  }
  if (name == "lower" || name == "upper") {
    const Str s = to_str(v);
    return map_case(s.text, name == "lower" ? Case::lower : Case::upper) == s.text;
  }
  fail(fmt::format("unknown test '{}'", name));
}

bool call_method(const Value& obj, std::string_view name, const Args& a, Value* out) {
  if (obj.is_string()) {
    if (name == "strip" || name == "lstrip" || name == "rstrip")
      *out = strip(obj, a.get(0, "chars"), name != "rstrip", name != "lstrip");
    else if (name == "split")
      *out = split(obj, a.get(0, "sep"), a.get(1, "maxsplit"));
    else if (name == "startswith" || name == "endswith") {
      if (a.pos.empty()) fail(fmt::format("{} needs an argument", name));
      *out = Value::boolean(starts_or_ends(obj, a.pos[0], name == "startswith"));
    } else if (name == "upper")
      *out = case_filter(obj, Case::upper);
    else if (name == "lower")
      *out = case_filter(obj, Case::lower);
    else if (name == "title")
      *out = case_filter(obj, Case::title_word);
    else if (name == "capitalize")
      *out = case_filter(obj, Case::capitalize);
    else if (name == "replace") {
      if (a.pos.size() < 2) fail("replace needs two arguments");
      *out = replace(obj, a.pos[0], a.pos[1], a.get(2, "count"));
    } else if (name == "format")
      *out = format(obj, a);
    else if (name == "join")
      *out = a.pos.empty() ? (fail("join needs an argument"), Value{}) : join(a.pos[0], &obj, nullptr);
    else if (name == "find" || name == "count") {
      const std::string& sub = need_str(a.pos.empty() ? Value{} : a.pos[0], name);
      if (name == "find") {
        const size_t at = obj.str().find(sub);
        *out = Value::integer(at == std::string::npos
                                  ? -1
                                  : static_cast<int64_t>(iterate(Value::markup(obj.str().substr(0, at))).size()));
      } else {
        int64_t n = 0;
        if (sub.empty()) {
          n = length(obj) + 1;
        } else {
          for (size_t k = 0; (k = obj.str().find(sub, k)) != std::string::npos; k += sub.size()) ++n;
        }
        *out = Value::integer(n);
      }
    } else {
      return false;
    }
    return true;
  }
  if (obj.kind == Value::Kind::list && name == "append") {
    if (a.pos.size() != 1) fail("append takes one argument");
    if (obj.l->size() >= kMaxItems) fail_limit(fmt::format("a list longer than the limit of {} items", kMaxItems));
    obj.l->push_back(a.pos[0]);
    *out = Value::none();
    return true;
  }
  if (obj.kind == Value::Kind::dict) {
    if (name == "items") {
      *out = apply_filter("items", obj, {});
    } else if (name == "keys") {
      *out = Value::list(iterate(obj));
    } else if (name == "values") {
      List vals;
      for (const auto& [k, x] : obj.d->items) vals.push_back(x);
      *out = Value::list(std::move(vals));
    } else if (name == "get") {
      if (a.pos.empty()) fail("get needs a key");
      const Value* f = a.pos[0].is_string() ? obj.d->find(a.pos[0].str()) : nullptr;
      *out = f ? *f : a.pos.size() > 1 ? a.pos[1] : Value::none();
    } else {
      return false;
    }
    return true;
  }
  return false;
}

bool is_global(std::string_view name) {
  return name == "range" || name == "namespace" || name == "dict" || name == "raise_exception" ||
         name == "strftime_now";
}

Value call_global(std::string_view name, const Args& a) {
  if (name == "range") {
    for (const Value& v : a.pos)
      if (!is_int(v)) fail("range expects integers");
    if (a.pos.empty() || a.pos.size() > 3) fail("range takes 1 to 3 arguments");
    const int64_t start = a.pos.size() > 1 ? inum(a.pos[0]) : 0;
    const int64_t stop = a.pos.size() > 1 ? inum(a.pos[1]) : inum(a.pos[0]);
    const int64_t step = a.pos.size() > 2 ? inum(a.pos[2]) : 1;
    if (step == 0) fail("range step must not be zero");
    const double n = std::ceil((static_cast<double>(stop) - static_cast<double>(start)) / static_cast<double>(step));
    if (n > static_cast<double>(kMaxItems))
      fail_limit(fmt::format("range of more than the limit of {} items", kMaxItems));
    List out;
    for (int64_t k = 0; k < static_cast<int64_t>(n); ++k) out.push_back(Value::integer(start + k * step));
    return Value::list(std::move(out));
  }
  if (name == "namespace" || name == "dict") {
    Value r = Value::dict();
    if (name == "namespace") r.kind = Value::Kind::ns;
    for (const Value& p : a.pos)
      if (p.is_mapping())
        for (const auto& [k, v] : p.d->items) r.d->set(k, v);
    for (const auto& [k, v] : a.kw) r.d->set(Str{k, {}}, v);
    return r;
  }
  if (name == "raise_exception") {
    const std::string msg = a.pos.empty() ? std::string() : to_str(a.pos[0]).text;
    fail(fmt::format("the template raised an exception: {}", msg));
  }
  if (name == "strftime_now") {
    const std::string f = a.pos.empty() ? std::string() : to_str(a.pos[0]).text;
    if (f.size() > 256) fail("strftime_now: format longer than 256 bytes");
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[1024];
    const size_t n = f.empty() ? 0 : std::strftime(buf, sizeof buf, f.c_str(), &tm);
    return Value::markup(std::string(buf, n));
  }
  fail(fmt::format("unknown function '{}'", name));
}

}  // namespace fragua::tokenize::jinja
