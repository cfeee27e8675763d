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

// The make_text stream without its non-ASCII characters: a corpus that lacks every required
// character.
std::string ascii_only(std::string s) {
  s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }), s.end());
  return s;
}

TEST(Trainer, NfcAndNfdTextGiveTheSameTokens) {
  Trained t;
  // Valencian in composed form for training; the same text decomposed (è = e + U+0300) to encode.
  std::string nfc = "Què és això? L’àvia va collir cireres a la vora del riu.\n";
  std::string corpus;
  for (int i = 0; i < 40; ++i) corpus += nfc;
  corpus += test::make_text(5, 400, false);
  ASSERT_TRUE(write_file_atomic(t.dir.file("ca.txt"), corpus).ok());
  TrainOptions o = t.options("");
  o.inputs = {{t.dir.file("ca.txt"), "ca"}};
  auto tok = train_bpe(o);
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  std::string nfd =
      "Qu"
      "e\xCC\x80"
      " "
      "e\xCC\x81"
      "s aix"
      "o\xCC\x80"
      "? L’"
      "a\xCC\x80"
      "via va collir cireres a la vora del riu.";
  std::string composed = "Què és això? L’àvia va collir cireres a la vora del riu.";
  ASSERT_NE(nfd, composed);
  EXPECT_EQ(normalize(nfd, Normalization::nfc), composed);
  EXPECT_EQ(tok->encode(nfd, false, false), tok->encode(composed, false, false));
  // The rule travels with the files: a reloaded tokenizer normalizes too.
  ASSERT_TRUE(tok->save_gguf(t.dir.file("n.gguf")).ok());
  ASSERT_TRUE(tok->save_hf_json(t.dir.file("n.json")).ok());
  for (const char* f : {"n.gguf", "n.json"}) {
    auto back = Tokenizer::load(t.dir.file(f));
    ASSERT_TRUE(back.ok()) << f;
    EXPECT_EQ(back->encode(nfd, false, false), tok->encode(composed, false, false)) << f;
  }
  // Without the rule the decomposed text costs more tokens (the test can fail).
  o.normalization = Normalization::none;
  auto raw = train_bpe(o);
  ASSERT_TRUE(raw.ok());
  EXPECT_GT(raw->encode(nfd, false, false).size(), raw->encode(composed, false, false).size());
}

TEST(Trainer, RequiredCharactersAreSingleTokensWithoutCorpusCounts) {
  Trained t;
  std::string corpus = ascii_only(test::make_text(21, 1500, false));
  ASSERT_TRUE(write_file_atomic(t.dir.file("plain.txt"), corpus).ok());
  TrainOptions o = t.options("");
  o.inputs = {{t.dir.file("plain.txt"), "es"}};
  auto tok = train_bpe(o);
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  ASSERT_EQ(tok->n_vocab(), 700);
  for (const std::string& c : iberian_required_characters()) {
    EXPECT_EQ(corpus.find(c), std::string::npos) << c;
    int32_t id = tok->token_id(c);
    ASSERT_GE(id, 0) << c;
    EXPECT_EQ(tok->token_type(id), TokenType::normal) << c;
    // Between two words the character is exactly one token, never bytes.
    auto ids = tok->encode("la" + c + "de", false, false);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), id), 1) << c;
    for (int32_t i : ids) EXPECT_NE(tok->token_type(i), TokenType::byte) << c;
  }
  // The apostrophe of "l’home" is the case: without the rule it is three byte tokens.
  o.required_characters.clear();
  auto bare = train_bpe(o);
  ASSERT_TRUE(bare.ok());
  EXPECT_LT(bare->token_id("’"), 0);
  auto ids = bare->encode("l’home", false, false);
  EXPECT_EQ(std::count_if(ids.begin(), ids.end(), [&](int32_t i) { return bare->token_type(i) == TokenType::byte; }),
            3);
  // A required "character" that is two characters is refused, naming it.
  o.required_characters = {"ab"};
  auto bad = train_bpe(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("'ab'"), std::string::npos) << bad.error().message();
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
  // Without an encode-time normalizer every string comes back byte for byte.
  Trained t;
  TrainOptions o = t.options("");
  o.normalization = Normalization::none;
  auto tok = train_bpe(o);
  ASSERT_TRUE(tok.ok());
  EXPECT_TRUE(covers_all_bytes(*tok, "trained"));
  check_round_trip(*tok, "trained");
  // With NFC (the default) the text comes back as its NFC form.
  auto nfc = train_bpe(t.options(""));
  ASSERT_TRUE(nfc.ok());
  std::mt19937 rng(77);
  for (int i = 0; i < 200; ++i) {
    std::string u = random_unicode(rng);
    EXPECT_EQ(nfc->decode(nfc->encode(u, true, false)), normalize(u, Normalization::nfc)) << i;
  }
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
