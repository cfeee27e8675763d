// SPDX-License-Identifier: Apache-2.0
// Files Fragua writes for other tools, through the CLI: `tokenizer convert` to a SentencePiece
// .model that spm_encode reads with Fragua's ids, to a Hugging Face folder (tokenizer.json with
// its two config files), and the fertility chart of `tokenizer stats`.
#include <filesystem>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "test_util.h"

namespace fragua {
namespace {

const char* kInteropText =
    "La ciutat de València té molts carrers.\nEl gato duerme en la cocina, ¿verdad?\n"
    "Etxeko atea irekita dago 2026an.\nA cidade ten moitas rúas e prazas.\n";

TEST(CliInterop, TokenizerConvertToSentencePieceModelMatchesSpmEncode) {
  test::TempDir dir;
  const std::string model = test::golden_model("llama_gqa_f32.gguf");
  std::string out;
  ASSERT_EQ(test::run_command(test::cli_path() + " tokenizer convert -k " + model + " -o " + dir.file("tok.model"), &out),
            0)
      << out;
  test::write_test_file(dir.file("text.txt"), kInteropText);
  std::string ours;
  ASSERT_EQ(test::run_command(test::cli_path() + " tokenizer encode -k " + dir.file("tok.model") +
                                  " --no-bos --no-parse-special -i " + dir.file("text.txt"),
                              &ours),
            0)
      << ours;
  std::string from_gguf;
  ASSERT_EQ(test::run_command(test::cli_path() + " tokenizer encode -k " + model + " --no-bos --no-parse-special -i " +
                                  dir.file("text.txt"),
                              &from_gguf),
            0);
  EXPECT_EQ(ours, from_gguf);  // the .model reads back as the GGUF's tokenizer
  if (test::run_command("command -v spm_encode >/dev/null") != 0)
    GTEST_SKIP() << "spm_encode not installed (Debian package sentencepiece)";
  std::string spm;
  ASSERT_EQ(test::run_command("spm_encode --model=" + dir.file("tok.model") + " --output_format=id < " +
                                  dir.file("text.txt"),
                              &spm),
            0)
      << spm;
  EXPECT_EQ(spm, ours);
}

TEST(CliInterop, TokenizerJsonComesWithItsHuggingFaceConfigFiles) {
  test::TempDir dir;
  std::string out;
  ASSERT_EQ(test::run_command(test::cli_path() + " tokenizer convert -k " + test::golden_model("llama_gqa_f32.gguf") +
                                  " -o " + dir.file("hf/tokenizer.json"),
                              &out),
            0)
      << out;
  auto config = nlohmann::json::parse(*read_file(dir.file("hf/tokenizer_config.json")), nullptr, false);
  auto map = nlohmann::json::parse(*read_file(dir.file("hf/special_tokens_map.json")), nullptr, false);
  EXPECT_EQ(config["tokenizer_class"], "PreTrainedTokenizerFast");
  EXPECT_EQ(config["bos_token"], "<s>");
  EXPECT_EQ(map["eos_token"], "</s>");
  // Another file name is tokenizer.json alone: nothing else is written beside it.
  ASSERT_EQ(test::run_command(test::cli_path() + " tokenizer convert -k " + test::golden_model("llama_gqa_f32.gguf") +
                                  " -o " + dir.file("other/tok.json"),
                              &out),
            0)
      << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("other/tokenizer_config.json")));
}

TEST(CliInterop, TokenizerStatsDrawsAFertilityChart) {
  test::TempDir dir;
  test::write_test_file(dir.file("es.txt"), "El gato duerme en la cocina.\nLa casa es grande.\n");
  test::write_test_file(dir.file("eu.txt"), "Etxeko atea irekita dago.\nKaixo, zer moduz zaude?\n");
  std::string out;
  ASSERT_EQ(test::run_command(test::cli_path() + " tokenizer stats -k " + test::golden_model("llama_gqa_f32.gguf") +
                                  " --text es=" + dir.file("es.txt") + " --text eu=" + dir.file("eu.txt") + " --json " +
                                  dir.file("s.json") + " --svg " + dir.file("f.svg") + " -t 1",
                              &out),
            0)
      << out;
  const std::string svg = *read_file(dir.file("f.svg"));
  EXPECT_EQ(svg.rfind("<svg", 0), 0u) << svg.substr(0, 200);
  // One bar per language, its tooltip the figure of the JSON.
  for (const auto& s : nlohmann::json::parse(*read_file(dir.file("s.json")))) {
    char want[64];
    std::snprintf(want, sizeof want, ": %.3f tokens per word", s["fertility"].get<double>());
    EXPECT_NE(svg.find(s["lang"].get<std::string>() + want), std::string::npos) << want << "\n" << svg;
  }
  EXPECT_NE(svg.find(">es<"), std::string::npos);
  EXPECT_NE(svg.find(">eu<"), std::string::npos);
}

}  // namespace
}  // namespace fragua
