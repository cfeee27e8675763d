// SPDX-License-Identifier: Apache-2.0
// `fragua quantize` and `fragua info` as users run them: the summary table, a quantized file
// that info describes, and errors with a non-zero exit and no output file.
#include <gtest/gtest.h>

#include "fragua/base/file.h"
#include "test_util.h"

namespace fragua {
namespace {


TEST(CliQuantize, QuantizesAndInfoDescribesTheResult) {
  test::TempDir dir;
  std::string out;
  // The golden model's rows of 64 are no whole k-quant block: Q8_0 applies as is.
  ASSERT_EQ(test::run_command(test::cli_path() + " quantize -q " + test::golden_model("llama_gqa_f32.gguf") + " " +
                                  dir.file("q8.gguf") + " Q8_0 --output-type f16 -t 2",
                              &out),
            0)
      << out;
  EXPECT_NE(out.find("Q8_0"), std::string::npos) << out;
  ASSERT_EQ(test::run_command(test::cli_path() + " info --no-tensors " + dir.file("q8.gguf"), &out), 0) << out;
  for (const char* want : {"parameters", "q8_0", "bits per weight", "share", "context", "vocabulary", "chat template",
                           "supported: yes", "general.file_type"})
    EXPECT_NE(out.find(want), std::string::npos) << want << "\n" << out;
}

TEST(CliQuantize, BadInputFailsWithoutOutput) {
  test::TempDir dir;
  std::string out;
  EXPECT_EQ(
      test::run_command(
          test::cli_path() + " quantize " + test::golden_model("llama_gqa_f32.gguf") + " " + dir.file("o.gguf") + " Q9_X", &out),
      1);
  EXPECT_NE(out.find("unknown quantization type 'Q9_X'"), std::string::npos) << out;
  ASSERT_TRUE(write_file_atomic(dir.file("junk.gguf"), "not gguf").ok());
  EXPECT_EQ(test::run_command(
                test::cli_path() + " quantize " + dir.file("junk.gguf") + " " + dir.file("o.gguf") + " Q4_K_M", &out),
            1);
  EXPECT_NE(out.find("junk.gguf"), std::string::npos) << out;
  EXPECT_EQ(test::run_command(test::cli_path() + " quantize " + test::golden_model("llama_gqa_f32.gguf") + " " +
                                  dir.file("o.gguf") + " Q4_K_M --embd-type q9",
                              &out),
            1);
  EXPECT_NE(out.find("--embd-type 'q9'"), std::string::npos) << out;
  EXPECT_FALSE(Env::posix().file_exists(dir.file("o.gguf")));
}

}  // namespace
}  // namespace fragua
