// SPDX-License-Identifier: Apache-2.0
// `fragua convert` as users run it: convert, then `fragua generate` continues the reference's
// token sequence with the token the PyTorch reference ranks first; bad input exits non-zero,
// names the file and field, and leaves no output.
#include <cstring>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "test_util.h"

namespace fragua {
namespace {

std::string hf(const std::string& name) { return test::source_dir() + "/tests/reference/model/hf/" + name; }

// The reference's greedy next token after the whole sequence: argmax of its last logit row.
int reference_next_token(const std::string& model, size_t n_tokens) {
  auto bytes = *read_file(hf(model + ".logits.f32"));
  const size_t V = bytes.size() / 4 / n_tokens;
  int best = 0;
  float best_v = -1e30f;
  for (size_t v = 0; v < V; ++v) {
    float x;
    std::memcpy(&x, bytes.data() + 4 * ((n_tokens - 1) * V + v), 4);
    if (x > best_v) best_v = x, best = static_cast<int>(v);
  }
  return best;
}

TEST(CliConvert, ConvertThenGenerateContinuesAsTheReference) {
  test::TempDir dir;
  const auto ref = nlohmann::json::parse(*read_file(hf("reference.json")));
  const auto tokens = ref["tokens"].get<std::vector<int>>();
  std::string ids;
  for (int t : tokens) ids += (ids.empty() ? "" : ",") + std::to_string(t);
  for (const char* m : {"llama_gqa", "granite_tied"}) {
    const std::string gguf = dir.file(std::string(m) + ".gguf");
    std::string out;
    ASSERT_EQ(test::run_command(test::cli_path() + " convert " + hf(m) + " -o " + gguf + " --outtype f32", &out), 0)
        << out;
    EXPECT_NE(out.find("wrote " + gguf), std::string::npos) << out;
    ASSERT_EQ(test::run_command(test::cli_path() + " generate " + gguf + " --prompt-ids " + ids +
                                    " --no-bos -n 1 --temp 0 2>/dev/null",
                                &out),
              0)
        << out;
    EXPECT_EQ(std::stoi(out), reference_next_token(m, tokens.size())) << m << ": " << out;
  }
}

TEST(CliConvert, BadInputFailsWithoutOutput) {
  test::TempDir dir;
  std::string out;
  EXPECT_EQ(test::run_command(test::cli_path() + " convert " + dir.path() + " -o " + dir.file("o.gguf"), &out), 1);
  EXPECT_NE(out.find(dir.file("config.json")), std::string::npos) << out;
  EXPECT_EQ(
      test::run_command(
          test::cli_path() + " convert " + hf("llama_gqa") + " -o " + dir.file("o.gguf") + " --outtype q4_0", &out),
      1);
  EXPECT_NE(out.find("'q4_0' is not one of f32, f16, bf16, q8_0"), std::string::npos) << out;
  ASSERT_TRUE(write_file_atomic(dir.file("config.json"), R"({"architectures": ["GPT2LMHeadModel"]})").ok());
  EXPECT_EQ(test::run_command(test::cli_path() + " convert " + dir.path() + " -o " + dir.file("o.gguf"), &out), 1);
  EXPECT_NE(out.find("\"vocab_size\" is missing"), std::string::npos) << out;
  EXPECT_FALSE(Env::posix().file_exists(dir.file("o.gguf")));
}

}  // namespace
}  // namespace fragua
