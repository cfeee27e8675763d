// SPDX-License-Identifier: Apache-2.0
// The trainer: vocabulary layout, digit splitting, the effect of --mix, determinism, and the
// lossless round trip of what it produces (random bytes and random Unicode).
#include <random>

#include "fragua/base/file.h"
#include "fragua/base/utf8.h"
#include "fragua/format/gguf.h"
#include "fragua/tokenize/trainer.h"
#include "test_util.h"
#include "text_gen.h"

namespace fragua::tokenize {
namespace {

struct Trained {
  fragua::test::TempDir dir;
  std::string a_path, b_path;
  Trained() {
    a_path = dir.file("a.txt");
    b_path = dir.file("b.txt");
    EXPECT_TRUE(write_file_atomic(a_path, test::make_text(11, 1500, false)).ok());
    // Language "b": another syllable stream, shifted so its words differ from "a".
    std::string b = test::make_text(12, 1500, false);
    for (char& c : b)
      if (c >= 'a' && c <= 'y') c = static_cast<char>(c + 1);
    EXPECT_TRUE(write_file_atomic(b_path, b).ok());
  }
  TrainOptions options(const std::string& mix) {
    TrainOptions o;
    o.inputs = {{a_path, "aa"}, {b_path, "bb"}};
    if (!mix.empty()) o.mix = *parse_mix(mix);
    o.vocab_size = 700;
    o.special_tokens = {"<|im_start|>", "<|im_end|>"};
    o.threads = 2;
    return o;
  }
};

TEST(Trainer, VocabularyLayoutAndDigits) {
  Trained t;
  auto tok = train_bpe(t.options(""));
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  EXPECT_EQ(tok->n_vocab(), 700);
  EXPECT_EQ(tok->token_text(0), "<unk>");
  EXPECT_EQ(tok->token_text(3), "<|im_start|>");
  EXPECT_EQ(tok->token_type(4), TokenType::control);
  EXPECT_EQ(tok->token_text(5), "<0x00>");
  EXPECT_EQ(tok->token_type(5 + 255), TokenType::byte);
  EXPECT_TRUE(tok->is_eog(tok->token_id("<|im_end|>")));
  // Digits are never merged: a number is one token per digit.
  auto ids = tok->encode("2024", false, false);
  std::vector<std::string> pieces;
  for (int32_t id : ids) pieces.push_back(tok->token_text(id));
  EXPECT_EQ(pieces, (std::vector<std::string>{"\xE2\x96\x81", "2", "0", "2", "4"}));
  // Control tokens are parsed only when asked.
  auto with = tok->encode("<|im_start|>user", false, true);
  ASSERT_FALSE(with.empty());
  EXPECT_EQ(with[0], 3);
  auto without = tok->encode("<|im_start|>user", false, false);
  EXPECT_EQ(std::count(without.begin(), without.end(), 3), 0);
  // Provenance travels with the files.
  bool has_trainer = false;
  for (const auto& [k, v] : tok->spec().info) has_trainer |= k == "trainer";
  EXPECT_TRUE(has_trainer);
}

TEST(Trainer, MixShiftsFertilityTowardsTheFavouredLanguage) {
  Trained t;
  auto favour_a = train_bpe(t.options("aa=0.9,bb=0.1"));
  auto favour_b = train_bpe(t.options("aa=0.1,bb=0.9"));
  ASSERT_TRUE(favour_a.ok() && favour_b.ok());
  auto a_text = read_file(t.a_path), b_text = read_file(t.b_path);
  TokenStats aa_on_a = *measure(*favour_a, *a_text), ab_on_a = *measure(*favour_b, *a_text);
  TokenStats aa_on_b = *measure(*favour_a, *b_text), ab_on_b = *measure(*favour_b, *b_text);
  EXPECT_LT(aa_on_a.fertility(), ab_on_a.fertility());
  EXPECT_LT(ab_on_b.fertility(), aa_on_b.fertility());
  EXPECT_LT(aa_on_a.fallback_rate(), 0.005);  // only characters below the coverage threshold
  std::string table = format_stats_table({aa_on_a, ab_on_b});
  EXPECT_NE(table.find("tok/word"), std::string::npos);
}

TEST(Trainer, MixEntryCoversLanguageVariants) {
  // Input "aa-bb" is a variant of "aa" (as "ca-valencia" is of "ca"): --mix aa=1 covers both, so
  // every word keeps weight 1, exactly as with no mixture at all.
  Trained t;
  TrainOptions with_variant = t.options("aa=1");
  with_variant.inputs = {{t.a_path, "aa"}, {t.b_path, "aa-bb"}};
  TrainOptions no_mix = t.options("");
  auto a = train_bpe(with_variant);
  auto b = train_bpe(no_mix);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->spec().tokens, b->spec().tokens);
  // Only the base language is named: its variant is not a base of anything.
  TrainOptions wrong = t.options("bb=1");
  wrong.inputs = {{t.a_path, "aa"}, {t.b_path, "aa-bb"}};
  EXPECT_FALSE(train_bpe(wrong).ok());
}

TEST(Trainer, DeterministicAndSavedFilesReload) {
  Trained t;
  auto one = train_bpe(t.options("aa=0.5,bb=0.5"));
  auto two = train_bpe(t.options("aa=0.5,bb=0.5"));
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(one->spec().tokens, two->spec().tokens);
  ASSERT_TRUE(one->save_gguf(t.dir.file("t.gguf")).ok());
  ASSERT_TRUE(one->save_hf_json(t.dir.file("t.json")).ok());
  auto g = Tokenizer::load(t.dir.file("t.gguf"));
  auto j = Tokenizer::load(t.dir.file("t.json"));
  ASSERT_TRUE(g.ok() && j.ok());
  std::string text = test::make_text(99, 50, true);
  EXPECT_EQ(g->encode(text, true, true), one->encode(text, true, true));
  EXPECT_EQ(j->encode(text, true, true), one->encode(text, true, true));
}

TEST(Trainer, BadOptionsAreErrors) {
  EXPECT_FALSE(parse_mix("es=0.3,ca").ok());
  EXPECT_FALSE(parse_mix("es=-1").ok());
  EXPECT_NEAR(parse_mix("es=3,ca=1")->at(0).second, 0.75, 1e-12);
  Trained t;
  auto o = t.options("aa=0.5,zz=0.5");
  auto r = train_bpe(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("zz"), std::string::npos);
  o = t.options("");
  o.vocab_size = 100;
  EXPECT_FALSE(train_bpe(o).ok());
  ASSERT_TRUE(
      write_file_atomic(t.dir.file("bad.jsonl"), "{\"text\": \"hola\", \"lang\": \"es\"}\n{\"text\": 5}\n").ok());
  o.vocab_size = 700;
  o.inputs = {{t.dir.file("bad.jsonl"), ""}};
  r = train_bpe(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("bad.jsonl:2"), std::string::npos) << r.error().message();
}

// Random strings: bytes (often invalid UTF-8) and valid Unicode from many blocks.
std::string random_bytes(std::mt19937& rng) {
  std::string s(rng() % 64, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

std::string random_unicode(std::mt19937& rng) {
  static const std::pair<char32_t, char32_t> ranges[] = {{0x20, 0x7E},       {0xA0, 0x24F},    {0x300, 0x36F},
                                                         {0x400, 0x4FF},     {0x3040, 0x30FF}, {0x4E00, 0x4FFF},
                                                         {0x1F300, 0x1F6FF}, {0x9, 0xD}};
  std::string s;
  size_t n = rng() % 40;
  for (size_t i = 0; i < n; ++i) {
    auto [lo, hi] = ranges[rng() % std::size(ranges)];
    utf8::append(s, lo + static_cast<char32_t>(rng() % (hi - lo + 1)));
  }
  return s;
}

// Some byte-level vocabularies (GPT-NeoX, StarCoder) have no token for the bytes that never
// occur in UTF-8 (C0, C1, F5..FF) or only lead characters of unassigned planes (F1..F4); such
// a byte cannot survive a round trip (it is dropped: the documented rule), every other must.
bool covers_all_bytes(const Tokenizer& tok, const std::string& name) {
  bool all = true;
  for (int b = 0; b < 256; ++b) {
    std::string s(1, static_cast<char>(b));
    if (tok.decode(tok.encode(s, false, false)) == s) continue;
    all = false;
    EXPECT_TRUE(b == 0xC0 || b == 0xC1 || b >= 0xF1) << name << " loses byte " << b;
  }
  return all;
}

void check_round_trip(const Tokenizer& tok, const std::string& name) {
  std::mt19937 rng(1234);
  const bool bytes_ok = covers_all_bytes(tok, name);
  for (int i = 0; i < 300; ++i) {
    std::string b = random_bytes(rng), u = random_unicode(rng);
    if (bytes_ok) {
      EXPECT_EQ(tok.decode(tok.encode(b, true, false)), b) << name << " bytes case " << i;
    }
    EXPECT_EQ(tok.decode(tok.encode(u, true, false)), u) << name << " unicode case " << i;
    // Streaming: the pieces concatenate to the same bytes (apart from the SPM leading space).
    std::string streamed;
    for (int32_t id : tok.encode(u, false, false)) streamed += tok.token_piece(id);
    if (!u.empty()) {
      EXPECT_NE(streamed.find(u.substr(1)), std::string::npos) << name << " " << i;
    }
  }
}

TEST(RoundTrip, TrainedTokenizerIsLossless) {
  Trained t;
  auto tok = train_bpe(t.options(""));
  ASSERT_TRUE(tok.ok());
  EXPECT_TRUE(covers_all_bytes(*tok, "trained"));
  check_round_trip(*tok, "trained");
}

TEST(RoundTrip, ModelVocabulariesAreLossless) {
  FRAGUA_REQUIRE_SHARED(dir, "data/tokenizer-vectors");
  for (const char* name : {"llama-spm", "gpt-2", "mpt", "refact", "phi-3"}) {
    auto f = format::GgufFile::open(dir + "/ggml-vocab-" + name + ".gguf");
    ASSERT_TRUE(f.ok());
    auto tok = Tokenizer::from_gguf(*f);
    ASSERT_TRUE(tok.ok());
    check_round_trip(*tok, name);
  }
}

}  // namespace
}  // namespace fragua::tokenize
