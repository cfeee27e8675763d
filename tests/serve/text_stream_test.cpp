// SPDX-License-Identifier: Apache-2.0
// Stop strings and split characters held back from a stream, against the plain answer: the text
// before the first stop string, cut from the whole output at once.
#include "fragua/serve/text_stream.h"

#include <gtest/gtest.h>

#include "fragua/base/utf8.h"

namespace fragua::serve {
namespace {

// Feeds `pieces`; returns what was emitted after each push (then finish()).
std::vector<std::string> feed(TextStream& ts, const std::vector<std::string>& pieces) {
  std::vector<std::string> out;
  for (const auto& p : pieces) out.push_back(ts.push(p));
  out.push_back(ts.finish());
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x;
  return s;
}

TEST(TextStream, StopStringAcrossTokensIsNeverSent) {
  TextStream ts({"FIN"});
  auto out = feed(ts, {"Hola F", "I", "N y más"});
  EXPECT_EQ(out[0], "Hola ");  // "F" held: it may start the stop string
  EXPECT_EQ(out[1], "");       // "FI" still held
  EXPECT_EQ(out[2], "");       // the stop string: nothing of it is sent
  EXPECT_TRUE(ts.stopped());
  EXPECT_EQ(joined(out), "Hola ");
  EXPECT_EQ(ts.push("later"), "");  // ignored once stopped
}

TEST(TextStream, FalseStartIsReleased) {
  TextStream ts({"FIN"});
  auto out = feed(ts, {"F", "IX", "!"});
  EXPECT_EQ(out[0], "");
  EXPECT_EQ(out[1], "FIX");  // "FIX" cannot begin "FIN"
  EXPECT_FALSE(ts.stopped());
  EXPECT_EQ(joined(out), "FIX!");
}

TEST(TextStream, EarliestOfSeveralStops) {
  TextStream ts({"cd", "b"});
  EXPECT_EQ(joined(feed(ts, {"a", "bcd"})), "a");
  TextStream held({"\n\n"});
  auto out = feed(held, {"x\n", "y\n", "\n", "z"});
  EXPECT_EQ(joined(out), "x\ny");
}

TEST(TextStream, SplitCharacterIsHeldUntilComplete) {
  // "ñ" is C3 B1 and "🙂" is F0 9F 99 82, cut the way byte-fallback tokens cut them.
  TextStream ts;
  auto out = feed(ts, {"a\xC3", "\xB1", "\xF0\x9F", "\x99", "\x82!"});
  EXPECT_EQ(out[0], "a");
  EXPECT_EQ(out[1], "\xC3\xB1");
  EXPECT_EQ(out[2], "");
  EXPECT_EQ(out[3], "");
  EXPECT_EQ(out[4], "\xF0\x9F\x99\x82!");
  for (const auto& s : out) EXPECT_TRUE(utf8::is_valid(s)) << s;
}

TEST(TextStream, InvalidBytesBecomeReplacementCharacters) {
  TextStream ts;
  auto out = feed(ts, {"a\xFF", "b\xC3"});  // FF never starts a character; C3 is cut by the end
  EXPECT_EQ(out[0], "a\xEF\xBF\xBD");
  EXPECT_EQ(out[1], "b");
  EXPECT_EQ(out[2], "\xEF\xBF\xBD");
}

TEST(TextStream, StopWithMultibyteCharacters) {
  TextStream ts({"año"});
  // "añ" arrives as "a", C3, B1: held as a possible start of the stop string, then "o" ends it.
  auto out = feed(ts, {"el a", "\xC3", "\xB1", "o nuevo"});
  EXPECT_EQ(joined(out), "el ");
  EXPECT_TRUE(ts.stopped());
}

// Every cut of a text into two-byte and one-byte pieces gives the text before the first stop
// string, whole, and never a byte of a stop string.
TEST(TextStream, AnyCutGivesThePrefix) {
  const std::string text = "Bon dia, Barça! FINAL: adéu";
  const std::vector<std::string> stops = {"FINAL", "ça!"};
  const std::string want = "Bon dia, Bar";
  for (size_t seed = 1; seed < 40; ++seed) {
    TextStream ts(stops);
    std::string out;
    size_t pos = 0, k = seed;
    while (pos < text.size()) {
      const size_t len = 1 + k % 3;
      k = k * 7 + 3;
      std::string chunk = ts.push(text.substr(pos, len));
      EXPECT_TRUE(utf8::is_valid(chunk));
      out += chunk;
      pos += len;
    }
    out += ts.finish();
    EXPECT_EQ(out, want) << "seed " << seed;
  }
}

}  // namespace
}  // namespace fragua::serve
