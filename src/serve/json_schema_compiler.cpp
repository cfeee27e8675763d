// SPDX-License-Identifier: Apache-2.0
// JSON schema -> the node graph of serve/json_schema_node.h. The keywords are those of JSON
// Schema 2020-12 (https://json-schema.org/draft/2020-12/json-schema-validation) that constrain
// structure; every other keyword is refused by name, so that a schema never means less here than
// it says.
#include <algorithm>
#include <array>
#include <map>
#include <set>

#include <fmt/format.h>

#include "serve/json_schema_node.h"

namespace fragua::serve {
namespace {

using nlohmann::json;

// Keywords that say nothing about which documents are valid.
constexpr std::array kAnnotations = {"title", "description", "default", "examples", "$schema", "$id",
                                     "$comment", "strict", "deprecated", "readOnly", "writeOnly"};
constexpr std::array kKeywords = {"type",          "properties", "required",  "additionalProperties",
                                  "items",         "minItems",   "maxItems",  "minLength",
                                  "maxLength",     "enum",       "const",     "anyOf",
                                  "oneOf",         "$ref",       "$defs",     "definitions"};

bool is_one_of(std::string_view k, const auto& list) {
  return std::find(list.begin(), list.end(), k) != list.end();
}

std::string escaped_name(const std::string& name) {
  const std::string d = json(name).dump(-1, ' ', false, json::error_handler_t::replace);
  return d.substr(1, d.size() - 2);
}

std::string canonical(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

bool literal_has_type(const json& v, std::string_view t) {
  if (t == "object") return v.is_object();
  if (t == "array") return v.is_array();
  if (t == "string") return v.is_string();
  if (t == "number") return v.is_number();
  if (t == "integer") return v.is_number_integer() || v.is_number_unsigned();
  if (t == "boolean") return v.is_boolean();
  if (t == "null") return v.is_null();
  return false;
}

class Compiler {
 public:
  Compiler(CompiledSchema& out, std::string where) : out_(out), where_(std::move(where)) {}

  Result<int32_t> compile_root(const json& doc, const std::string& prefix) {
    doc_ = &doc;
    prefix_ = prefix;
    refs_.clear();
    return compile(doc, "", 0);
  }

  int32_t any() {
    if (any_ >= 0) return any_;
    any_ = add(SchemaKind::any_of);
    const int32_t obj = add(SchemaKind::object), arr = add(SchemaKind::array), str = add(SchemaKind::string),
                  num = add(SchemaKind::number), lit = add(SchemaKind::literals);
    out_.nodes[static_cast<size_t>(obj)].additional = any_;
    out_.nodes[static_cast<size_t>(arr)].items = any_;
    out_.nodes[static_cast<size_t>(lit)].literals = {"false", "null", "true"};
    out_.nodes[static_cast<size_t>(any_)].alts = {obj, arr, str, num, lit};
    return any_;
  }

  int32_t any_object() {
    const int32_t a = any();
    const int32_t obj = add(SchemaKind::object);
    out_.nodes[static_cast<size_t>(obj)].additional = a;
    return obj;
  }

  int32_t add(SchemaKind kind) {
    out_.nodes.emplace_back();
    out_.nodes.back().kind = kind;
    return static_cast<int32_t>(out_.nodes.size() - 1);
  }

  SchemaNode& node(int32_t i) { return out_.nodes[static_cast<size_t>(i)]; }

  template <typename... Args>
  Error bad(const std::string& ptr, fmt::format_string<Args...> f, Args&&... args) {
    return Error(ErrorCode::invalid_argument,
                 fmt::format("{} at '#{}{}': {}", where_, prefix_, ptr, fmt::format(f, std::forward<Args>(args)...)));
  }
  template <typename... Args>
  Error unsupported(const std::string& ptr, fmt::format_string<Args...> f, Args&&... args) {
    return Error(ErrorCode::unsupported,
                 fmt::format("{} at '#{}{}': {}", where_, prefix_, ptr, fmt::format(f, std::forward<Args>(args)...)));
  }

  // Checks that the graph has nodes within limits and no cycle of anyOf/$ref edges (a schema
  // that refers to itself without nesting would make the recogniser recurse forever), and fills
  // each node's first bytes.
  Status finish() {
    if (out_.nodes.size() > static_cast<size_t>(kMaxSchemaNodes))
      return Error(ErrorCode::unsupported,
                   fmt::format("{}: the schema compiles to more than {} nodes", where_, kMaxSchemaNodes));
    std::vector<uint8_t> mark(out_.nodes.size(), 0);  // 0 new, 1 on the path, 2 done
    for (size_t i = 0; i < out_.nodes.size(); ++i)
      if (!first_bytes(static_cast<int32_t>(i), mark))
        return Error(ErrorCode::invalid_argument,
                     fmt::format("{}: the schema refers to itself through $ref/anyOf without nesting a value", where_));
    return {};
  }

 private:
  bool first_bytes(int32_t i, std::vector<uint8_t>& mark) {
    auto& m = mark[static_cast<size_t>(i)];
    if (m == 2) return true;
    if (m == 1) return false;
    m = 1;
    SchemaNode& n = node(i);
    std::bitset<256> f;
    switch (n.kind) {
      case SchemaKind::object:
        f.set('{');
        break;
      case SchemaKind::array:
        f.set('[');
        break;
      case SchemaKind::string:
        f.set('"');
        break;
      case SchemaKind::number:
      case SchemaKind::integer:
        f.set('-');
        for (int c = '0'; c <= '9'; ++c) f.set(static_cast<size_t>(c));
        break;
      case SchemaKind::literals:
        for (const auto& l : n.literals) f.set(static_cast<uint8_t>(l[0]));
        break;
      case SchemaKind::any_of:
        for (int32_t a : n.alts) {
          if (!first_bytes(a, mark)) return false;
          f |= node(a).first;
        }
        break;
    }
    node(i).first = f;
    m = 2;
    return true;
  }

  Result<int32_t> compile(const json& s, const std::string& ptr, int depth) {
    if (depth > kMaxSchemaDepth) return unsupported(ptr, "the schema nests deeper than {} levels", kMaxSchemaDepth);
    if (out_.nodes.size() > static_cast<size_t>(kMaxSchemaNodes))
      return unsupported(ptr, "the schema compiles to more than {} nodes", kMaxSchemaNodes);
    if (s.is_boolean()) {
      if (s.get<bool>()) return any();
      return unsupported(ptr, "the schema 'false' (no value is valid) cannot be generated");
    }
    if (!s.is_object()) return bad(ptr, "a schema must be an object or a boolean, found {}", s.type_name());
    for (const auto& [k, v] : s.items())
      if (!is_one_of(k, kAnnotations) && !is_one_of(k, kKeywords))
        return unsupported(ptr, "the schema keyword '{}' is not supported (supported: {})", k,
                           fmt::join(kKeywords, ", "));
    if (s.contains("$ref")) return compile_ref(s, ptr, depth);
    if (s.contains("anyOf") || s.contains("oneOf")) return compile_any_of(s, ptr, depth);
    if (s.contains("enum") || s.contains("const")) return compile_literals(s, ptr);

    std::vector<std::string> types;
    if (s.contains("type")) {
      const json& t = s["type"];
      if (t.is_string()) {
        types.push_back(t.get<std::string>());
      } else if (t.is_array() && !t.empty()) {
        for (const auto& x : t) {
          if (!x.is_string()) return bad(ptr + "/type", "'type' must be a string or a list of strings");
          types.push_back(x.get<std::string>());
        }
      } else {
        return bad(ptr + "/type", "'type' must be a string or a non-empty list of strings");
      }
    } else if (s.contains("properties") || s.contains("required") || s.contains("additionalProperties")) {
      types = {"object"};
    } else if (s.contains("items") || s.contains("minItems") || s.contains("maxItems")) {
      types = {"array"};
    } else if (s.contains("minLength") || s.contains("maxLength")) {
      types = {"string"};
    } else {
      return any();
    }
    std::vector<int32_t> alts;
    for (const auto& t : types) alts.push_back(FRAGUA_TRY(compile_type(s, t, ptr, depth)));
    if (alts.size() == 1) return alts[0];
    const int32_t a = add(SchemaKind::any_of);
    node(a).alts = std::move(alts);
    return a;
  }

  Result<uint32_t> count(const json& s, const char* key, const std::string& ptr) {
    const json& v = s[key];
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      return bad(ptr + "/" + key, "'{}' must be a non-negative integer", key);
    return static_cast<uint32_t>(std::min<uint64_t>(v.get<uint64_t>(), UINT32_MAX));
  }

  Result<int32_t> compile_type(const json& s, const std::string& t, const std::string& ptr, int depth) {
    if (t == "object") return compile_object(s, ptr, depth);
    if (t == "array") {
      const int32_t n = add(SchemaKind::array);
      node(n).items = s.contains("items") ? -1 : any();
      if (s.contains("items")) {
        if (s["items"].is_array())
          return unsupported(ptr + "/items", "'items' as a list (tuple validation) is not supported");
        const int32_t items = FRAGUA_TRY(compile(s["items"], ptr + "/items", depth + 1));
        node(n).items = items;
      }
      if (s.contains("minItems")) node(n).min_items = FRAGUA_TRY(count(s, "minItems", ptr));
      if (s.contains("maxItems")) node(n).max_items = FRAGUA_TRY(count(s, "maxItems", ptr));
      if (node(n).min_items > node(n).max_items)
        return bad(ptr, "minItems {} is above maxItems {}: no array is valid", node(n).min_items, node(n).max_items);
      return n;
    }
    if (t == "string") {
      const int32_t n = add(SchemaKind::string);
      if (s.contains("minLength")) node(n).min_len = FRAGUA_TRY(count(s, "minLength", ptr));
      if (s.contains("maxLength")) node(n).max_len = FRAGUA_TRY(count(s, "maxLength", ptr));
      if (node(n).min_len > node(n).max_len)
        return bad(ptr, "minLength {} is above maxLength {}: no string is valid", node(n).min_len, node(n).max_len);
      return n;
    }
    if (t == "number") return add(SchemaKind::number);
    if (t == "integer") return add(SchemaKind::integer);
    if (t == "boolean" || t == "null") {
      const int32_t n = add(SchemaKind::literals);
      node(n).literals = t == "null" ? std::vector<std::string>{"null"} : std::vector<std::string>{"false", "true"};
      return n;
    }
    return bad(ptr + "/type", "unknown type '{}' (object, array, string, number, integer, boolean, null)", t);
  }

  Result<int32_t> compile_object(const json& s, const std::string& ptr, int depth) {
    std::vector<std::pair<std::string, int32_t>> props;  // escaped name, node
    if (s.contains("properties")) {
      const json& p = s["properties"];
      if (!p.is_object()) return bad(ptr + "/properties", "'properties' must be an object");
      for (const auto& [k, v] : p.items())
        props.emplace_back(escaped_name(k), FRAGUA_TRY(compile(v, ptr + "/properties/" + k, depth + 1)));
    }
    int32_t additional = any();
    if (s.contains("additionalProperties")) {
      const json& a = s["additionalProperties"];
      if (a.is_boolean() && !a.get<bool>())
        additional = -1;
      else
        additional = FRAGUA_TRY(compile(a, ptr + "/additionalProperties", depth + 1));
    }
    std::set<std::string> required;
    if (s.contains("required")) {
      const json& r = s["required"];
      if (!r.is_array()) return bad(ptr + "/required", "'required' must be a list of strings");
      for (const auto& x : r) {
        if (!x.is_string()) return bad(ptr + "/required", "'required' must be a list of strings");
        required.insert(escaped_name(x.get<std::string>()));
      }
    }
    for (const auto& name : required) {
      if (std::any_of(props.begin(), props.end(), [&](const auto& p) { return p.first == name; })) continue;
      if (additional < 0)
        return bad(ptr + "/required", "'{}' is required but not among 'properties', and additionalProperties is false",
                   name);
      props.emplace_back(name, additional);
    }
    if (props.size() > static_cast<size_t>(kMaxObjectProperties))
      return unsupported(ptr + "/properties", "more than {} properties in one object", kMaxObjectProperties);
    return add_object(std::move(props), required, additional, false);
  }

 public:
  // Props in declaration order.
  int32_t add_object(std::vector<std::pair<std::string, int32_t>> props, const std::set<std::string>& required,
                     int32_t additional, bool ordered) {
    std::vector<size_t> idx(props.size());
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return props[a].first < props[b].first; });
    const int32_t n = add(SchemaKind::object);
    SchemaNode& o = node(n);
    o.additional = additional;
    o.ordered = ordered;
    for (size_t j = 0; j < idx.size(); ++j) {
      o.names.push_back(props[idx[j]].first);
      o.prop_node.push_back(props[idx[j]].second);
      o.order.push_back(static_cast<uint8_t>(idx[j]));
      if (ordered || required.count(props[idx[j]].first)) o.required |= uint64_t{1} << j;
    }
    return n;
  }

 private:
  Result<int32_t> compile_literals(const json& s, const std::string& ptr) {
    std::vector<json> values;
    if (s.contains("enum")) {
      if (!s["enum"].is_array()) return bad(ptr + "/enum", "'enum' must be a list");
      for (const auto& v : s["enum"]) values.push_back(v);
      if (values.size() > static_cast<size_t>(kMaxEnumValues))
        return unsupported(ptr + "/enum", "more than {} enum values", kMaxEnumValues);
    }
    if (s.contains("const")) {
      const json c = s["const"];
      if (s.contains("enum")) {
        if (std::find(values.begin(), values.end(), c) == values.end()) values.clear();
        else values = {c};
      } else {
        values = {c};
      }
    }
    for (const auto& [k, v] : s.items())
      if (k != "enum" && k != "const" && k != "type" && !is_one_of(k, kAnnotations) && k != "$defs" &&
          k != "definitions")
        return unsupported(ptr + "/" + k, "'{}' beside 'enum'/'const' is not supported", k);
    if (s.contains("type")) {
      std::vector<std::string> types;
      if (s["type"].is_string()) types.push_back(s["type"].get<std::string>());
      else if (s["type"].is_array())
        for (const auto& t : s["type"])
          if (t.is_string()) types.push_back(t.get<std::string>());
      std::erase_if(values, [&](const json& v) {
        return std::none_of(types.begin(), types.end(), [&](const std::string& t) { return literal_has_type(v, t); });
      });
    }
    if (values.empty()) return bad(ptr, "'enum'/'const' allows no value (empty, or none of the given type)");
    const int32_t n = add(SchemaKind::literals);
    for (const auto& v : values) node(n).literals.push_back(canonical(v));
    auto& l = node(n).literals;
    std::sort(l.begin(), l.end());
    l.erase(std::unique(l.begin(), l.end()), l.end());
    return n;
  }

  Result<int32_t> compile_any_of(const json& s, const std::string& ptr, int depth) {
    if (s.contains("anyOf") && s.contains("oneOf"))
      return unsupported(ptr, "'anyOf' beside 'oneOf' is not supported");
    const char* key = s.contains("anyOf") ? "anyOf" : "oneOf";
    for (const auto& [k, v] : s.items())
      if (k != key && !is_one_of(k, kAnnotations) && k != "$defs" && k != "definitions")
        return unsupported(ptr + "/" + k, "'{}' beside '{}' is not supported (move it into each alternative)", k, key);
    const json& list = s[key];
    if (!list.is_array() || list.empty()) return bad(ptr + "/" + key, "'{}' must be a non-empty list", key);
    std::vector<int32_t> alts;
    for (size_t i = 0; i < list.size(); ++i)
      alts.push_back(FRAGUA_TRY(compile(list[i], fmt::format("{}/{}/{}", ptr, key, i), depth + 1)));
    const int32_t n = add(SchemaKind::any_of);
    node(n).alts = std::move(alts);
    return n;
  }

  // "#", "#/$defs/<name>" or "#/definitions/<name>" of the document being compiled; each target
  // is compiled once (a placeholder any_of node stands for it while it compiles, so recursion
  // closes on itself).
  Result<int32_t> compile_ref(const json& s, const std::string& ptr, int depth) {
    for (const auto& [k, v] : s.items())
      if (k != "$ref" && !is_one_of(k, kAnnotations) && k != "$defs" && k != "definitions")
        return unsupported(ptr + "/" + k, "'{}' beside '$ref' is not supported", k);
    if (!s["$ref"].is_string()) return bad(ptr + "/$ref", "'$ref' must be a string");
    const std::string ref = s["$ref"].get<std::string>();
    if (auto it = refs_.find(ref); it != refs_.end()) return it->second;
    const json* target = nullptr;
    if (ref == "#") {
      target = doc_;
    } else {
      for (const char* defs : {"#/$defs/", "#/definitions/"}) {
        const std::string p = defs;
        if (ref.rfind(p, 0) != 0) continue;
        std::string name = ref.substr(p.size());
        // JSON pointer escapes (RFC 6901): ~1 is '/', ~0 is '~'.
        std::string un;
        for (size_t i = 0; i < name.size(); ++i) {
          if (name[i] == '~' && i + 1 < name.size() && (name[i + 1] == '0' || name[i + 1] == '1')) {
            un += name[i + 1] == '0' ? '~' : '/';
            ++i;
          } else {
            un += name[i];
          }
        }
        const std::string section = p.substr(2, p.size() - 3);
        if (doc_->is_object() && doc_->contains(section) && (*doc_)[section].is_object() &&
            (*doc_)[section].contains(un))
          target = &(*doc_)[section][un];
        break;
      }
      if (!target && ref.rfind("#/$defs/", 0) != 0 && ref.rfind("#/definitions/", 0) != 0)
        return unsupported(ptr + "/$ref", "'$ref' '{}' is not supported (only '#', '#/$defs/...', '#/definitions/...')",
                           ref);
    }
    if (!target) return bad(ptr + "/$ref", "'$ref' '{}' names no definition of this schema", ref);
    const int32_t placeholder = add(SchemaKind::any_of);
    refs_[ref] = placeholder;
    const int32_t t = FRAGUA_TRY(compile(*target, ref.substr(1), depth + 1));
    node(placeholder).alts = {t};
    return placeholder;
  }

  CompiledSchema& out_;
  std::string where_, prefix_;
  const json* doc_ = nullptr;
  std::map<std::string, int32_t> refs_;
  int32_t any_ = -1;
};

}  // namespace

Result<std::shared_ptr<const CompiledSchema>> compile_json_schema(const nlohmann::json& schema,
                                                                  std::string_view where) {
  auto out = std::make_shared<CompiledSchema>();
  Compiler c(*out, std::string(where));
  out->root = FRAGUA_TRY(c.compile_root(schema, ""));
  FRAGUA_TRY(c.finish());
  return std::shared_ptr<const CompiledSchema>(std::move(out));
}

std::shared_ptr<const CompiledSchema> any_json_object_schema() {
  static const std::shared_ptr<const CompiledSchema> schema = [] {
    auto out = std::make_shared<CompiledSchema>();
    Compiler c(*out, "json_object");
    out->root = c.any_object();
    (void)c.finish();
    return std::shared_ptr<const CompiledSchema>(std::move(out));
  }();
  return schema;
}

Result<std::shared_ptr<const CompiledSchema>> compile_tool_call_schema(std::span<const ToolSchema> tools,
                                                                       std::string_view where) {
  if (tools.empty()) return Error(ErrorCode::invalid_argument, fmt::format("{}: no tool to call", where));
  auto out = std::make_shared<CompiledSchema>();
  Compiler c(*out, std::string(where));
  std::vector<int32_t> calls;
  for (size_t i = 0; i < tools.size(); ++i) {
    const int32_t args = tools[i].parameters.is_null()
                             ? c.any_object()
                             : FRAGUA_TRY(c.compile_root(tools[i].parameters, fmt::format("[{}].function.parameters", i)));
    const int32_t name = c.add(SchemaKind::literals);
    c.node(name).literals = {canonical(json(tools[i].name))};
    calls.push_back(c.add_object({{"name", name}, {"arguments", args}}, {}, -1, /*ordered=*/true));
  }
  if (calls.size() == 1) {
    out->root = calls[0];
  } else {
    out->root = c.add(SchemaKind::any_of);
    c.node(out->root).alts = std::move(calls);
  }
  FRAGUA_TRY(c.finish());
  return std::shared_ptr<const CompiledSchema>(std::move(out));
}

}  // namespace fragua::serve
