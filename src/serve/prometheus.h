// SPDX-License-Identifier: Apache-2.0
// The server's /metrics in the Prometheus text exposition format (version 0.0.4,
// https://prometheus.io/docs/instrumenting/exposition_formats/): request counts by endpoint and
// status, and latency histograms fed from the scheduler's samples.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fragua/serve/scheduler.h"

namespace fragua::serve {

class AuditLog;

// Cumulative buckets as Prometheus defines them: bucket i counts samples <= bounds[i].
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size(), 0) {}
  void observe(double v);
  // "<name>_bucket{le=...}", "<name>_sum", "<name>_count" lines.
  void render(std::string& out, const std::string& name) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative
  uint64_t count_ = 0;
  double sum_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  void count_request(const std::string& endpoint, int status);
  // Guardrails: personal data redacted (kind, "request"/"response"), requests refused by a rate
  // limit ("requests"/"tokens"); `audit` (may be null) gives the audit log's counters.
  void count_redactions(const std::string& kind, const std::string& where, int n);
  void count_rate_limited(const std::string& limit);
  // Folds the scheduler's latency samples into the histograms and renders everything.
  std::string render(Scheduler* scheduler, const AuditLog* audit = nullptr);

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, uint64_t> redactions_;
  std::map<std::string, uint64_t> rate_limited_;
  Histogram ttft_, per_token_;
  uint64_t samples_dropped_ = 0;
};

}  // namespace fragua::serve
