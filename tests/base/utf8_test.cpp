#include "fragua/base/utf8.h"

#include <gtest/gtest.h>

namespace fragua {
namespace {

TEST(Utf8, ValidatesAndReportsOffset) {
  EXPECT_TRUE(utf8::is_valid("Añoranza, això, euskara, galego 🙂"));
  std::string bad = "abc\xC3(def";
  EXPECT_EQ(utf8::find_invalid(bad), 3u);
  auto s = utf8::validate(bad, "doc.txt");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "doc.txt: invalid UTF-8 at byte offset 3 (byte 0xC3)");
  EXPECT_FALSE(utf8::is_valid("\xC0\x80"));          // overlong NUL
  EXPECT_FALSE(utf8::is_valid("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(utf8::is_valid("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(utf8::is_valid("\xE2\x82"));          // truncated
}

TEST(Utf8, DecodeEncodeRoundTrip) {
  for (char32_t cp : {U'a', U'ñ', U'€', U'🙂', char32_t(0x10FFFF)}) {
    std::string s = utf8::encode(cp);
    size_t pos = 0;
    EXPECT_EQ(utf8::decode(s, pos), cp);
    EXPECT_EQ(pos, s.size());
  }
  EXPECT_EQ(utf8::sanitize("a\xFF" "b"), "a\xEF\xBF\xBD" "b");
}

}  // namespace
}  // namespace fragua
