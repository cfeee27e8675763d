// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/error.h"

#include <gtest/gtest.h>

namespace fragua {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return invalid_argument_error("value {} at field 'n' must be positive", v);
  return v;
}

Result<int> doubled(int v) {
  int x = FRAGUA_TRY(parse_positive(v));
  return 2 * x;
}

Status check_both(int a, int b) {
  FRAGUA_TRY(parse_positive(a));
  FRAGUA_TRY(parse_positive(b));
  return {};
}

TEST(Error, TryPropagatesValueAndError) {
  auto ok = doubled(21);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 42);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), ErrorCode::invalid_argument);
  EXPECT_EQ(bad.error().message(), "value -1 at field 'n' must be positive");
  EXPECT_EQ(bad.error().to_string(), "invalid argument: value -1 at field 'n' must be positive");
}

TEST(Error, StatusAndContext) {
  EXPECT_TRUE(check_both(1, 2).ok());
  auto s = check_both(1, 0);
  ASSERT_FALSE(s.ok());
  auto e = s.error().with_context("config.yaml");
  EXPECT_EQ(e.message(), "config.yaml: value 0 at field 'n' must be positive");
}

}  // namespace
}  // namespace fragua
