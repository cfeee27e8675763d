// SPDX-License-Identifier: Apache-2.0
// End-to-end checks of the `fragua` binary: exit codes and messages users see.
#include <gtest/gtest.h>

#include "fragua/base/file.h"
#include "test_util.h"

namespace fragua {
namespace {


TEST(Cli, HelpListsEverySubcommandWithoutConflicts) {
  std::string out;
  ASSERT_EQ(test::run_command(test::cli_path() + " --help", &out), 0) << out;
  for (const char* sub : {"info", "generate", "chat", "dev"}) EXPECT_NE(out.find(sub), std::string::npos) << sub;
}

TEST(Cli, GenerateFromTextAndIds) {
  std::string out;
  ASSERT_EQ(test::run_command(test::cli_path() + " generate " + test::golden_model("llama_gqa_f32.gguf") +
                                  " -p hola -n 4 --temp 0 -t 1 2>/dev/null",
                              &out),
            0)
      << out;
  EXPECT_NE(out.find(" t"), std::string::npos) << out;  // synthetic vocabulary pieces "▁t123"
  ASSERT_EQ(test::run_command(test::cli_path() + " generate " + test::golden_model("llama_gqa_f32.gguf") +
                                  " --prompt-ids 1,17 -n 3 --temp 0 2>/dev/null",
                              &out),
            0);
  EXPECT_EQ(std::count(out.begin(), out.end(), ' '), 3) << out;
}

TEST(Cli, BadInputGivesAClearErrorAndNonZeroExit) {
  test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("junk.gguf"), "GGUF\x03").ok());
  std::string out;
  EXPECT_EQ(test::run_command(test::cli_path() + " info " + dir.file("junk.gguf"), &out), 1);
  EXPECT_NE(out.find("fragua: error: corrupt input: " + dir.file("junk.gguf") +
                     ": truncated at byte offset 4 reading version"),
            std::string::npos)
      << out;
  EXPECT_EQ(test::run_command(test::cli_path() + " generate " + dir.file("missing.gguf") + " -p x", &out), 1);
  EXPECT_NE(out.find("not found"), std::string::npos) << out;
  EXPECT_EQ(
      test::run_command(test::cli_path() + " generate " + test::golden_model("llama_gqa_f32.gguf") + " --prompt-ids 1,99999", &out),
      1);
  EXPECT_NE(out.find("token 99999 at index 1 is outside the vocabulary"), std::string::npos) << out;
}

TEST(Cli, ChatRunsTurnsWithATemplate) {
  std::string out;
  ASSERT_EQ(test::run_command("printf 'hola\\nqué tal\\n' | " + test::cli_path() + " chat " +
                                  test::golden_model("llama_gqa_f32.gguf") + " --template chatml -n 4 --temp 0 -t 1",
                              &out),
            0)
      << out;
  EXPECT_NE(out.find("fragua chat"), std::string::npos);
  EXPECT_EQ(test::run_command("printf 'hola\\n' | " + test::cli_path() + " chat " + test::golden_model("llama_gqa_f32.gguf") +
                                  " --template '{{ weird }}'",
                              &out),
            1);
  EXPECT_NE(out.find("fragua: error"), std::string::npos) << out;
}

}  // namespace
}  // namespace fragua
