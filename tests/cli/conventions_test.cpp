// SPDX-License-Identifier: Apache-2.0
// Command-line conventions users bring from llama.cpp: its spellings as aliases of Fragua's own,
// the old spellings kept, usage errors with exit status 2, --help showing the defaults used.
#include <gtest/gtest.h>

#include "test_util.h"

namespace fragua {
namespace {

std::string generate_with(const std::string& flags) {
  std::string out;
  const int rc = test::run_command(test::cli_path() + " generate " + test::golden_model("llama_gqa_f32.gguf") +
                                       " -p hola --temp 0 -t 1 " + flags + " 2>/dev/null",
                                   &out);
  EXPECT_EQ(rc, 0) << flags << ": " << out;
  return out;
}

TEST(CliConventions, LlamaCppSpellingsEqualFraguasOwn) {
  const std::string own = generate_with("--max-tokens 3 --ctx 64");
  EXPECT_FALSE(own.empty());
  EXPECT_EQ(generate_with("-n 3 -c 64"), own);
  EXPECT_EQ(generate_with("--n-predict 3 --ctx-size 64"), own);
  // A different count gives a different output, so the equalities above are not vacuous.
  EXPECT_NE(generate_with("-n 1 -c 64"), own);
  const std::string chat = generate_with("-n 3 --chat --chat-template chatml --system-prompt hi");
  EXPECT_EQ(generate_with("-n 3 --chat --template chatml --system hi"), chat);
}

TEST(CliConventions, UsageErrorsExitWithTwo) {
  std::string out;
  EXPECT_EQ(test::run_command(test::cli_path() + " generate", &out), 2) << out;
  EXPECT_NE(out.find("model"), std::string::npos) << out;  // says what was expected
  EXPECT_EQ(test::run_command(test::cli_path() + " generate x.gguf --no-such-flag", &out), 2) << out;
  EXPECT_NE(out.find("--no-such-flag"), std::string::npos) << out;
  EXPECT_EQ(test::run_command(test::cli_path() + " no-such-command", &out), 2) << out;
  EXPECT_EQ(test::run_command(test::cli_path() + " --help", &out), 0) << out;
  EXPECT_EQ(test::run_command(test::cli_path() + " --version", &out), 0) << out;
}

TEST(CliConventions, HelpShowsTheDefaultsUsed) {
  std::string out;
  ASSERT_EQ(test::run_command(test::cli_path() + " chat --help", &out), 0) << out;
  EXPECT_NE(out.find("--max-tokens INT=512"), std::string::npos) << out;
  ASSERT_EQ(test::run_command(test::cli_path() + " generate --help", &out), 0) << out;
  EXPECT_NE(out.find("--max-tokens INT=128"), std::string::npos) << out;
}

}  // namespace
}  // namespace fragua
