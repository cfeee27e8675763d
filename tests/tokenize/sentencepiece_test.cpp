// SPDX-License-Identifier: Apache-2.0
// Exactness against SentencePiece itself (Debian `sentencepiece`): spm_train trains a BPE model
// on generated text, we load its .model and must encode held-out lines exactly as spm_encode.
#include <fstream>
#include <sstream>

#include "fragua/base/file.h"
#include "fragua/tokenize/tokenizer.h"
#include "test_util.h"
#include "text_gen.h"

namespace fragua::tokenize {
namespace {

bool have_spm() {
  return fragua::test::run_command("command -v spm_train >/dev/null && command -v spm_encode >/dev/null") == 0;
}

void check_against_spm(const std::string& extra_flags, bool rare_in_training) {
  if (!have_spm()) GTEST_SKIP() << "spm_train/spm_encode not installed (Debian package sentencepiece)";
  fragua::test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("train.txt"), test::make_text(1, 2000, rare_in_training)).ok());
  std::string heldout = test::make_text(2, 300, true);
  ASSERT_TRUE(write_file_atomic(dir.file("heldout.txt"), heldout).ok());
  std::string out;
  int rc = fragua::test::run_command("spm_train --input=" + dir.file("train.txt") + " --model_prefix=" + dir.file("m") +
                                         " --model_type=bpe --vocab_size=1200 --byte_fallback=true "
                                         "--minloglevel=2 --num_threads=1 " +
                                         extra_flags,
                                     &out);
  ASSERT_EQ(rc, 0) << out;
  rc = fragua::test::run_command("spm_encode --model=" + dir.file("m.model") + " --output_format=id < " +
                                     dir.file("heldout.txt") + " > " + dir.file("ids.txt"),
                                 &out);
  ASSERT_EQ(rc, 0) << out;

  auto tok = Tokenizer::from_sentencepiece_model(dir.file("m.model"));
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  auto expected = read_file(dir.file("ids.txt"));
  ASSERT_TRUE(expected.ok());
  std::istringstream text_lines(heldout), id_lines(*expected);
  std::string line, ids_line;
  int n = 0, mismatches = 0;
  while (std::getline(text_lines, line)) {
    ASSERT_TRUE(std::getline(id_lines, ids_line));
    std::vector<int32_t> want;
    std::istringstream is(ids_line);
    int32_t id;
    while (is >> id) want.push_back(id);
    auto got = tok->encode(line, false, false);
    EXPECT_EQ(got, want) << "line " << n << ": '" << line << "'";
    mismatches += got != want;
    ++n;
  }
  EXPECT_EQ(n, 300);
  EXPECT_EQ(mismatches, 0);
}

TEST(SentencePiece, BpeIdentityMatchesSpmEncode) { check_against_spm("--normalization_rule_name=identity", false); }

TEST(SentencePiece, BpeNfkcMatchesSpmEncode) { check_against_spm("--normalization_rule_name=nfkc", true); }

TEST(SentencePiece, CorruptModelIsAnErrorWithOffset) {
  std::string bad = "\x0a\xff\x01";  // field 1, length 255, 1 byte present
  auto t = Tokenizer::from_sentencepiece_bytes(bad, "bad.model");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message().find("bad.model"), std::string::npos);
  EXPECT_NE(t.error().message().find("byte offset 0"), std::string::npos) << t.error().message();
}

}  // namespace
}  // namespace fragua::tokenize
