// SPDX-License-Identifier: Apache-2.0
// Saving and loading: GGUF metadata and tokenizer.json round trips keep encoding identical;
// bad files are errors that name the place.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <tuple>

#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "fragua/base/file.h"
#include "fragua/base/utf8.h"
#include "fragua/format/gguf.h"
#include "fragua/tokenize/tokenizer.h"
#include "test_util.h"
#include "text_gen.h"
#include "tokenize/tokenizer_impl.h"

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
  auto json = tok.to_hf_json();
  ASSERT_TRUE(json.ok()) << json.error().to_string();
  auto j = nlohmann::json::parse(*json);
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
      R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 2}, "merges": []}, "decoder": {"type": "ByteLevel"}})",
      "h.json");
  ASSERT_FALSE(hole.ok());
  EXPECT_NE(hole.error().message().find("has id 2, but the file has only 2 entries"), std::string::npos)
      << hole.error().message();
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

// Defect 18: `tokenizer convert` wrote files Fragua could not load back (duplicate pieces
// collapsed in the JSON vocab map, NaN scores written as null). Every format it writes must load
// back to the same vocabulary, for vocabularies with duplicates, non-finite scores and every type.

void expect_same_vocabulary(const Tokenizer& a, const Tokenizer& b, const std::string& what) {
  ASSERT_EQ(a.n_vocab(), b.n_vocab()) << what;
  const VocabSpec &x = a.spec(), &y = b.spec();
  int mismatches = 0;
  for (int32_t i = 0; i < a.n_vocab() && mismatches < 5; ++i) {
    bool same = a.token_text(i) == b.token_text(i) && a.token_type(i) == b.token_type(i);
    if (x.kind == ModelKind::spm) {
      float sa = x.scores.empty() ? 0.0f : x.scores[static_cast<size_t>(i)];
      float sb = y.scores.empty() ? 0.0f : y.scores[static_cast<size_t>(i)];
      same = same && std::memcmp(&sa, &sb, sizeof sa) == 0;
    }
    if (!same) {
      ADD_FAILURE() << what << ": token " << i << " '" << a.token_text(i) << "' type "
                    << static_cast<int>(a.token_type(i)) << " came back as '" << b.token_text(i) << "' type "
                    << static_cast<int>(b.token_type(i));
      ++mismatches;
    }
  }
  EXPECT_EQ(x.kind, y.kind) << what;
  EXPECT_EQ(x.merges, y.merges) << what;
  auto regexes = [](const VocabSpec& v) {  // a pre name stands for its regexes
    return v.pre_regexes.empty() && v.kind == ModelKind::bpe && v.byte_encode ? *pre_tokenizer_regexes(v.pre)
                                                                              : v.pre_regexes;
  };
  EXPECT_EQ(regexes(x), regexes(y)) << what;
  EXPECT_EQ(x.ignore_merges, y.ignore_merges) << what;
  EXPECT_EQ(x.normalization, y.normalization) << what;
  EXPECT_EQ(std::tie(x.bos_id, x.eos_id, x.unk_id, x.pad_id, x.eot_id, x.eom_id, x.add_bos, x.add_eos),
            std::tie(y.bos_id, y.eos_id, y.unk_id, y.pad_id, y.eot_id, y.eom_id, y.add_bos, y.add_eos))
      << what;
  EXPECT_EQ(x.lstrip_ids, y.lstrip_ids) << what;
  std::string text = test::make_text(3, 40, true) + " Hello,  y'all! 3333 \n\n  <s> <|im_end|> \xF0\x9F\xA6\x99.cpp";
  EXPECT_EQ(a.encode(text, true, true), b.encode(text, true, true)) << what;
  EXPECT_EQ(a.encode(text, false, false), b.encode(text, false, false)) << what;
}

// How a file is converted: by `fragua tokenizer convert -k IN -o OUT` (a process), or in this
// process by the calls that command makes (run_convert in src/cli/cmd_tokenizer.cpp:
// Tokenizer::load, then save_gguf or save_hf_json by the output's extension). In this process
// each file is loaded once: the load that converts a file is the load that checks it.
enum class Via { cli, library };

class Converter {
 public:
  explicit Converter(Via via) : via_(via) {}
  // The tokenizer in `path` (loaded on first use, then kept), or an error.
  Result<const Tokenizer*> load(const std::string& path) {
    if (auto it = loaded_.find(path); it != loaded_.end()) return &it->second;
    auto t = FRAGUA_TRY(Tokenizer::load(path));
    return &loaded_.emplace(path, std::move(t)).first->second;
  }
  // Converts `in` to `out_path`: the exit status (0 or not), and on failure the error in *out.
  int convert(const std::string& in, const std::string& out_path, std::string* out) {
    if (via_ == Via::cli)
      return fragua::test::run_command(fragua::test::cli_path() + " tokenizer convert -k " + in + " -o " + out_path,
                                       out);
    auto tok = load(in);
    Status st = !tok.ok() ? Status(tok.error())
                : out_path.ends_with(".gguf") ? (*tok)->save_gguf(out_path)
                                              : (*tok)->save_hf_json(out_path);
    *out = st.ok() ? "" : st.error().to_string();
    return st.ok() ? 0 : 1;
  }

 private:
  Via via_;
  std::map<std::string, Tokenizer> loaded_;
};

// Converts `input` to .gguf and .json, and each of those to the other format, and checks that
// all four load back to the vocabulary of `input`.
void check_convert_round_trips(const std::string& input, const std::string& name, const fragua::test::TempDir& dir,
                               Via via = Via::cli) {
  Converter c(via);
  auto original = c.load(input);
  ASSERT_TRUE(original.ok()) << original.error().to_string();
  bool json_ok = true;
  for (const auto& v : (*original)->spec().tokens) json_ok = json_ok && utf8::is_valid(v);
  const std::string gguf = dir.file(name + ".gguf"), json = dir.file(name + ".json");
  std::string out;
  ASSERT_EQ(c.convert(input, gguf, &out), 0) << out;
  int rc = c.convert(input, json, &out);
  if (!json_ok) {  // JSON cannot hold the bytes: refused, with a reason
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("is not valid UTF-8"), std::string::npos) << out;
    return;
  }
  ASSERT_EQ(rc, 0) << out;
  ASSERT_EQ(c.convert(gguf, dir.file(name + ".2.json"), &out), 0) << out;
  ASSERT_EQ(c.convert(json, dir.file(name + ".2.gguf"), &out), 0) << out;
  for (const std::string& path : {gguf, json, dir.file(name + ".2.json"), dir.file(name + ".2.gguf")}) {
    auto back = c.load(path);
    ASSERT_TRUE(back.ok()) << path << ": " << back.error().to_string();
    expect_same_vocabulary(**original, **back, name + " -> " + path);
  }
}

TEST(HardeningConvert, VocabulariesWithDuplicatesNanScoresAndEveryTypeLoadBack) {
  fragua::test::TempDir dir;
  VocabSpec s;
  s.kind = ModelKind::spm;
  for (int b = 0; b < 256; ++b) s.tokens.push_back(byte_token_text(static_cast<uint8_t>(b)));
  s.types.assign(256, TokenType::byte);
  struct Extra {
    const char* text;
    TokenType type;
    float score;
  };
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (Extra e : {Extra{"<unk>", TokenType::unknown, 0},
                  {"<s>", TokenType::control, 0},
                  {"</s>", TokenType::control, 0},
                  {"▁a", TokenType::normal, -1},
                  {"▁a", TokenType::normal, -2},  // duplicate piece
                  {"b", TokenType::normal, nan},
                  {"c", TokenType::normal, inf},
                  {"d", TokenType::normal, -inf},
                  {"<unused0>", TokenType::unused, 0},
                  {"<unused0>", TokenType::unused, 0},
                  {"u", TokenType::undefined, -3},
                  {"<|im_end|>", TokenType::user_defined, 0},
                  {"<s>", TokenType::normal, -4}}) {
    s.tokens.push_back(e.text);
    s.types.push_back(e.type);
  }
  s.scores.assign(256, 0.0f);
  for (float f : {0.0f, 0.0f, 0.0f, -1.0f, -2.0f, nan, inf, -inf, 0.0f, 0.0f, -3.0f, 0.0f, -4.0f})
    s.scores.push_back(f);
  s.unk_id = 256;
  s.bos_id = 257;
  s.eos_id = 258;
  s.pad_id = 264;
  s.eot_id = 267;
  s.add_bos = true;
  s.lstrip_ids = {267};
  auto tok = Tokenizer::from_spec(s);
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  ASSERT_TRUE(tok->save_gguf(dir.file("dups.gguf")).ok());
  check_convert_round_trips(dir.file("dups.gguf"), "dups", dir);
}

TEST(HardeningConvert, HuggingFaceShapesLoadBack) {
  fragua::test::TempDir dir;
  nlohmann::json split = test::split_regex_json(R"(\p{N}{1,2}| ?\p{L}+|\s+)");
  split["model"]["ignore_merges"] = true;
  split["added_tokens"][0]["lstrip"] = true;
  nlohmann::json metaspace = test::byte_level_json();
  metaspace.erase("decoder");
  metaspace["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "first"}};
  metaspace["model"]["vocab"]["▁"] = metaspace["model"]["vocab"].size() + 1;
  metaspace["model"]["vocab"]["▁a"] = metaspace["model"]["vocab"].size() + 1;
  metaspace["model"]["merges"].push_back("▁ a");
  metaspace["model"]["byte_fallback"] = true;
  int n = 0;
  for (const nlohmann::json& j : {test::byte_level_json(), split, metaspace}) {
    std::string name = "hf" + std::to_string(n++);
    ASSERT_TRUE(write_file_atomic(dir.file(name + ".in.json"), j.dump()).ok());
    check_convert_round_trips(dir.file(name + ".in.json"), name, dir);
  }
}

// Real vocabularies (32k to 64k tokens) are converted in this process by the calls the command
// makes, each file loaded once (5 loads a vocabulary instead of 9 under the sanitizers, most of
// a minute in all). The command itself is the path of the two tests above and of
// ThroughTheCliModelVocabularyLoadsBack.
TEST(HardeningConvert, ModelVocabulariesLoadBack) {
  FRAGUA_REQUIRE_SHARED(vectors, "data/tokenizer-vectors");
  fragua::test::TempDir dir;
  for (const char* name : {"llama-spm", "gpt-2", "refact", "phi-3", "mpt", "baichuan"})
    check_convert_round_trips(vectors + "/ggml-vocab-" + name + ".gguf", name, dir, Via::library);
}

// One real vocabulary (32k pieces with scores) through the command as well.
TEST(HardeningConvert, ThroughTheCliModelVocabularyLoadsBack) {
  FRAGUA_REQUIRE_SHARED(vectors, "data/tokenizer-vectors");
  fragua::test::TempDir dir;
  check_convert_round_trips(vectors + "/ggml-vocab-llama-spm.gguf", "llama-spm", dir, Via::cli);
}

TEST(HardeningConvert, InvalidUtf8IsRefusedForJsonOnly) {
  VocabSpec s;
  s.kind = ModelKind::bpe;
  s.pre = "gpt-2";
  s.tokens = {"a", "b", "\xFF\xFE"};
  s.merges = {"a b"};
  auto tok = Tokenizer::from_spec(s);
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  auto j = tok->to_hf_json();
  ASSERT_FALSE(j.ok());
  EXPECT_EQ(j.error().code(), ErrorCode::invalid_argument);
  EXPECT_NE(j.error().message().find("token 2 is not valid UTF-8"), std::string::npos) << j.error().message();
  fragua::test::TempDir dir;
  EXPECT_FALSE(tok->save_hf_json(dir.file("t.json")).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.file("t.json")));
  ASSERT_TRUE(tok->save_gguf(dir.file("t.gguf")).ok());
  auto back = Tokenizer::load(dir.file("t.gguf"));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->token_text(2), "\xFF\xFE");
}

// The shipped default tokenizers come as a GGUF and its tokenizer.json (data/tokenizers/, made by
// scripts/build_tokenizers.sh as the conversion of the GGUF): the two must give the same ids, so a
// retrained GGUF shipped without its new json fails here.
TEST(ShippedTokenizers, GgufAndTokenizerJsonEncodeTheSame) {
  const std::string text =
      "L’Ajuntament de València obrirà l·lacuna? ¿Qué pasó en Ñuñoa el año 1909? "
      "Etxeko atea itxita zegoen, eta haurrek ez zuten giltzarik aurkitu. "
      "A xente da aldea saíu á rúa ás oito da mañá. «Hola», dijo; ª º ç à è ò ú ï ü\n\ttabs  e\u0301";
  for (const char* size : {"32k", "64k"}) {
    const std::string base = fragua::test::source_dir() + "/data/tokenizers/fragua-" + size;
    auto gguf = Tokenizer::load(base + ".gguf");
    auto json = Tokenizer::from_hf_json(base + ".tokenizer.json");
    ASSERT_TRUE(gguf.ok()) << gguf.error().to_string();
    ASSERT_TRUE(json.ok()) << json.error().to_string();
    EXPECT_EQ(gguf->n_vocab(), json->n_vocab()) << size;
    for (bool bos : {false, true}) {
      const auto a = gguf->encode(text, bos, false);
      EXPECT_EQ(a, json->encode(text, bos, false)) << size << " bos " << bos;
      EXPECT_GT(a.size(), 40u) << size;
    }
  }
}

}  // namespace
}  // namespace fragua::tokenize
