// SPDX-License-Identifier: Apache-2.0
// What reaches a terminal from a hostile GGUF (issue 12, defect 14): `fragua info`'s names and
// values, error messages, and `fragua generate`'s output are escaped, never escape sequences.
#include <gtest/gtest.h>

#include "fragua/format/gguf.h"
#include "fragua/model/random_model.h"
#include "test_util.h"

namespace fragua {
namespace {

// OSC 0 (retitle the window) + BEL, CSI 2J (clear the screen), and U+009B (C1 CSI) in UTF-8.
const std::string kEsc =
    "\x1b]0;pwned\x07\x1b[2J\xc2\x9b"
    "31m";

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
  EXPECT_EQ(test::run_command(test::cli_path() + " generate " + dir.file("arch.gguf") + " --prompt-ids 1", &out), 1)
      << out;
  expect_no_control_sequences(out);
  EXPECT_NE(out.find("architecture 'llama\\x1b]0;pwned"), std::string::npos) << out;
}

// The random model's vocabulary is mostly byte tokens, so sampling emits control bytes (BEL,
// NUL, ESC ...): on a terminal (a pty from script(1)) they are escaped; into a pipe the output
// stays byte for byte.
TEST(CliTerminal, GeneratedTextIsEscapedOnATerminalOnly) {
  if (test::run_command("command -v script >/dev/null") != 0) GTEST_SKIP() << "script(1) not installed";
  test::TempDir dir;
  const std::string model = dir.file("bytes.gguf");
  model::RandomModelSpec spec;  // 262 tokens: <unk>, <s>, </s>, 256 bytes, 3 pieces
  spec.n_vocab = 262;
  spec.n_embd = 8;
  spec.n_layer = 1;
  spec.n_head = 2;
  spec.n_head_kv = 1;
  spec.n_ff = 16;
  spec.n_ctx = 32;
  ASSERT_TRUE(model::write_random_model(spec, model).ok());
  const std::string gen = test::cli_path() + " generate " + model + " -p hola -n 200 --temp 1 --seed 3";
  std::string tty, pipe;
  ASSERT_EQ(test::run_command("script -qec '" + gen + " 2>/dev/null' /dev/null", &tty), 0) << tty;
  ASSERT_EQ(test::run_command(gen + " 2>/dev/null", &pipe), 0) << pipe;
  auto controls = [](const std::string& s) {
    return std::count_if(s.begin(), s.end(), [](char ch) {
      const auto c = static_cast<unsigned char>(ch);
      return (c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f;
    });
  };
  ASSERT_GT(controls(pipe), 0) << "this seed no longer emits control bytes: pick another";
  EXPECT_EQ(controls(tty), 0) << tty;
  EXPECT_NE(tty.find("\\x07"), std::string::npos) << tty;
}

}  // namespace
}  // namespace fragua
