// serve.yaml: the server's options as a file; `fragua serve` flags override it.
#include <limits>

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "fragua/base/file.h"
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

}  // namespace

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
      o.api_keys = FRAGUA_TRY(value<std::vector<std::string>>(v, origin, key));
    } else if (key == "max_body_bytes") {
      o.max_body_bytes = FRAGUA_TRY(ranged<size_t>(v, origin, key, 1024, size_t{1} << 32));
    } else if (key == "model_name") {
      o.model_name = FRAGUA_TRY(value<std::string>(v, origin, key));
    } else if (key == "chat_template") {
      o.chat_template = FRAGUA_TRY(value<std::string>(v, origin, key));
    } else if (key == "embeddings") {
      o.scheduler.embeddings = FRAGUA_TRY(value<bool>(v, origin, key));
    } else if (key == "timeout_s") {
      o.request_timeout_s = FRAGUA_TRY(ranged<double>(v, origin, key, 0.0, 1e7));
    } else {
      return invalid_argument_error(
          "{}: line {}: unknown key '{}' (expected host, port, parallel, ctx, threads, max_queue, api_keys, "
          "max_body_bytes, model_name, chat_template, timeout_s, embeddings)",
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
