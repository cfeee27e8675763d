#include "fragua/base/json.h"

#include <gtest/gtest.h>

namespace fragua {
namespace {

TEST(ParseJson, ParsesValidText) {
  auto j = parse_json(R"({"a": [1, 2.5, "x"]})", "t.json");
  ASSERT_TRUE(j.ok()) << j.error().to_string();
  EXPECT_EQ((*j)["a"][1].get<double>(), 2.5);
}

TEST(ParseJson, SyntaxErrorNamesOriginAndFileOffset) {
  // The '}' at index 6 of the text is the fault; with base_offset 8 it is byte 14 of the file.
  auto j = parse_json(R"({"a": })", "m.safetensors", 8);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code(), ErrorCode::corruption);
  EXPECT_NE(j.error().message().find("m.safetensors: malformed JSON at byte offset 14"), std::string::npos)
      << j.error().message();
}

TEST(ParseJson, NumberOverflowIsAnErrorNotAnException) {
  // nlohmann throws out_of_range (not parse_error) for this; it must not escape.
  for (const char* text : {"1e2608", "[99E999999]", R"({"n": -1e400})"}) {
    auto j = parse_json(text, "x.json");
    ASSERT_FALSE(j.ok()) << text;
    EXPECT_NE(j.error().message().find("x.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace fragua

namespace fragua {
namespace {

TEST(JsonNumbers, IntegersAreCheckedBeforeAnyConversion) {
  auto j = nlohmann::json::parse(R"([5, 6.9e106, -1, 18446744073709551615, "7", 2.5, 1e300])");
  EXPECT_EQ(*json_integer(j[0], "id"), 5);
  auto big = json_integer(j[1], "vocab id of 'x'");  // a float: converting it would be UB
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message().find("vocab id of 'x': expected an integer"), std::string::npos);
  EXPECT_FALSE(json_integer(j[2], "bos_id", 0, 10).ok());
  EXPECT_EQ(*json_integer(j[2], "bos_id", -1, 10), -1);
  EXPECT_FALSE(json_integer(j[3], "id").ok());
  EXPECT_FALSE(json_integer(j[4], "id").ok());
  EXPECT_FLOAT_EQ(*json_float(j[5], "score"), 2.5f);
  EXPECT_FALSE(json_float(j[6], "score").ok());
  EXPECT_FALSE(json_float(j[4], "score").ok());
}

}  // namespace
}  // namespace fragua
