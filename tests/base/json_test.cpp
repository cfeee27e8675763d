// SPDX-License-Identifier: Apache-2.0
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

namespace fragua {
namespace {

TEST(ParseJson, DeepNestingIsRefusedWithTheOffset) {
  // 200 KB of brackets once overflowed the stack when the parsed value was copied or dumped.
  std::string deep = R"({"a": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto j = parse_json(deep, "tok.json", 10);
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code(), ErrorCode::corruption);
  // '{' is level 1, so the 64th '[' (index 6 + 63 = 69 of the text) opens level 65.
  EXPECT_NE(j.error().message().find("tok.json: JSON nested deeper than 64 levels at byte offset 79"),
            std::string::npos)
      << j.error().message();
  // Brackets inside strings (escaped quotes included) do not count.
  std::string in_string = R"({"s": ")" + std::string(1000, '[') + R"(\"{{{"})";
  EXPECT_TRUE(parse_json(in_string, "s.json").ok());
  std::string at_limit = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(parse_json(at_limit, "x").ok());
  EXPECT_FALSE(parse_json("[" + at_limit + "]", "x").ok());
}

TEST(ParseJson, PreviewNeverDumpsASubtree) {
  auto j = nlohmann::json::parse(R"({"big": [1, 2, 3], "s": "0123456789012345678901234567890123456789xyz"})");
  EXPECT_EQ(json_preview(j), "an object of 2 members");
  EXPECT_EQ(json_preview(j["big"]), "an array of 3 elements");
  EXPECT_EQ(json_preview(j["s"]), "\"012345678901234567890123456789012345678...");
  auto e = json_integer(j["big"], "id of 'x'");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message().find("expected an integer, found an array of 3 elements"), std::string::npos);
}

TEST(ParseJson, ValueCountIsBoundedBeforeParsing) {
  EXPECT_EQ(json_value_count_violation(R"({"a": [1, 2], "b": "x,y:z"})", 5), std::string_view::npos);
  // The object, [1, 2], 1, 2 and 3 are five values; the ',' after 3 (offset 20) starts a sixth.
  EXPECT_EQ(json_value_count_violation(R"({"a": [1, 2], "b": 3, "c": 4})", 5), 20u);
  EXPECT_EQ(json_value_count_violation("[" + std::string(10, '0') + "]", 1), std::string_view::npos);
  EXPECT_EQ(json_value_count_violation("[0,0,0]", 2), 4u);
}

}  // namespace
}  // namespace fragua
