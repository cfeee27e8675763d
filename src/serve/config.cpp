// SPDX-License-Identifier: Apache-2.0
// serve.yaml: the server's options as a file; `fragua serve` flags override it.
#include <limits>

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "fragua/base/file.h"
#include "fragua/base/sha256.h"
#include "fragua/data/pii.h"
#include "fragua/serve/server.h"

namespace fragua::serve {
namespace {

// The value of `key` as T, or an error naming the file, the line and the key.
template <typename T>
Result<T> value(const YAML::Node& n, std::string_view origin, const std::string& key) {
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    return invalid_argument_error("{}: line {}: '{}' has the wrong type", origin, n.Mark().line + 1, key);
  }
}

template <typename T>
Result<T> ranged(const YAML::Node& n, std::string_view origin, const std::string& key, T lo, T hi) {
  const T v = FRAGUA_TRY(value<T>(n, origin, key));
  if (v < lo || v > hi)
    return invalid_argument_error("{}: line {}: '{}' is {}, outside [{}, {}]", origin, n.Mark().line + 1, key, v, lo,
                                  hi);
  return v;
}

// api_keys: a list whose items are keys, or mappings {key, id, rpm, tpm} (key required).
Status api_keys(const YAML::Node& list, std::string_view origin, ServerOptions& o) {
  o.api_keys.clear();
  o.key_policies.clear();
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node& item = list[i];
    const std::string where = fmt::format("api_keys[{}]", i);
    if (!item.IsMap()) {
      o.api_keys.push_back(FRAGUA_TRY(value<std::string>(item, origin, where)));
      continue;
    }
    ApiKeyPolicy p;
    for (const auto& kv : item) {
      const std::string field = FRAGUA_TRY(value<std::string>(kv.first, origin, where));
      const std::string name = where + "." + field;
      if (field == "key")
        p.key = FRAGUA_TRY(value<std::string>(kv.second, origin, name));
      else if (field == "id")
        p.id = FRAGUA_TRY(value<std::string>(kv.second, origin, name));
      else if (field == "rpm")
        p.rpm = FRAGUA_TRY(ranged<double>(kv.second, origin, name, 0.0, 1e9));
      else if (field == "tpm")
        p.tpm = FRAGUA_TRY(ranged<double>(kv.second, origin, name, 0.0, 1e12));
      else
        return invalid_argument_error("{}: line {}: unknown key '{}' in {} (expected key, id, rpm, tpm)", origin,
                                      kv.first.Mark().line + 1, field, where);
    }
    if (p.key.empty())
      return invalid_argument_error("{}: line {}: {} has no 'key'", origin, item.Mark().line + 1, where);
    o.api_keys.push_back(p.key);
    o.key_policies.push_back(std::move(p));
  }
  return {};
}

}  // namespace

Result<RedactMode> parse_redact_mode(std::string_view t) {
  if (t == "none") return RedactMode::none;
  if (t == "requests") return RedactMode::requests;
  if (t == "responses") return RedactMode::responses;
  if (t == "both") return RedactMode::both;
  return invalid_argument_error("redact '{}': expected none, requests, responses or both", t);
}

Result<uint32_t> parse_pii_kinds(std::string_view t) {
  if (t == "all") return (1u << data::kPiiKindCount) - 1;
  uint32_t kinds = 0;
  size_t pos = 0;
  while (pos <= t.size()) {
    size_t comma = t.find(',', pos);
    if (comma == std::string_view::npos) comma = t.size();
    const std::string_view name = t.substr(pos, comma - pos);
    int found = -1;
    for (int k = 0; k < data::kPiiKindCount; ++k)
      if (name == data::pii_kind_name(static_cast<data::PiiKind>(k))) found = k;
    if (found < 0) {
      std::string all;
      for (int k = 0; k < data::kPiiKindCount; ++k)
        all += fmt::format("{}{}", k ? ", " : "", data::pii_kind_name(static_cast<data::PiiKind>(k)));
      return invalid_argument_error("personal-data kind '{}' is not one of: {} (or all)", name, all);
    }
    kinds |= 1u << found;
    pos = comma + 1;
  }
  return kinds;
}

std::string api_key_id(std::string_view key) { return sha256_hex(key).substr(0, 8); }

Status parse_server_config(std::string_view yaml, std::string_view origin, ServerOptions& o) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return invalid_argument_error("{}: line {}: {}", origin, e.mark.line + 1, e.msg);
  }
  if (root.IsNull()) return {};
  if (!root.IsMap()) return invalid_argument_error("{}: expected a mapping of options", origin);
  for (const auto& kv : root) {
    const auto key_or = value<std::string>(kv.first, origin, "key");
    if (!key_or.ok()) return key_or.error();
    const std::string& key = *key_or;
    const YAML::Node& v = kv.second;
    if (key == "host") {
      o.host = FRAGUA_TRY(value<std::string>(v, origin, key));
    } else if (key == "port") {
      o.port = FRAGUA_TRY(ranged<int>(v, origin, key, 0, 65535));
    } else if (key == "parallel") {
      o.scheduler.n_slots = FRAGUA_TRY(ranged<int32_t>(v, origin, key, 1, 1024));
    } else if (key == "ctx") {
      o.scheduler.n_ctx_per_seq = FRAGUA_TRY(ranged<int64_t>(v, origin, key, 0, int64_t{1} << 24));
    } else if (key == "threads") {
      o.scheduler.n_threads = FRAGUA_TRY(ranged<int>(v, origin, key, 0, 4096));
    } else if (key == "max_queue") {
      o.scheduler.max_queue = FRAGUA_TRY(ranged<size_t>(v, origin, key, 0, 1u << 20));
    } else if (key == "api_keys") {
      if (!v.IsSequence())
        return invalid_argument_error("{}: line {}: 'api_keys' must be a list", origin, v.Mark().line + 1);
      FRAGUA_TRY(api_keys(v, origin, o));
    } else if (key == "redact") {
      const std::string mode = FRAGUA_TRY(value<std::string>(v, origin, key));
      auto m = parse_redact_mode(mode);
      if (!m.ok()) return invalid_argument_error("{}: line {}: {}", origin, v.Mark().line + 1, m.error().message());
      o.redact = *m;
    } else if (key == "redact_kinds") {
      // A list of kinds, or the same as one comma-separated string.
      std::string list;
      if (v.IsSequence()) {
        for (const auto& k : FRAGUA_TRY(value<std::vector<std::string>>(v, origin, key))) list += k + ",";
        if (!list.empty()) list.pop_back();
      } else {
        list = FRAGUA_TRY(value<std::string>(v, origin, key));
      }
      auto kinds = parse_pii_kinds(list);
      if (!kinds.ok())
        return invalid_argument_error("{}: line {}: {}", origin, v.Mark().line + 1, kinds.error().message());
      o.redact_kinds = *kinds;
    } else if (key == "audit_log") {
      o.audit_log = FRAGUA_TRY(value<std::string>(v, origin, key));
    } else if (key == "audit_max_bytes") {
      o.audit_max_bytes = FRAGUA_TRY(ranged<uint64_t>(v, origin, key, 1024, uint64_t{1} << 50));
    } else if (key == "audit_keep") {
      o.audit_keep = FRAGUA_TRY(ranged<int>(v, origin, key, 0, 1000));
    } else if (key == "rate_limit_rpm") {
      o.rate_limit_rpm = FRAGUA_TRY(ranged<double>(v, origin, key, 0.0, 1e9));
    } else if (key == "rate_limit_tpm") {
      o.rate_limit_tpm = FRAGUA_TRY(ranged<double>(v, origin, key, 0.0, 1e12));
    } else if (key == "cors_origins") {
      if (!v.IsSequence())
        return invalid_argument_error("{}: line {}: 'cors_origins' must be a list", origin, v.Mark().line + 1);
      o.cors_origins = FRAGUA_TRY(value<std::vector<std::string>>(v, origin, key));
    } else if (key == "max_body_bytes") {
      o.max_body_bytes = FRAGUA_TRY(ranged<size_t>(v, origin, key, 1024, size_t{1} << 32));
    } else if (key == "model_name") {
      o.model_name = FRAGUA_TRY(value<std::string>(v, origin, key));
    } else if (key == "chat_template") {
      o.chat_template = FRAGUA_TRY(value<std::string>(v, origin, key));
    } else if (key == "embeddings") {
      o.scheduler.embeddings = FRAGUA_TRY(value<bool>(v, origin, key));
    } else if (key == "web") {
      o.web = FRAGUA_TRY(value<bool>(v, origin, key));
    } else if (key == "timeout_s") {
      o.request_timeout_s = FRAGUA_TRY(ranged<double>(v, origin, key, 0.0, 1e7));
    } else {
      return invalid_argument_error(
          "{}: line {}: unknown key '{}' (expected host, port, parallel, ctx, threads, max_queue, api_keys, "
          "max_body_bytes, model_name, chat_template, timeout_s, embeddings, web, redact, redact_kinds, audit_log, "
          "audit_max_bytes, audit_keep, rate_limit_rpm, rate_limit_tpm, cors_origins)",
          origin, kv.first.Mark().line + 1, key);
    }
  }
  return {};
}

Status read_server_config(const std::string& path, ServerOptions& options, Env& env) {
  const std::string text = FRAGUA_TRY(read_file(path, env));
  return parse_server_config(text, path, options);
}

}  // namespace fragua::serve
