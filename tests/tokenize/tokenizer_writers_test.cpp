// SPDX-License-Identifier: Apache-2.0
// The SentencePiece .model writer against SentencePiece itself (Debian `sentencepiece`:
// spm_encode loads the file we write and must encode as Fragua does), and the Hugging Face
// tokenizer_config.json / special_tokens_map.json writer.
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "fragua/base/file.h"
#include "fragua/tokenize/tokenizer.h"
#include "fragua/tokenize/tokenizer_files.h"
#include "fragua/tokenize/trainer.h"
#include "test_util.h"
#include "text_gen.h"
#include "tokenize/chat_template.h"

namespace fragua::tokenize {
namespace {

bool have_spm_tools() {
  return fragua::test::run_command("command -v spm_train >/dev/null && command -v spm_encode >/dev/null") == 0;
}

// spm_encode's ids for each line of `text_path` with the model at `model_path`.
std::vector<std::vector<int32_t>> spm_encode_ids(const std::string& model_path, const std::string& text_path) {
  std::string out;
  const int rc = fragua::test::run_command(
      "spm_encode --model=" + model_path + " --output_format=id < " + text_path + " 2>&1", &out);
  EXPECT_EQ(rc, 0) << out;
  std::vector<std::vector<int32_t>> lines;
  std::istringstream is(out);
  for (std::string line; std::getline(is, line);) {
    std::istringstream ws(line);
    lines.emplace_back();
    for (int32_t id; ws >> id;) lines.back().push_back(id);
  }
  return lines;
}

TEST(SentencePieceWriter, FraguaTrainedTokenizerEncodesAsSpmEncode) {
  if (!have_spm_tools()) GTEST_SKIP() << "spm_encode not installed (Debian package sentencepiece)";
  fragua::test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("train.txt"), test::make_text(3, 1500, false)).ok());
  const std::string heldout = test::make_text(4, 200, true);
  ASSERT_TRUE(write_file_atomic(dir.file("heldout.txt"), heldout).ok());
  TrainOptions t;
  t.inputs.push_back({dir.file("train.txt"), "es"});
  t.vocab_size = 900;
  t.threads = 1;
  auto tok = train_bpe(t);
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  ASSERT_TRUE(save_sentencepiece_model(*tok, dir.file("fragua.model")).ok());
  const auto want = spm_encode_ids(dir.file("fragua.model"), dir.file("heldout.txt"));
  std::istringstream lines(heldout);
  size_t n = 0, mismatches = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    ASSERT_LT(n, want.size());
    const auto got = tok->encode(line, /*add_special=*/false, /*parse_special=*/false);
    EXPECT_EQ(got, want[n]) << "line " << n << ": '" << line << "'";
    mismatches += got != want[n];
  }
  EXPECT_EQ(n, 200u);
  EXPECT_EQ(mismatches, 0u);
  // And Fragua reads its own .model back to the same vocabulary.
  auto back = Tokenizer::from_sentencepiece_model(dir.file("fragua.model"));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->spec().tokens, tok->spec().tokens);
  EXPECT_EQ(back->spec().scores, tok->spec().scores);
}

TEST(SentencePieceWriter, SpmModelRoundTripsThroughFragua) {
  if (!have_spm_tools()) GTEST_SKIP() << "spm_train/spm_encode not installed (Debian package sentencepiece)";
  fragua::test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("train.txt"), test::make_text(1, 1500, true)).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("heldout.txt"), test::make_text(2, 200, true)).ok());
  std::string out;
  ASSERT_EQ(fragua::test::run_command("spm_train --input=" + dir.file("train.txt") + " --model_prefix=" +
                                          dir.file("m") +
                                          " --model_type=bpe --vocab_size=800 --byte_fallback=true --minloglevel=2 "
                                          "--num_threads=1 --normalization_rule_name=identity",
                                      &out),
            0)
      << out;
  auto tok = Tokenizer::from_sentencepiece_model(dir.file("m.model"));
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  ASSERT_TRUE(save_sentencepiece_model(*tok, dir.file("again.model")).ok());
  const auto original = spm_encode_ids(dir.file("m.model"), dir.file("heldout.txt"));
  EXPECT_EQ(original.size(), 200u);
  EXPECT_EQ(spm_encode_ids(dir.file("again.model"), dir.file("heldout.txt")), original);
}

TEST(SentencePieceWriter, ByteLevelBpeIsRefused) {
  auto tok = Tokenizer::from_hf_json_text(test::byte_level_json().dump(), "byte.json");
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  fragua::test::TempDir dir;
  auto st = save_sentencepiece_model(*tok, dir.file("x.model"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::unsupported);
  EXPECT_NE(st.error().to_string().find("x.model"), std::string::npos) << st.error().to_string();
  EXPECT_FALSE(std::ifstream(dir.file("x.model")).good());  // nothing written
}

TEST(HfConfigWriter, TokenizerConfigAndSpecialTokensMap) {
  VocabSpec spec = test::chatml_spec();
  spec.chat_template = "chatml";
  spec.add_bos = true;
  spec.eos_id = 257;  // <|im_end|>
  auto tok = Tokenizer::from_spec(spec);
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  fragua::test::TempDir dir;
  ASSERT_TRUE(save_hf_config(*tok, dir.path()).ok());
  auto config = nlohmann::json::parse(*read_file(dir.file("tokenizer_config.json")));
  auto map = nlohmann::json::parse(*read_file(dir.file("special_tokens_map.json")));
  EXPECT_EQ(config["tokenizer_class"], "PreTrainedTokenizerFast");
  EXPECT_EQ(config["bos_token"], tok->token_text(tok->bos_id()));
  EXPECT_EQ(config["eos_token"], tok->token_text(tok->eos_id()));
  EXPECT_EQ(config["add_bos_token"], true);
  EXPECT_EQ(config["chat_template"], *chat_template_as_jinja("chatml"));  // Jinja, not the name
  EXPECT_EQ(map["bos_token"], config["bos_token"]);
  EXPECT_EQ(map["eos_token"], config["eos_token"]);
  // Every control token is in added_tokens_decoder, under its id, marked special.
  const int32_t im_start = tok->token_id("<|im_start|>");
  ASSERT_GE(im_start, 0);
  const auto& entry = config["added_tokens_decoder"][std::to_string(im_start)];
  EXPECT_EQ(entry["content"], "<|im_start|>");
  EXPECT_EQ(entry["special"], true);
}

}  // namespace
}  // namespace fragua::tokenize
