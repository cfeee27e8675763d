// SPDX-License-Identifier: Apache-2.0
// The server's state, shared by its lifecycle (server.cpp), the plain endpoints (endpoints.cpp)
// and the generation endpoints (generation.cpp).
#pragma once

#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "fragua/serve/openai.h"
#include "fragua/serve/server.h"
#include "serve/audit.h"
#include "serve/prometheus.h"
#include "serve/rate_limit.h"
#include "serve/redact.h"

namespace fragua::serve {

struct Server::Impl {
  ServerOptions opt;
  httplib::Server http;
  int port = 0;
  std::thread thread;
  // Set once by set_model() before `ready`; read by handlers only after they see `ready`.
  std::unique_ptr<model::LoadedModel> model;
  std::unique_ptr<Scheduler> scheduler;
  std::string chat_template;  // resolved: the option, else the tokenizer's ("" : none)
  std::mutex model_mu;        // set_model() against stop()
  std::atomic<bool> ready{false};
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopped = false;
  ServerMetrics metrics;
  std::atomic<uint64_t> next_id{0};

  // Guardrails (docs/serve.md). Each key's id and limits, in the order of opt.api_keys.
  struct KeyInfo {
    std::string id;
    RateLimit limit;
  };
  std::vector<KeyInfo> keys;
  RateLimiter limiter;
  std::unique_ptr<AuditLog> audit;
  // The served model's SHA-256 for the audit log, computed on a thread of its own at set_model()
  // ("pending" until then).
  std::mutex sha_mu;
  std::string model_sha256 = "pending";
  std::thread sha_thread;
  // The key a request presents: its index in opt.api_keys, -1 on an open server, -2 when it has
  // none or an unknown one.
  int key_index(const httplib::Request& req) const;
  Caller caller(const httplib::Request& req) const;
  // A guard for a generation request (redaction, audit line), after its key was checked.
  std::shared_ptr<RequestGuard> guard(const httplib::Request& req);
  // CORS headers for an allowed Origin; a preflight (OPTIONS) answered. True when answered.
  bool cors(const httplib::Request& req, httplib::Response& res) const;
  // An audit line for a request refused before it reached the model.
  void audit_refusal(const httplib::Request& req, const httplib::Response& res, const std::string& endpoint);
  // The rate limits: false (and a 429 written) when the caller is over one.
  bool rate_limit(const httplib::Request& req, httplib::Response& res);

  void routes();
  // Answers an error in OpenAI's body.
  static void reply_error(httplib::Response& res, const ApiError& e);
  // 503 while the model loads or the server stops; true when the request may proceed.
  bool check_ready(httplib::Response& res) const;
  // A request naming another model than the served one: 404. True when it may proceed.
  bool check_model(const std::string& name, httplib::Response& res) const;
  std::string model_id() const;
  // The model's tokens as a byte trie for constrained decoding, built at the first request that
  // needs it (constrained_output.cpp).
  std::shared_ptr<const TokenTrie> constraint_tokens();
  std::once_flag constraint_tokens_once;
  std::shared_ptr<const TokenTrie> constraint_tokens_trie;

  void handle_health(httplib::Response& res) const;
  void handle_models(httplib::Response& res) const;
  void handle_tokenize(const httplib::Request& req, httplib::Response& res) const;
  void handle_detokenize(const httplib::Request& req, httplib::Response& res) const;
  void handle_chat(const httplib::Request& req, httplib::Response& res);
  void handle_completion(const httplib::Request& req, httplib::Response& res);
  void handle_embeddings(const httplib::Request& req, httplib::Response& res);
};

}  // namespace fragua::serve
