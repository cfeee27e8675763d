// SPDX-License-Identifier: Apache-2.0
#include "serve/rate_limit.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

namespace fragua::serve {
namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Seconds until a bucket of `capacity` refilled at capacity/60 per second holds `want`.
double time_to(double have, double want, double capacity) {
  return have >= want ? 0.0 : (want - have) * 60.0 / capacity;
}

}  // namespace

RateLimiter::RateLimiter(Clock clock) : clock_(clock ? std::move(clock) : Clock(steady_seconds)) {}

RateLimiter::Bucket& RateLimiter::refill(const std::string& who, const RateLimit& limit, double now) {
  // An open server keys buckets by client address: buckets idle for a minute are full again,
  // so they are dropped rather than kept for every address ever seen.
  if (buckets_.size() > 4096)
    std::erase_if(buckets_, [now](const auto& kv) { return now - kv.second.at > 60.0; });
  Bucket& b = buckets_[who];
  if (!b.init) {
    b = {limit.rpm, limit.tpm, now, true};
    return b;
  }
  const double dt = std::max(0.0, now - b.at);
  b.at = now;
  if (limit.rpm > 0) b.requests = std::min(limit.rpm, b.requests + dt * limit.rpm / 60.0);
  if (limit.tpm > 0) b.tokens = std::min(limit.tpm, b.tokens + dt * limit.tpm / 60.0);
  return b;
}

RateDecision RateLimiter::admit(const std::string& who, const RateLimit& limit) {
  RateDecision d;
  if (!limit.any()) return d;
  const double now = clock_();
  std::lock_guard lock(mu_);
  Bucket& b = refill(who, limit, now);
  const bool requests_ok = limit.rpm <= 0 || b.requests >= 1.0;
  // Any positive balance admits a request: its size is known only once it is tokenized.
  const bool tokens_ok = limit.tpm <= 0 || b.tokens > 0.0;
  d.allowed = requests_ok && tokens_ok;
  if (d.allowed && limit.rpm > 0) b.requests -= 1.0;
  if (!d.allowed) {
    double wait = 0;
    if (limit.rpm > 0) wait = std::max(wait, time_to(b.requests, 1.0, limit.rpm));
    // Strictly positive: a little past zero.
    if (limit.tpm > 0 && !tokens_ok) wait = std::max(wait, time_to(b.tokens, 1.0, limit.tpm));
    d.retry_after_s = wait;
  }
  if (limit.rpm > 0) {
    d.remaining_requests = std::max(0.0, std::floor(b.requests));
    d.reset_requests_s = time_to(b.requests, limit.rpm, limit.rpm);
  }
  if (limit.tpm > 0) {
    d.remaining_tokens = std::max(0.0, std::floor(b.tokens));
    d.reset_tokens_s = time_to(b.tokens, limit.tpm, limit.tpm);
  }
  return d;
}

void RateLimiter::charge(const std::string& who, const RateLimit& limit, int64_t tokens) {
  if (limit.tpm <= 0 || tokens <= 0) return;
  const double now = clock_();
  std::lock_guard lock(mu_);
  refill(who, limit, now).tokens -= static_cast<double>(tokens);
}

std::string reset_duration(double s) {
  if (s < 1.0) return fmt::format("{}ms", static_cast<int64_t>(std::ceil(s * 1000.0)));
  if (s < 60.0) return fmt::format("{:.3g}s", s);
  const auto m = static_cast<int64_t>(s / 60.0);
  return fmt::format("{}m{}s", m, static_cast<int64_t>(std::ceil(s - 60.0 * static_cast<double>(m))));
}

}  // namespace fragua::serve
