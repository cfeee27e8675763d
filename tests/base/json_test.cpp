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
