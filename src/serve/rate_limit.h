// SPDX-License-Identifier: Apache-2.0
// Rate limits per API key (or per client address on an open server): requests per minute and
// tokens per minute, each a token bucket (capacity: a minute's worth; refilled continuously), as
// OpenAI describes its limits (https://platform.openai.com/docs/guides/rate-limits). A request is
// admitted while both buckets hold something; its prompt tokens are charged once tokenized and
// its generated tokens when it ends, so a bucket may go below zero and the next request waits
// until it refills. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace fragua::serve {

struct RateLimit {
  double rpm = 0;  // requests per minute; 0: none
  double tpm = 0;  // tokens (prompt + generated) per minute; 0: none
  bool any() const { return rpm > 0 || tpm > 0; }
};

struct RateDecision {
  bool allowed = true;
  double retry_after_s = 0;  // when refused: until both buckets allow a request
  // For the x-ratelimit-* headers (only for the limits that are set).
  double remaining_requests = 0, remaining_tokens = 0;
  double reset_requests_s = 0, reset_tokens_s = 0;  // until the bucket is full again
};

class RateLimiter {
 public:
  // Seconds on a monotonic clock; tests pass their own.
  using Clock = std::function<double()>;
  explicit RateLimiter(Clock clock = {});

  // Admits one request of `who` under `limit` (takes one from the request bucket) or refuses it.
  RateDecision admit(const std::string& who, const RateLimit& limit);
  // Charges tokens to `who`'s token bucket.
  void charge(const std::string& who, const RateLimit& limit, int64_t tokens);

 private:
  struct Bucket {
    double requests = 0, tokens = 0, at = 0;
    bool init = false;
  };
  Bucket& refill(const std::string& who, const RateLimit& limit, double now);
  Clock clock_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

// "250ms", "1.5s", "6m0s": the duration format of OpenAI's x-ratelimit-reset-* headers.
std::string reset_duration(double seconds);

}  // namespace fragua::serve
