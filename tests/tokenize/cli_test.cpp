// SPDX-License-Identifier: Apache-2.0
// End to end through the `fragua tokenizer` CLI.
#include <filesystem>

#include "fragua/base/file.h"
#include "test_util.h"
#include "text_gen.h"

namespace fragua::tokenize {
namespace {

using fragua::test::cli_path;
using fragua::test::run_command;

TEST(TokenizerCli, TrainEncodeDecodeStats) {
  fragua::test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("es.txt"), test::make_text(21, 800, false)).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("mix.jsonl"),
                                "{\"text\": \"Bon dia a tothom, com anem?\", \"lang\": \"ca\"}\n"
                                "{\"text\": \"Egun on guztioi, zer moduz?\", \"lang\": \"eu\"}\n")
                  .ok());
  std::string out;
  std::string cli = cli_path();
  ASSERT_EQ(
      run_command(cli + " -q tokenizer train -i es=" + dir.file("es.txt") + " -i " + dir.file("mix.jsonl") +
                      " --mix es=0.5,ca=0.3,eu=0.2 --vocab-size 600 --special '<|im_start|>' -o " + dir.file("tok"),
                  &out),
      0)
      << out;
  ASSERT_TRUE(std::filesystem::exists(dir.file("tok.gguf")));
  ASSERT_TRUE(std::filesystem::exists(dir.file("tok.tokenizer.json")));

  std::string text = "Kaixo! ¿Qué tal? 2026 🙂";
  ASSERT_EQ(run_command(cli + " tokenizer encode -k " + dir.file("tok.gguf") + " --text '" + text + "'", &out), 0)
      << out;
  std::string ids = out.substr(0, out.find('\n'));
  ASSERT_FALSE(ids.empty());
  ASSERT_EQ(run_command(cli + " tokenizer decode -k " + dir.file("tok.tokenizer.json") + " " + ids, &out), 0) << out;
  EXPECT_EQ(out, text + "\n");

  ASSERT_EQ(run_command(cli + " tokenizer stats -k " + dir.file("tok.gguf") + " --text es=" + dir.file("es.txt"), &out),
            0)
      << out;
  EXPECT_NE(out.find("tok/word"), std::string::npos);
  EXPECT_NE(out.find("es"), std::string::npos);
}

TEST(TokenizerCli, ErrorsNameThePlace) {
  fragua::test::TempDir dir;
  std::string out, cli = cli_path();
  EXPECT_NE(run_command(cli + " tokenizer encode -k " + dir.file("missing.gguf") + " --text hi", &out), 0);
  EXPECT_NE(out.find("missing.gguf"), std::string::npos) << out;
  ASSERT_TRUE(write_file_atomic(dir.file("bad.jsonl"), "{\"text\": \"hola\", \"lang\": \"es\"}\nnot json\n").ok());
  EXPECT_NE(
      run_command(cli + " tokenizer train -i " + dir.file("bad.jsonl") + " --vocab-size 400 -o " + dir.file("t"), &out),
      0);
  EXPECT_NE(out.find("bad.jsonl:2"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("t.gguf")));  // no partial output
  EXPECT_NE(
      run_command(cli + " tokenizer train -i " + dir.file("bad.jsonl") + " --mix es=abc -o " + dir.file("t"), &out), 0);
  EXPECT_NE(out.find("--mix"), std::string::npos) << out;
}

}  // namespace
}  // namespace fragua::tokenize
