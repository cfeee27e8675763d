// SPDX-License-Identifier: Apache-2.0
// The token buckets of serve/rate_limit.h on a test clock.
#include "serve/rate_limit.h"

#include <gtest/gtest.h>

namespace fragua::serve {
namespace {

TEST(RateLimiter, RequestsPerMinuteRefillContinuously) {
  double now = 100.0;
  RateLimiter l([&] { return now; });
  const RateLimit lim{2, 0};
  auto a = l.admit("k", lim);
  EXPECT_TRUE(a.allowed);
  EXPECT_EQ(a.remaining_requests, 1);
  EXPECT_TRUE(l.admit("k", lim).allowed);
  auto refused = l.admit("k", lim);
  EXPECT_FALSE(refused.allowed);
  EXPECT_NEAR(refused.retry_after_s, 30.0, 1e-9);  // one request refills in 60 / 2 s
  // Another caller has its own bucket.
  EXPECT_TRUE(l.admit("other", lim).allowed);
  now += 29.0;
  EXPECT_FALSE(l.admit("k", lim).allowed);
  now += 1.0;
  EXPECT_TRUE(l.admit("k", lim).allowed);
  EXPECT_FALSE(l.admit("k", lim).allowed);
}

TEST(RateLimiter, TokensAreChargedAfterwardsAndMayGoNegative) {
  double now = 0.0;
  RateLimiter l([&] { return now; });
  const RateLimit lim{0, 60};  // one token a second
  EXPECT_TRUE(l.admit("k", lim).allowed);
  l.charge("k", lim, 100);  // 40 in debt
  auto d = l.admit("k", lim);
  EXPECT_FALSE(d.allowed);
  EXPECT_NEAR(d.retry_after_s, 41.0, 1e-9);  // back to one token
  EXPECT_EQ(d.remaining_tokens, 0);
  now += 41.0;
  d = l.admit("k", lim);
  EXPECT_TRUE(d.allowed);
  EXPECT_NEAR(d.reset_tokens_s, 59.0, 1e-9);
  // No limit: always admitted, nothing kept.
  EXPECT_TRUE(l.admit("free", {}).allowed);
}

TEST(RateLimiter, ResetDurationsAsOpenAiWritesThem) {
  EXPECT_EQ(reset_duration(0.25), "250ms");
  EXPECT_EQ(reset_duration(1.5), "1.5s");
  EXPECT_EQ(reset_duration(360), "6m0s");
  EXPECT_EQ(reset_duration(0), "0ms");
}

}  // namespace
}  // namespace fragua::serve
