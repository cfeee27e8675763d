// SPDX-License-Identifier: Apache-2.0
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
  EXPECT_EQ(utf8::sanitize("a\xFF"
                           "b"),
            "a\xEF\xBF\xBD"
            "b");
}

// Issue 12, defect 14: names from files must not drive the terminal.
TEST(TerminalSafe, EscapesControlsDelC1AndInvalidBytes) {
  EXPECT_EQ(terminal_safe("blk.0.attn_q.weight ñ € 🙂"), "blk.0.attn_q.weight ñ € 🙂");
  // OSC 0 (retitle the window), CSI 2J (clear the screen), BEL.
  EXPECT_EQ(terminal_safe("a\x1b]0;pwned\x07\x1b[2Jb"), "a\\x1b]0;pwned\\x07\\x1b[2Jb");
  EXPECT_EQ(terminal_safe("tab\tnl\ncr\rdel\x7f"), "tab\\x09nl\\x0acr\\x0ddel\\x7f");
  EXPECT_EQ(terminal_safe("tab\tnl\n", /*keep_newlines=*/true), "tab\tnl\n");
  // U+009B (CSI as a C1 control, UTF-8 C2 9B) and U+0085; U+00A0 is printable and kept.
  EXPECT_EQ(terminal_safe("x\xc2\x9b"
                          "31my\xc2\x85z\xc2\xa0"),
            "x\\u{9b}31my\\u{85}z\xc2\xa0");
  // A lone 0x9B byte (CSI on an 8-bit terminal) and other invalid UTF-8.
  EXPECT_EQ(terminal_safe("\x9b"
                          "2J\xff\xc3("),
            "\\x9b2J\\xff\\xc3(");
  EXPECT_EQ(terminal_safe(std::string("nul\0x", 5)), "nul\\x00x");
  // Nothing that starts an escape sequence survives, whatever the input.
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  const std::string safe = terminal_safe(all + "\xc2\x80\xc2\x9f");
  for (unsigned char c : safe) EXPECT_TRUE(c >= 0x20 && c != 0x7f) << static_cast<int>(c);
  EXPECT_EQ(safe.find("\xc2\x80"), std::string::npos);
  EXPECT_EQ(safe.find("\xc2\x9f"), std::string::npos);
  EXPECT_TRUE(utf8::is_valid(safe));
}

}  // namespace
}  // namespace fragua

namespace fragua {
namespace {

// The bytes a stream holds back: a lead byte whose continuation bytes have not all arrived.
TEST(Utf8, IncompleteSuffix) {
  EXPECT_EQ(utf8::incomplete_suffix(""), 0u);
  EXPECT_EQ(utf8::incomplete_suffix("abc"), 0u);
  EXPECT_EQ(utf8::incomplete_suffix("a\xC3"), 1u);              // ñ = C3 B1, cut after its lead
  EXPECT_EQ(utf8::incomplete_suffix("a\xC3\xB1"), 0u);          // complete
  EXPECT_EQ(utf8::incomplete_suffix("\xE2\x82"), 2u);           // € = E2 82 AC
  EXPECT_EQ(utf8::incomplete_suffix("\xF0\x9F\x99"), 3u);       // 🙂 = F0 9F 99 82
  EXPECT_EQ(utf8::incomplete_suffix("\xF0\x9F\x99\x82"), 0u);
  EXPECT_EQ(utf8::incomplete_suffix("a\xFF"), 0u);              // never a lead: nothing to wait for
  EXPECT_EQ(utf8::incomplete_suffix("a\xC0"), 0u);              // C0/C1 only lead overlong forms
  EXPECT_EQ(utf8::incomplete_suffix("\x82\x82\x82\x82"), 0u);   // stray continuation bytes
}

}  // namespace
}  // namespace fragua
