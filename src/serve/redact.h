// SPDX-License-Identifier: Apache-2.0
// One generation request's guardrails: personal data redacted from its prompt (before it is
// tokenized) and from its answer (each choice through a data::PiiStream, so a stream never sends
// part of an identifier), the counts reported in the response's "fragua" field and in /metrics,
// and its audit-log line (prompt and output always redacted there). docs/serve.md: "Personal
// data", "Audit log".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/data/pii.h"
#include "fragua/serve/openai.h"
#include "fragua/serve/server.h"
#include "serve/rate_limit.h"

namespace fragua::serve {

class AuditLog;
class ServerMetrics;

// Who sent a request: the key's id ("" on an open server), its rate-limit bucket and limits, the
// client's address.
struct Caller {
  std::string key_id;
  std::string bucket;
  RateLimit limit;
  std::string address;
};

class RequestGuard {
 public:
  // `model_sha256` is read when the audit line is written.
  // `audit` may be null (no audit log); the tokens are charged to `limiter` at finish().
  RequestGuard(const ServerOptions& options, Caller caller, std::string endpoint, AuditLog* audit,
               ServerMetrics* metrics, RateLimiter* limiter, std::string model_file,
               std::function<std::string()> model_sha256);

  bool redacts_requests() const { return requests_; }
  bool redacts_responses() const { return responses_; }

  // The request: message contents (strings and text parts) and prompts, redacted in place when
  // the deployment redacts requests; the audit log keeps a redacted copy either way.
  void prompt_messages(nlohmann::ordered_json& messages);
  void prompt_text(std::string& text);
  void prompt_ids(const std::vector<int32_t>& ids);
  void parameters(const SamplingRequest& s);

  // The answer, on the scheduler's worker: choice i's final text (from TextStream); returns what
  // may be sent now. end() flushes what the redactor holds.
  void set_choices(size_t n);
  std::string text(size_t choice, std::string text);
  std::string end(size_t choice);

  // {"redactions": [{"kind", "where", "count"}]} (kinds with a count only), or null when the
  // deployment redacts nothing.
  nlohmann::ordered_json extension() const;

  // The outcome: counted in /metrics, charged to the rate limit, written to the audit log; the
  // first call only. A request refused before it reaches the model is logged by the server.
  void finish(int status, const std::string& request_id, int64_t prompt_tokens, int64_t completion_tokens,
              const std::vector<std::string>& finish_reasons, const std::string& error = "");

 private:
  void add(int kind_counts[], const data::RedactResult& r);
  nlohmann::ordered_json extension_locked() const;
  const data::PiiOptions options_;
  const bool requests_, responses_;
  Caller caller_;
  std::string endpoint_;
  AuditLog* audit_;
  ServerMetrics* metrics_;
  RateLimiter* limiter_;
  std::string model_file_;
  std::function<std::string()> model_sha256_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::system_clock::time_point time_ = std::chrono::system_clock::now();

  mutable std::mutex mu_;  // the answer's state: written by the worker, read by the HTTP thread
  int request_counts_[data::kPiiKindCount] = {};
  std::vector<data::PiiStream> streams_;
  std::vector<std::string> output_;  // per choice, for the audit log (redacted when written)
  nlohmann::ordered_json prompt_log_ = nlohmann::ordered_json::array();
  nlohmann::ordered_json params_ = nlohmann::ordered_json::object();
  bool written_ = false;
};

// RFC 3339 UTC with milliseconds: "2026-12-06T10:59:01.123Z".
std::string rfc3339_utc(std::chrono::system_clock::time_point t);

}  // namespace fragua::serve
