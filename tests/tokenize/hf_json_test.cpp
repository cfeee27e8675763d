// SPDX-License-Identifier: Apache-2.0
// Hostile tokenizer.json files (issue 12): each is refused with an error that names the file and
// the place, in bounded time and memory, in the library and through the CLI.
#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "fragua/base/file.h"
#include "fragua/tokenize/tokenizer.h"
#include "test_util.h"

namespace fragua::tokenize {
namespace {

using nlohmann::json;

TEST(HardeningHfJson, TheFixtureLoads) {
  auto tok = Tokenizer::from_hf_json_text(test::byte_level_json().dump(), "base.json");
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  EXPECT_EQ(tok->decode(tok->encode("hola aaaa", false, false)), "hola aaaa");
}

// Defect 1: about 200 KB of nested brackets as a vocabulary value (a stack overflow before the
// depth check in parse_json).
std::string nested_vocab_value() {
  std::string text = test::byte_level_json().dump();
  const std::string key = "\"a\":97";
  size_t at = text.find(key);
  EXPECT_NE(at, std::string::npos);
  return text.replace(at, key.size(), "\"a\":" + std::string(100000, '[') + std::string(100000, ']'));
}

TEST(HardeningHfJson, NestedVocabularyValueIsACleanError) {
  auto t = Tokenizer::from_hf_json_text(nested_vocab_value(), "nested.json");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code(), ErrorCode::corruption);
  EXPECT_NE(t.error().message().find("nested.json"), std::string::npos) << t.error().message();
  EXPECT_NE(t.error().message().find("byte offset"), std::string::npos) << t.error().message();
}

TEST(HardeningHfJson, NestedVocabularyValueThroughTheCli) {
  fragua::test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("nested.json"), nested_vocab_value()).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("t.txt"), "hola\n").ok());
  for (std::string cmd : {"tokenizer encode -k " + dir.file("nested.json") + " --text hola",
                          "tokenizer stats -k " + dir.file("nested.json") + " --text es=" + dir.file("t.txt")}) {
    auto r = test::run_cli_bounded(cmd, 30);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 1) << r.output;  // not a signal (it was SIGSEGV)
    EXPECT_NE(r.output.find("nested.json: JSON nested deeper than 64 levels at byte offset"), std::string::npos)
        << r.output;
    EXPECT_LT(r.peak_rss_mb, 400);  // ASan build: about 60 MB measured
  }
}

// Defect 2: nested Sequence normalizers/pre-tokenizers copied whole at every level (4,000 levels
// in 150 KB took 11 s and 2.9 GB). Eight levels load; a ninth is refused with its JSON path.
TEST(HardeningHfJson, SequenceNestingIsBoundedAndNamesThePath) {
  json bl = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  json j = test::byte_level_json();
  j["pre_tokenizer"] = test::nested_sequence(bl, 8, false);
  j["normalizer"] = test::nested_sequence(json{{"type", "NFC"}}, 8, true);
  auto ok = Tokenizer::from_hf_json_text(j.dump(), "eight.json");
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(ok->decode(ok->encode("hola", false, false)), "hola");

  j["pre_tokenizer"] = test::nested_sequence(bl, 9, false);
  auto pre = Tokenizer::from_hf_json_text(j.dump(), "nine.json");
  ASSERT_FALSE(pre.ok());
  EXPECT_EQ(pre.error().code(), ErrorCode::corruption);
  std::string path = "pre_tokenizer";
  for (int i = 0; i < 8; ++i) path += ".pretokenizers[0]";
  EXPECT_NE(pre.error().message().find("nine.json: " + path + ": Sequence nested deeper than 8 levels"),
            std::string::npos)
      << pre.error().message();

  j["pre_tokenizer"] = bl;
  j["normalizer"] = test::nested_sequence(json{{"type", "NFC"}}, 30, true);
  auto norm = Tokenizer::from_hf_json_text(j.dump(), "norm.json");
  ASSERT_FALSE(norm.ok());
  EXPECT_NE(norm.error().message().find("norm.json: normalizer.normalizers[0]"), std::string::npos)
      << norm.error().message();
}

TEST(HardeningHfJson, ThousandsOfSequenceLevelsThroughTheCli) {
  // The issue's file: 4,000 levels. Refused by the JSON depth bound before any walk; 30 levels
  // pass that bound and are refused by the Sequence bound.
  fragua::test::TempDir dir;
  json bl = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  for (int levels : {30, 4000}) {
    std::string name = dir.file("seq" + std::to_string(levels) + ".json");
    std::string inner = bl.dump(), text = test::byte_level_json().dump();
    std::string nested;
    for (int i = 0; i < levels; ++i) nested += R"({"type":"Sequence","pretokenizers":[)";
    nested += inner;
    for (int i = 0; i < levels; ++i) nested += "]}";
    size_t at = text.find(inner);
    ASSERT_NE(at, std::string::npos);
    ASSERT_TRUE(write_file_atomic(name, text.replace(at, inner.size(), nested)).ok());
    auto r = test::run_cli_bounded("tokenizer encode -k " + name + " --text hola", 30);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(name), std::string::npos) << r.output;
    EXPECT_LT(r.peak_rss_mb, 400);  // ASan build: about 60 MB measured (2.9 GB before, release)
  }
}

// Defect 10: one id of 4,194,303 in a 548-byte file made the loader allocate 4 million slots
// (166 MB) before the contiguity check; ids are now checked against the number of entries.
TEST(HardeningHfJson, HugeIdIsRefusedBeforeAllocating) {
  std::string text = R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 4194303}, "merges": []},
                         "decoder": {"type": "ByteLevel"}})";
  auto t = Tokenizer::from_hf_json_text(text, "big.json");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code(), ErrorCode::corruption);
  EXPECT_NE(
      t.error().message().find("big.json: model.vocab[\"b\"]: token \"b\" has id 4194303, but the file has only 2"),
      std::string::npos)
      << t.error().message();
  auto added = Tokenizer::from_hf_json_text(
      R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "added_tokens": [{"id": 4000000, "content": "<x>"}],
          "decoder": {"type": "ByteLevel"}})",
      "added.json");
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message().find("added.json: added_tokens[0]: token \"<x>\" has id 4000000"),
            std::string::npos)
      << added.error().message();

  fragua::test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("big.json"), text).ok());
  auto r = test::run_cli_bounded("tokenizer encode -k " + dir.file("big.json") + " --text a", 30);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("has id 4194303"), std::string::npos) << r.output;
  // ASan build: 58 MB measured; 222 MB before the fix.
  EXPECT_LT(r.peak_rss_mb, 150);
}

// Defect 11: a member of the wrong type was a raw nlohmann exception ("[json.exception.type_error...")
// without the file name; now the message names the file and the JSON path.
TEST(HardeningHfJson, WrongTypesNameTheFileAndThePath) {
  struct Case {
    const char* pointer;  // JSON pointer to replace
    json value;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"/added_tokens/0/id", "x", "added_tokens[0].id: expected an integer"},
      {"/added_tokens/0/content", 5, "added_tokens[0].content: expected a string"},
      {"/added_tokens/0/special", "yes", "added_tokens[0].special: expected true or false"},
      {"/added_tokens", json::object(), "added_tokens: expected an array"},
      {"/model/merges/0", 7, "model.merges[0]: expected \"a b\" or [\"a\", \"b\"]"},
      {"/model/merges", "a b", "model.merges: expected an array"},
      {"/model/vocab/a", 1.5, "model.vocab[\"a\"]: expected an integer"},
      {"/model/type", json::array(), "model.type: expected a string"},
      {"/model/ignore_merges", "no", "model.ignore_merges: expected true or false"},
      {"/pre_tokenizer/type", 3, "pre_tokenizer.type: expected a string"},
      {"/pre_tokenizer/use_regex", 1, "pre_tokenizer.use_regex: expected true or false"},
      {"/pre_tokenizer", "ByteLevel", "pre_tokenizer: expected an object"},
      {"/decoder", "ByteLevel", "decoder: expected an object"},
      {"/normalizer", json{{"type", "Sequence"}, {"normalizers", 1}}, "normalizer.normalizers: expected an array"},
      {"/post_processor", json{{"type", "TemplateProcessing"}, {"single", {{{"SpecialToken", 1}}}}},
       "post_processor.single[0].SpecialToken: expected an object"},
      {"/fragua", json{{"kind", "spm"}, {"scores", {{"a", 1}}}}, "fragua.scores: expected an array"},
      {"/fragua", json{{"add_bos", "true"}}, "fragua.add_bos: expected true or false"},
      {"/fragua", json{{"types", {{"99999", 1}}}}, "fragua.types[\"99999\"]: not a token id"},
      {"/fragua", json{{"duplicates", {{1}}}}, "fragua.duplicates[0]: expected [id, \"text\"]"},
  };
  for (const Case& c : cases) {
    json j = test::byte_level_json();
    j[json::json_pointer(c.pointer)] = c.value;
    auto t = Tokenizer::from_hf_json_text(j.dump(), "typed.json");
    ASSERT_FALSE(t.ok()) << c.pointer;
    EXPECT_EQ(t.error().code(), ErrorCode::corruption) << c.pointer;
    EXPECT_NE(t.error().message().find(std::string("typed.json: ") + c.expect), std::string::npos)
        << c.pointer << ": " << t.error().message();
    EXPECT_EQ(t.error().message().find("json.exception"), std::string::npos) << t.error().message();
  }
}

TEST(HardeningHfJson, SpecErrorsNameTheFileOnce) {
  // An error found after parsing (by from_spec) gets the file name as context, exactly once.
  json j = test::byte_level_json();
  j["model"]["merges"] = {"ab"};
  auto t = Tokenizer::from_hf_json_text(j.dump(), "merge.json");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message(), "merge.json: merge 0 ('ab') is not two space-separated symbols");
  j = test::byte_level_json();
  j["model"]["vocab"].erase("a");
  auto hole = Tokenizer::from_hf_json_text(j.dump(), "hole.json");
  ASSERT_FALSE(hole.ok());
  EXPECT_EQ(hole.error().message().rfind("hole.json: ", 0), 0u) << hole.error().message();
  EXPECT_EQ(hole.error().message().find("hole.json: hole.json"), std::string::npos) << hole.error().message();
}

}  // namespace
}  // namespace fragua::tokenize
