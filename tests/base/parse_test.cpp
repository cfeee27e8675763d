// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/parse.h"

#include <gtest/gtest.h>

namespace fragua {
namespace {

TEST(Parse, IntegersWholeTextAndRange) {
  EXPECT_EQ(*parse_int("42", "n"), 42);
  EXPECT_EQ(*parse_int("-7", "n", -10, 10), -7);
  EXPECT_FALSE(parse_int("42x", "n").ok());
  EXPECT_FALSE(parse_int("", "n").ok());
  EXPECT_FALSE(parse_int(" 1", "n").ok());
  auto big = parse_int("99999999999999999999", "threads");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message().find("threads: 99999999999999999999 is outside"), std::string::npos);
  EXPECT_FALSE(parse_int("11", "n", 0, 10).ok());
}

TEST(Parse, DoublesAreFinite) {
  EXPECT_DOUBLE_EQ(*parse_double("0.25", "w"), 0.25);
  EXPECT_DOUBLE_EQ(*parse_double("1e-3", "w"), 1e-3);
  for (const char* bad : {"inf", "nan", "1e400", "0.5x", "", "x"}) EXPECT_FALSE(parse_double(bad, "w").ok()) << bad;
}

TEST(Parse, ListsRefuseEmptyItems) {
  EXPECT_EQ(*parse_list("a,b,c", "l"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(parse_list("a,,b", "l").ok());
  EXPECT_FALSE(parse_list("a,", "l").ok());
  EXPECT_FALSE(parse_list("", "l").ok());
}

TEST(Parse, MixtureRules) {
  auto m = parse_mixture("es=0.5,ca=0.3,ca-valencia=0,eu=0.2", "--mix");
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  ASSERT_EQ(m->size(), 4u);
  EXPECT_EQ((*m)[2].first, "ca-valencia");
  EXPECT_EQ((*m)[2].second, 0);
  EXPECT_DOUBLE_EQ((*m)[3].second, 0.2);
  for (const char* bad : {"es=1,es=2", "es=-1", "es", "=1", "es=inf", "es=0,ca=0", "es=1,", "es=0.5x"}) {
    auto r = parse_mixture(bad, "--mix");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message().rfind("--mix", 0), 0u) << r.error().message();
  }
}

}  // namespace
}  // namespace fragua
