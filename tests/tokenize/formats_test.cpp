// Saving and loading: GGUF metadata and tokenizer.json round trips keep encoding identical;
// bad files are errors that name the place.
#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/format/gguf.h"
#include "fragua/tokenize/tokenizer.h"
#include "test_util.h"
#include "text_gen.h"

namespace fragua::tokenize {
namespace {

Tokenizer load_vector(const std::string& dir, const std::string& name) {
  auto f = format::GgufFile::open(dir + "/ggml-vocab-" + name + ".gguf");
  EXPECT_TRUE(f.ok());
  auto t = Tokenizer::from_gguf(*f);
  EXPECT_TRUE(t.ok()) << t.error().to_string();
  return std::move(t).value();
}

class Formats : public ::testing::TestWithParam<const char*> {};

TEST_P(Formats, GgufAndHfJsonRoundTripsEncodeIdentically) {
  FRAGUA_REQUIRE_SHARED(dir, "data/tokenizer-vectors");
  Tokenizer tok = load_vector(dir, GetParam());
  fragua::test::TempDir tmp;
  ASSERT_TRUE(tok.save_gguf(tmp.file("t.gguf")).ok());
  ASSERT_TRUE(tok.save_hf_json(tmp.file("tokenizer.json")).ok());
  auto from_gguf = Tokenizer::load(tmp.file("t.gguf"));
  ASSERT_TRUE(from_gguf.ok()) << from_gguf.error().to_string();
  auto from_json = Tokenizer::load(tmp.file("tokenizer.json"));
  ASSERT_TRUE(from_json.ok()) << from_json.error().to_string();
  std::string text = test::make_text(7, 200, true) + " Hello, y'all! 3333 \n\n  <s> 🦙.cpp";
  auto want = tok.encode(text, true, false);
  EXPECT_EQ(from_gguf->encode(text, true, false), want);
  EXPECT_EQ(from_json->encode(text, true, false), want);
  EXPECT_EQ(from_json->n_vocab(), tok.n_vocab());
  EXPECT_EQ(from_json->bos_id(), tok.bos_id());
}

INSTANTIATE_TEST_SUITE_P(Vectors, Formats, ::testing::Values("llama-spm", "refact"));

TEST(Formats, SpmAsHfMergesMatchesScoreOrder) {
  // A SentencePiece-style vocabulary written as merge-ranked BPE (what Hugging Face reads)
  // must tokenize like the score-ordered original.
  FRAGUA_REQUIRE_SHARED(dir, "data/tokenizer-vectors");
  Tokenizer tok = load_vector(dir, "llama-spm");
  std::string json = tok.to_hf_json();
  auto j = nlohmann::json::parse(json);
  j.erase("fragua");  // force the merges path
  auto as_bpe = Tokenizer::from_hf_json_text(j.dump(), "mem.json");
  ASSERT_TRUE(as_bpe.ok()) << as_bpe.error().to_string();
  EXPECT_EQ(as_bpe->spec().kind, ModelKind::bpe);
  std::string text = test::make_text(9, 200, true) + " Hello world, ¿qué tal? Bon dia! Kaixo!";
  EXPECT_EQ(as_bpe->encode(text, false, false), tok.encode(text, false, false));
  EXPECT_EQ(as_bpe->decode(as_bpe->encode(text, false, false)), text);
}

TEST(Formats, BadJsonNamesTheOffset) {
  auto t = Tokenizer::from_hf_json_text("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0,}}}", "tok.json");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message().find("tok.json"), std::string::npos);
  EXPECT_NE(t.error().message().find("byte offset"), std::string::npos) << t.error().message();
  auto u = Tokenizer::from_hf_json_text("{\"model\": {\"type\": \"Unigram\", \"vocab\": []}}", "u.json");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code(), ErrorCode::unsupported);
  auto hole = Tokenizer::from_hf_json_text(
      R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 2}, "merges": []}, "decoder": {"type": "ByteLevel"}})", "h.json");
  ASSERT_FALSE(hole.ok());
  EXPECT_NE(hole.error().message().find("id 1"), std::string::npos) << hole.error().message();
}

TEST(Formats, GgufWithBadIdsIsCorruption) {
  format::GgufWriter w;
  w.set("tokenizer.ggml.model", format::GgufValue::of_string("llama"));
  w.set("tokenizer.ggml.tokens", format::GgufValue::of_strings({"<unk>", "a"}));
  w.set("tokenizer.ggml.bos_token_id", format::GgufValue::of_u32(7));
  std::string bytes = w.to_bytes();
  auto f = format::GgufFile::parse(bytes, "v.gguf");
  ASSERT_TRUE(f.ok());
  auto t = Tokenizer::from_gguf(*f);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message().find("bos_token_id = 7"), std::string::npos) << t.error().message();
  w.set("tokenizer.ggml.model", format::GgufValue::of_string("t5"));
  bytes = w.to_bytes();
  auto g = format::GgufFile::parse(bytes, "v.gguf");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(Tokenizer::from_gguf(*g).error().code(), ErrorCode::unsupported);
}

}  // namespace
}  // namespace fragua::tokenize
