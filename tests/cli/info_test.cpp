// `fragua info` and error messages on a hostile GGUF (issue 12, defect 14): names and values from
// the file reach the terminal escaped, never as escape sequences.
#include <gtest/gtest.h>

#include "fragua/format/gguf.h"
#include "test_util.h"

namespace fragua {
namespace {

// OSC 0 (retitle the window) + BEL, CSI 2J (clear the screen), and U+009B (C1 CSI) in UTF-8.
const std::string kEsc = "\x1b]0;pwned\x07\x1b[2J\xc2\x9b" "31m";

void expect_no_control_sequences(const std::string& out) {
  for (unsigned char c : out) {
    EXPECT_FALSE(c < 0x20 && c != '\n') << "control byte " << static_cast<int>(c) << " in:\n" << out;
    EXPECT_NE(c, 0x7f);
  }
  EXPECT_EQ(out.find("\xc2\x9b"), std::string::npos) << out;
}

TEST(CliInfo, NamesAndValuesFromTheFileAreEscaped) {
  test::TempDir dir;
  format::GgufWriter w;
  w.set("general.architecture", format::GgufValue::of_string("llama"));
  w.set("general.name", format::GgufValue::of_string("name" + kEsc));
  w.set("evil.key" + kEsc, format::GgufValue::of_string("value" + kEsc));
  w.set("evil.list", format::GgufValue::of_strings({"item" + kEsc}));
  float x[4] = {};
  ASSERT_TRUE(w.add_tensor("tensor" + kEsc, {4}, DType::f32, x, sizeof x).ok());
  ASSERT_TRUE(w.write(dir.file("evil.gguf")).ok());
  std::string out;
  ASSERT_EQ(test::run_command(test::cli_path() + " info " + dir.file("evil.gguf"), &out), 0) << out;
  expect_no_control_sequences(out);
  EXPECT_NE(out.find("evil.key\\x1b]0;pwned\\x07\\x1b[2J\\u{9b}31m"), std::string::npos) << out;
  EXPECT_NE(out.find("\"value\\x1b]0;pwned\\x07"), std::string::npos) << out;
  EXPECT_NE(out.find("\"item\\x1b]0;pwned"), std::string::npos) << out;
  EXPECT_NE(out.find("tensor\\x1b]0;pwned"), std::string::npos) << out;
  // The "not loadable" line carries an error message built from the file.
  EXPECT_NE(out.find("model: not loadable:"), std::string::npos) << out;
}

TEST(CliInfo, ErrorMessagesOnStderrAreEscaped) {
  test::TempDir dir;
  format::GgufWriter w;
  w.set("general.architecture", format::GgufValue::of_string("llama" + kEsc));
  ASSERT_TRUE(w.write(dir.file("arch.gguf")).ok());
  std::string out;
  // generate fails on the unknown architecture, whose name is in the message.
  EXPECT_EQ(test::run_command(test::cli_path() + " generate " + dir.file("arch.gguf") + " --prompt-ids 1", &out), 1) << out;
  expect_no_control_sequences(out);
  EXPECT_NE(out.find("architecture 'llama\\x1b]0;pwned"), std::string::npos) << out;
}

}  // namespace
}  // namespace fragua
