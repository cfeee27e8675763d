// SPDX-License-Identifier: Apache-2.0
// `fragua imatrix` as users run it: the bundled calibration text without -f, the per-chunk
// perplexity llama.cpp prints, a file that read_imatrix accepts, and errors with a non-zero exit
// and no output file.
#include <gtest/gtest.h>

#include "fragua/base/file.h"
#include "fragua/model/quantize.h"
#include "test_util.h"

namespace fragua {
namespace {


TEST(CliImatrix, WritesAFileQuantizeReads) {
  test::TempDir dir;
  std::string log;
  const std::string out = dir.file("imatrix.dat");
  // No -f: the bundled es/ca/eu/gl text.
  ASSERT_EQ(test::run_command(test::cli_path() + " imatrix " + test::golden_model("llama_gqa_f32.gguf") + " -o " + out +
                                  " --ctx 32 --chunks 3 -t 2 -q",
                              &log),
            0)
      << log;
  for (const char* want : {"[1]", "[3]", "Final estimate: PPL = ", "14 entries from 3 chunks of 32 tokens"})
    EXPECT_NE(log.find(want), std::string::npos) << want << "\n" << log;
  auto m = model::read_imatrix(out);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->size(), 14u) << "7 matrices in each of 2 layers";
  EXPECT_FALSE(m->count("output.weight"));

  ASSERT_EQ(test::run_command(test::cli_path() + " imatrix " + test::golden_model("llama_gqa_f32.gguf") + " -o " + out +
                                  " --ctx 32 --chunks 2 --process-output -q",
                              &log),
            0)
      << log;
  m = model::read_imatrix(out);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->count("output.weight")) << "--process-output";

  ASSERT_EQ(test::run_command(test::cli_path() + " quantize -q " + test::golden_model("llama_gqa_f32.gguf") + " " +
                                  dir.file("q.gguf") + " Q4_0 --imatrix " + out + " -t 2",
                              &log),
            0)
      << log;
  EXPECT_NE(log.find("with the importance matrix"), std::string::npos) << log;
}

TEST(CliImatrix, BadInputFailsWithoutOutput) {
  test::TempDir dir;
  std::string log;
  const std::string out = dir.file("imatrix.dat");
  EXPECT_EQ(test::run_command(test::cli_path() + " imatrix " + test::golden_model("llama_gqa_f32.gguf") + " -f " +
                                  dir.file("absent.txt") + " -o " + out + " -q",
                              &log),
            1);
  EXPECT_NE(log.find("absent.txt"), std::string::npos) << log;
  ASSERT_TRUE(write_file_atomic(dir.file("short.txt"), "Hola, món. Kaixo, mundua.").ok());
  EXPECT_EQ(test::run_command(test::cli_path() + " imatrix " + test::golden_model("llama_gqa_f32.gguf") + " -f " +
                                  dir.file("short.txt") + " -o " + out + " --ctx 32 -q",
                              &log),
            1);
  EXPECT_NE(log.find("at least 64"), std::string::npos) << log;
  EXPECT_EQ(test::run_command(test::cli_path() + " imatrix " + dir.file("absent.gguf") + " -o " + out + " -q", &log),
            1);
  EXPECT_FALSE(Env::posix().file_exists(out));
}

}  // namespace
}  // namespace fragua
