// SPDX-License-Identifier: Apache-2.0
#include "serve/redact.h"

#include <ctime>

#include <fmt/format.h>

#include "serve/audit.h"
#include "serve/prometheus.h"

namespace fragua::serve {
namespace {

using nlohmann::ordered_json;

constexpr const char* kWhere[] = {"request", "response"};

}  // namespace

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
}

RequestGuard::RequestGuard(const ServerOptions& o, Caller caller, std::string endpoint, AuditLog* audit,
                           ServerMetrics* metrics, RateLimiter* limiter, std::string model_file,
                           std::function<std::string()> model_sha256)
    : options_{o.redact_kinds & ((1u << data::kPiiKindCount) - 1)},
      requests_(o.redact == RedactMode::requests || o.redact == RedactMode::both),
      responses_(o.redact == RedactMode::responses || o.redact == RedactMode::both),
      caller_(std::move(caller)),
      endpoint_(std::move(endpoint)),
      audit_(audit),
      metrics_(metrics),
      limiter_(limiter),
      model_file_(std::move(model_file)),
      model_sha256_(std::move(model_sha256)) {}

// Request redactions are counted in /metrics at once (a request may still be refused later).
void RequestGuard::add(int counts[], const data::RedactResult& r) {
  for (int k = 0; k < data::kPiiKindCount; ++k) {
    counts[k] += r.counts[k];
    if (metrics_ && r.counts[k] > 0)
      metrics_->count_redactions(data::pii_kind_name(static_cast<data::PiiKind>(k)), kWhere[0], r.counts[k]);
  }
}

void RequestGuard::prompt_text(std::string& text) {
  if (requests_) {
    data::RedactResult r = data::redact_pii(text, options_);
    add(request_counts_, r);
    text = std::move(r.text);
  }
  if (audit_) prompt_log_.push_back(requests_ ? text : data::redact_pii(text).text);
}

void RequestGuard::prompt_ids(const std::vector<int32_t>& ids) {
  // Token ids are passed as they are (the server does not decode a prompt to redact it).
  if (audit_) prompt_log_.push_back(ordered_json{{"token_ids", ids.size()}});
}

void RequestGuard::prompt_messages(ordered_json& messages) {
  for (auto& m : messages) {
    if (!m.is_object()) continue;
    auto c = m.find("content");
    if (c == m.end()) continue;
    if (c->is_string()) {
      std::string text = c->get<std::string>();
      if (requests_) {
        data::RedactResult r = data::redact_pii(text, options_);
        add(request_counts_, r);
        *c = std::move(r.text);
      }
    } else if (c->is_array()) {
      for (auto& part : *c) {
        auto t = part.is_object() ? part.find("text") : part.end();
        if (requests_ && t != part.end() && t->is_string()) {
          data::RedactResult r = data::redact_pii(t->get<std::string>(), options_);
          add(request_counts_, r);
          *t = std::move(r.text);
        }
      }
    }
  }
  if (!audit_) return;
  if (requests_) {
    prompt_log_ = messages;
    return;
  }
  // Not redacted for the model: a redacted copy for the log.
  prompt_log_ = messages;
  for (auto& m : prompt_log_) {
    auto c = m.is_object() ? m.find("content") : m.end();
    if (c != m.end() && c->is_string()) *c = data::redact_pii(c->get<std::string>()).text;
    if (c != m.end() && c->is_array())
      for (auto& part : *c) {
        auto t = part.is_object() ? part.find("text") : part.end();
        if (t != part.end() && t->is_string()) *t = data::redact_pii(t->get<std::string>()).text;
      }
  }
}

void RequestGuard::parameters(const SamplingRequest& s) {
  params_ = {{"model", s.model}, {"temperature", s.temperature}, {"top_p", s.top_p}, {"n", s.n},
             {"stream", s.stream}};
  if (s.max_tokens) params_["max_tokens"] = *s.max_tokens;
  if (s.seed) params_["seed"] = *s.seed;
  if (!s.stop.empty()) params_["stop"] = s.stop;
  if (s.presence_penalty != 0) params_["presence_penalty"] = s.presence_penalty;
  if (s.frequency_penalty != 0) params_["frequency_penalty"] = s.frequency_penalty;
  if (s.logprobs) params_["top_logprobs"] = s.top_logprobs;
}

void RequestGuard::set_choices(size_t n) {
  std::lock_guard lock(mu_);
  streams_.assign(n, data::PiiStream(options_));
  output_.assign(n, std::string());
}

std::string RequestGuard::text(size_t choice, std::string text) {
  std::lock_guard lock(mu_);
  if (responses_) text = streams_[choice].push(text);
  if (audit_) output_[choice] += text;
  return text;
}

std::string RequestGuard::end(size_t choice) {
  std::lock_guard lock(mu_);
  if (!responses_) return {};
  std::string text = streams_[choice].finish();
  if (audit_) output_[choice] += text;
  return text;
}

ordered_json RequestGuard::extension() const {
  std::lock_guard lock(mu_);
  return extension_locked();
}

ordered_json RequestGuard::extension_locked() const {
  if (!requests_ && !responses_) return nullptr;
  ordered_json list = ordered_json::array();
  for (int w = 0; w < 2; ++w)
    for (int k = 0; k < data::kPiiKindCount; ++k) {
      int n = 0;
      if (w == 0) n = request_counts_[k];
      else
        for (const auto& s : streams_) n += s.counts()[k];
      if (n > 0)
        list.push_back({{"kind", data::pii_kind_name(static_cast<data::PiiKind>(k))}, {"where", kWhere[w]},
                        {"count", n}});
    }
  return {{"redactions", std::move(list)}};
}

void RequestGuard::finish(int status, const std::string& request_id, int64_t prompt_tokens,
                          int64_t completion_tokens, const std::vector<std::string>& finish_reasons,
                          const std::string& error) {
  std::lock_guard lock(mu_);
  if (written_) return;
  written_ = true;
  if (limiter_) limiter_->charge(caller_.bucket, caller_.limit, prompt_tokens + completion_tokens);
  if (metrics_) {
    for (int k = 0; k < data::kPiiKindCount; ++k) {
      int response = 0;
      for (const auto& s : streams_) response += s.counts()[k];
      if (response) metrics_->count_redactions(data::pii_kind_name(static_cast<data::PiiKind>(k)), kWhere[1], response);
    }
  }
  if (!audit_) return;
  ordered_json line;
  line["time"] = rfc3339_utc(time_);
  line["request_id"] = request_id.empty() ? nullptr : ordered_json(request_id);
  line["key_id"] = caller_.key_id.empty() ? nullptr : ordered_json(caller_.key_id);
  line["client"] = caller_.address;
  line["endpoint"] = endpoint_;
  line["model"] = {{"file", model_file_}, {"sha256", model_sha256_ ? model_sha256_() : "pending"}};
  line["parameters"] = params_;
  line["prompt"] = prompt_log_;
  ordered_json out = ordered_json::array();
  // The answer as sent when responses are redacted; otherwise redacted here, for the log only.
  for (const auto& o : output_) out.push_back(responses_ ? o : data::redact_pii(o).text);
  line["output"] = std::move(out);
  line["finish_reasons"] = finish_reasons;
  line["usage"] = {{"prompt_tokens", prompt_tokens}, {"completion_tokens", completion_tokens}};
  line["latency_ms"] =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  line["status"] = status;
  if (!error.empty()) line["error"] = error;
  line["redactions"] = extension_locked();
  audit_->append(line.dump(-1, ' ', false, ordered_json::error_handler_t::replace));
}

}  // namespace fragua::serve
