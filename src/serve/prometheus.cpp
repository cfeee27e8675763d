// SPDX-License-Identifier: Apache-2.0
#include "serve/prometheus.h"

#include <fmt/format.h>

#include "serve/audit.h"

namespace fragua::serve {
namespace {

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void sample(std::string& out, const char* name, double v) { out += fmt::format("{} {}\n", name, v); }

}  // namespace

void Histogram::observe(double v) {
  for (size_t i = 0; i < bounds_.size(); ++i)
    if (v <= bounds_[i]) {
      ++counts_[i];
      break;
    }
  ++count_;
  sum_ += v;
}

void Histogram::render(std::string& out, const std::string& name) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds_[i], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, count_, name, sum_, name, count_);
}

// Time to first token spans a queue wait and a prompt; between tokens is one step of the batch.
ServerMetrics::ServerMetrics()
    : ttft_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}),
      per_token_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}) {}

void ServerMetrics::count_request(const std::string& endpoint, int status) {
  std::lock_guard lock(mu_);
  ++requests_[{endpoint, status}];
}

void ServerMetrics::count_redactions(const std::string& kind, const std::string& where, int n) {
  std::lock_guard lock(mu_);
  redactions_[{kind, where}] += static_cast<uint64_t>(n);
}

void ServerMetrics::count_rate_limited(const std::string& limit) {
  std::lock_guard lock(mu_);
  ++rate_limited_[limit];
}

std::string ServerMetrics::render(Scheduler* scheduler, const AuditLog* audit) {
  std::lock_guard lock(mu_);
  SchedulerMetrics m;
  if (scheduler) {
    m = scheduler->metrics();
    LatencySamples s = scheduler->take_samples();
    for (double v : s.time_to_first_token) ttft_.observe(v);
    for (double v : s.per_token) per_token_.observe(v);
    samples_dropped_ += s.dropped;
  }
  std::string out;
  header(out, "fragua_requests_total", "counter", "HTTP requests answered, by endpoint and status.");
  for (const auto& [key, n] : requests_)
    out += fmt::format("fragua_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
  header(out, "fragua_prompt_tokens_total", "counter", "Prompt tokens of admitted requests (cached ones included).");
  sample(out, "fragua_prompt_tokens_total", static_cast<double>(m.prompt_tokens));
  header(out, "fragua_prompt_tokens_evaluated_total", "counter", "Prompt tokens run through the model.");
  sample(out, "fragua_prompt_tokens_evaluated_total", static_cast<double>(m.prompt_evaluated));
  header(out, "fragua_generated_tokens_total", "counter", "Tokens generated.");
  sample(out, "fragua_generated_tokens_total", static_cast<double>(m.generated_tokens));
  header(out, "fragua_queue_depth", "gauge", "Requests waiting for a slot.");
  sample(out, "fragua_queue_depth", static_cast<double>(m.queue_depth));
  header(out, "fragua_active_slots", "gauge", "Slots running a request.");
  sample(out, "fragua_active_slots", static_cast<double>(m.active_slots));
  header(out, "fragua_slots", "gauge", "Slots (--parallel).");
  sample(out, "fragua_slots", static_cast<double>(m.n_slots));
  header(out, "fragua_requests_rejected_total", "counter", "Generation requests refused: queue full or shutting down.");
  sample(out, "fragua_requests_rejected_total", static_cast<double>(m.rejected));
  header(out, "fragua_generations_finished_total", "counter", "Generations ended, by reason.");
  const std::pair<const char*, uint64_t> reasons[] = {{"stop", m.finished_stop},
                                                      {"length", m.finished_length},
                                                      {"cancelled", m.finished_cancelled},
                                                      {"timeout", m.finished_timeout},
                                                      {"error", m.finished_error}};
  for (const auto& [reason, n] : reasons)
    out += fmt::format("fragua_generations_finished_total{{reason=\"{}\"}} {}\n", reason, n);
  header(out, "fragua_time_to_first_token_seconds", "histogram", "From submission to the first token.");
  ttft_.render(out, "fragua_time_to_first_token_seconds");
  header(out, "fragua_time_per_token_seconds", "histogram", "Between consecutive tokens of a request.");
  per_token_.render(out, "fragua_time_per_token_seconds");
  header(out, "fragua_latency_samples_dropped_total", "counter", "Latency samples lost between scrapes.");
  sample(out, "fragua_latency_samples_dropped_total", static_cast<double>(samples_dropped_));
  header(out, "fragua_redactions_total", "counter", "Personal data replaced by a placeholder, by kind and where.");
  for (const auto& [key, n] : redactions_)
    out += fmt::format("fragua_redactions_total{{kind=\"{}\",where=\"{}\"}} {}\n", key.first, key.second, n);
  header(out, "fragua_rate_limited_total", "counter", "Requests refused with 429, by the limit reached.");
  for (const char* limit : {"requests", "tokens"}) {
    auto it = rate_limited_.find(limit);
    out += fmt::format("fragua_rate_limited_total{{limit=\"{}\"}} {}\n", limit, it == rate_limited_.end() ? 0 : it->second);
  }
  if (audit) {
    header(out, "fragua_audit_lines_total", "counter", "Lines written to the audit log.");
    sample(out, "fragua_audit_lines_total", static_cast<double>(audit->lines_written()));
    header(out, "fragua_audit_failures_total", "counter", "Audit lines lost: write errors, full queue.");
    sample(out, "fragua_audit_failures_total", static_cast<double>(audit->failures()));
  }
  return out;
}

}  // namespace fragua::serve
