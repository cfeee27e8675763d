// SPDX-License-Identifier: Apache-2.0
// Exactness against llama.cpp's tokenizer test vectors (../shared/data/tokenizer-vectors): every
// input is encoded without BOS and without parsing special tokens, as llama.cpp's
// tests/test-tokenizer-0 does, and must give the expected ids token for token.
#include <fstream>
#include <sstream>

#include "fragua/format/gguf.h"
#include "fragua/tokenize/tokenizer.h"
#include "test_util.h"

namespace fragua::tokenize {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<Case> read_cases(const std::string& gguf) {
  std::string inp = slurp(gguf + ".inp");
  std::string out = slurp(gguf + ".out");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < inp.size();) {
    size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      texts.push_back(inp.substr(pos));
      break;
    }
    texts.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<Case> cases;
  std::istringstream lines(out);
  std::string line;
  for (size_t i = 0; std::getline(lines, line); ++i) {
    Case c;
    c.text = i < texts.size() ? texts[i] : "";
    std::istringstream ids(line);
    int32_t id;
    while (ids >> id) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  EXPECT_EQ(texts.size(), cases.size()) << gguf;
  return cases;
}

class Vectors : public ::testing::TestWithParam<const char*> {};

TEST_P(Vectors, EncodeMatchesLlamaCpp) {
  FRAGUA_REQUIRE_SHARED(dir, "data/tokenizer-vectors");
  std::string path = dir + "/ggml-vocab-" + GetParam() + ".gguf";
  auto file = format::GgufFile::open(path);
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  auto tok = Tokenizer::from_gguf(*file);
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  auto cases = read_cases(path);
  ASSERT_GE(cases.size(), 40u);
  int failures = 0;
  for (const auto& c : cases) {
    auto got = tok->encode(c.text, false, false);
    EXPECT_EQ(got, c.ids) << GetParam() << ": '" << c.text << "'";
    failures += got != c.ids;
    // Lossless: decoding gives the text back (SPM drops the one space it added in front).
    EXPECT_EQ(tok->decode(got), c.text) << GetParam() << ": '" << c.text << "'";
  }
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(LlamaCpp, Vectors, ::testing::Values("llama-spm", "phi-3", "gpt-2", "mpt", "refact"));

}  // namespace
}  // namespace fragua::tokenize
