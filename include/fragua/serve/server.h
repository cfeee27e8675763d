// SPDX-License-Identifier: Apache-2.0
// `fragua serve`: an OpenAI-compatible HTTP server (cpp-httplib) over the continuous-batching
// Scheduler. docs/serve.md lists the endpoints, the fields, the errors and how to scale out.
//
// The server keeps no state between requests (each carries its whole conversation; the KV-prefix
// reuse in the scheduler's slots is a cache, not state), so replicas behind any HTTP load balancer
// serve more users; /health and /metrics are what an orchestrator probes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/model/loaded_model.h"
#include "fragua/serve/scheduler.h"

namespace fragua::serve {

enum class RedactMode : uint8_t { none, requests, responses, both };

// One API key's settings from serve.yaml (`api_keys: [{key, id, rpm, tpm}]`); a limit < 0 takes
// the server's (--rate-limit-rpm/-tpm), 0 is none.
struct ApiKeyPolicy {
  std::string key;
  std::string id;  // "" : api_key_id(key)
  double rpm = -1, tpm = -1;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: a free port (see Server::port())
  // Bearer keys; empty: no key asked (a warning is logged when the host is not a loopback one).
  std::vector<std::string> api_keys;
  size_t max_body_bytes = 8u << 20;  // larger bodies: 413
  // The id /v1/models reports and requests may name ("" : the model file's name without .gguf).
  // A request naming another model is refused with 404; one naming none gets this one.
  std::string model_name;
  std::string chat_template;       // a template name or Jinja text; "": the tokenizer's own
  double request_timeout_s = 600;  // per generation request, queued or running; <= 0: none
  int http_threads = 0;            // connections served at once; 0: slots + queue + 8
  bool web = true;                 // GET / serves the chat page (web/, compiled in); false: 404
  SchedulerParams scheduler;

  // Guardrails and traceability (docs/serve.md: "Personal data", "Audit log", "Rate limits", "CORS").
  // Personal data is replaced by placeholders (data/pii.h) in requests before they are tokenized,
  // in answers before they are sent, or both; `redact_kinds`: bit i enables data::PiiKind(i).
  RedactMode redact = RedactMode::none;
  uint32_t redact_kinds = 0xFFFFFFFFu;
  std::string audit_log;                  // "" : no audit log
  uint64_t audit_max_bytes = 100ull << 20;  // rotation size
  int audit_keep = 5;                     // rotated files kept: FILE.1 ... FILE.N
  // Per API key, or per client address when there are no keys; 0: no limit.
  double rate_limit_rpm = 0, rate_limit_tpm = 0;
  std::vector<ApiKeyPolicy> key_policies;  // ids and limits of some keys (each also in api_keys)
  // Origins whose pages may call the API ("*": any); empty: same-origin only (no CORS headers).
  std::vector<std::string> cors_origins;
};

Result<RedactMode> parse_redact_mode(std::string_view text);  // none, requests, responses, both
// A comma-separated list of data::pii_kind_name values ("dni,nie,email"), or "all".
Result<uint32_t> parse_pii_kinds(std::string_view text);
// The key id written to the audit log and used for rate limits: the first 8 hex digits of the
// key's SHA-256 (never the key), unless serve.yaml names it.
std::string api_key_id(std::string_view key);

// The options as a YAML file (serve.yaml): keys host, port, parallel, ctx, threads, api_keys
// (a list of keys or of {key, id, rpm, tpm}), redact, redact_kinds, audit_log, audit_max_bytes,
// audit_keep, rate_limit_rpm, rate_limit_tpm, cors_origins, max_body_bytes, model_name, chat_template, timeout_s, max_queue, embeddings, web. Unknown keys and
// wrong types are errors naming the file and the key. Fields absent from the file keep their
// value in `options`.
Status read_server_config(const std::string& path, ServerOptions& options, Env& env = Env::posix());
Status parse_server_config(std::string_view yaml, std::string_view origin, ServerOptions& options);

class Server {
 public:
  // Binds host:port; nothing is served until start().
  static Result<std::unique_ptr<Server>> create(ServerOptions options);
  // stop(), then frees everything.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Serves on a thread of its own. Until set_model(), /health answers 503 {"status": "loading"}
  // and the model endpoints 503.
  Status start();
  // The model to serve (kept alive by the server); starts the scheduler. Once only; after stop()
  // it drops the model and returns ok.
  Status set_model(std::unique_ptr<model::LoadedModel> model);
  // Stops accepting, ends running requests (finish: lets them complete; cancel: ends them at the
  // next step) and stops the HTTP threads. Safe to call more than once; not from a signal handler.
  void stop(Scheduler::ShutdownMode mode = Scheduler::ShutdownMode::cancel);
  // Blocks until stop() has completed.
  void wait();

  int port() const;  // the bound port
  bool ready() const;

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fragua::serve
