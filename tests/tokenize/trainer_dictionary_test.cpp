// SPDX-License-Identifier: Apache-2.0
// Hunspell dictionaries as the trainer's word-coverage prior: the reader's stems and one-level
// affix forms (flag kinds, conditions, NEEDAFFIX, cross product), its refusals, and the effect of
// the prior on the merges.
#include <algorithm>

#include "fragua/base/file.h"
#include "fragua/tokenize/trainer.h"
#include "test_util.h"
#include "text_gen.h"

namespace fragua::tokenize {
namespace {

bool hunspell_has(const HunspellWords& h, const std::string& w) {
  return std::find(h.words.begin(), h.words.end(), w) != h.words.end();
}

// A Spanish-like verb class: -ar verbs take person endings, nouns a plural after a consonant or
// a vowel; "re" prefixes with cross product.
constexpr const char* kAff =
    "SET UTF-8\n"
    "# comment\n"
    "SFX V Y 3\n"
    "SFX V ar amos ar\n"
    "SFX V ar aríamos/X ar\n"
    "SFX V r ndo [^e]r\n"
    "SFX N N 2\n"
    "SFX N 0 es [^aeiou]\n"
    "SFX N 0 s [aeiou]\n"
    "PFX R Y 1\n"
    "PFX R 0 re .\n"
    "NEEDAFFIX Z\n";

constexpr const char* kDic =
    "5\n"
    "cantar/VR\n"
    "canción/N po:nombre\n"
    "casa/N\n"
    "cant/VZ\n"
    "escape\\/slash\n";

TEST(Hunspell, StemsAndOneLevelOfAffixes) {
  auto h = read_hunspell(kDic, kAff, "es");
  ASSERT_TRUE(h.ok()) << h.error().to_string();
  EXPECT_TRUE(h->expanded);
  EXPECT_EQ(h->stems, 5u);
  for (const char* w : {"cantar", "cantamos", "cantaríamos", "cantando", "recantar", "recantamos", "recantando",
                        "canción", "canciónes", "casa", "casas", "escape/slash"})
    EXPECT_TRUE(hunspell_has(*h, w)) << w;
  EXPECT_FALSE(hunspell_has(*h, "casaes"));                                // the condition [^aeiou] fails on "casa"
  EXPECT_FALSE(hunspell_has(*h, "recasa"));                                // no R flag
  EXPECT_FALSE(hunspell_has(*h, "cant"));                                  // NEEDAFFIX: a stem that is not a word
  EXPECT_FALSE(hunspell_has(*h, "5"));                                     // the count line
  EXPECT_EQ(std::count(h->words.begin(), h->words.end(), "cantamos"), 1);  // distinct
  // The word cap holds.
  auto capped = read_hunspell(kDic, kAff, "es", 3);
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->words.size(), 3u);
}

TEST(Hunspell, FlagKinds) {
  auto lng = read_hunspell("2\nbeta/AaBb\ngamma/Bb\n",
                           "FLAG long\nSFX Aa Y 1\nSFX Aa 0 s .\nPFX Bb Y 1\nPFX Bb 0 x .\n", "long");
  ASSERT_TRUE(lng.ok()) << lng.error().to_string();
  for (const char* w : {"beta", "betas", "xbeta", "xbetas", "gamma", "xgamma"}) EXPECT_TRUE(hunspell_has(*lng, w)) << w;
  EXPECT_FALSE(hunspell_has(*lng, "gammas"));
  auto num = read_hunspell("1\nkale/1001,7\n", "FLAG num\nSFX 1001 Y 1\nSFX 1001 0 ak .\nNEEDAFFIX 7\n", "num");
  ASSERT_TRUE(num.ok());
  EXPECT_TRUE(hunspell_has(*num, "kaleak"));
  EXPECT_FALSE(hunspell_has(*num, "kale"));
  auto u8 = read_hunspell("1\nniño/ñ\n", "FLAG UTF-8\nSFX ñ Y 1\nSFX ñ o a o\n", "utf8");
  ASSERT_TRUE(u8.ok());
  EXPECT_TRUE(hunspell_has(*u8, "niña"));
}

TEST(Hunspell, StemsOnlyAndRefusals) {
  // No .aff, or flag aliases: the stems alone.
  auto bare = read_hunspell("2\nuno/A\ndos\n", "", "bare");
  ASSERT_TRUE(bare.ok());
  EXPECT_FALSE(bare->expanded);
  EXPECT_EQ(bare->words, (std::vector<std::string>{"uno", "dos"}));
  auto alias = read_hunspell("1\nuno/1\n", "AF 1\nAF A\nSFX A Y 1\nSFX A 0 s .\n", "alias");
  ASSERT_TRUE(alias.ok());
  EXPECT_FALSE(alias->expanded);
  EXPECT_EQ(alias->words, (std::vector<std::string>{"uno"}));
  // Errors name the file and line.
  auto latin1 = read_hunspell("1\nuno\n", "SET ISO8859-1\n", "old");
  ASSERT_FALSE(latin1.ok());
  EXPECT_NE(latin1.error().message().find("old.aff:1"), std::string::npos) << latin1.error().message();
  auto bad_utf8 = read_hunspell("2\nuno\nd\xFFos\n", "", "junk");
  ASSERT_FALSE(bad_utf8.ok());
  EXPECT_NE(bad_utf8.error().message().find("junk.dic:3"), std::string::npos) << bad_utf8.error().message();
  auto bad_cond = read_hunspell("1\nuno/A\n", "SFX A Y 1\nSFX A 0 s [ab\n", "cond");
  ASSERT_FALSE(bad_cond.ok());
  EXPECT_NE(bad_cond.error().message().find("cond.aff:2"), std::string::npos);
}

TEST(Hunspell, DictionaryArgument) {
  auto d = parse_dictionary_arg("/usr/share/hunspell/eu.dic:0.5");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->path, "/usr/share/hunspell/eu.dic");
  EXPECT_DOUBLE_EQ(d->weight, 0.5);
  d = parse_dictionary_arg("gl_ES.dic");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->path, "gl_ES.dic");
  EXPECT_DOUBLE_EQ(d->weight, 1.0);
  EXPECT_FALSE(parse_dictionary_arg("x.dic:-1").ok());
  EXPECT_FALSE(parse_dictionary_arg("").ok());
}

TEST(Trainer, DictionaryPriorChangesMerges) {
  fragua::test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("a.txt"), test::make_text(31, 800, false)).ok());
  // Verb forms the corpus never has.
  std::string dic = "4\ntrabajar/V\nhablar/V\nescuchar/V\nolvidar/V\n";
  std::string aff = "SFX V Y 4\nSFX V ar aríamos ar\nSFX V ar ábamos ar\nSFX V ar asteis ar\nSFX V ar aremos ar\n";
  ASSERT_TRUE(write_file_atomic(dir.file("v.dic"), dic).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("v.aff"), aff).ok());
  TrainOptions o;
  o.inputs = {{dir.file("a.txt"), "es"}};
  o.vocab_size = 600;
  o.threads = 1;
  auto plain = train_bpe(o);
  o.dictionaries = {*parse_dictionary_arg(dir.file("v.dic") + ":50")};
  auto prior = train_bpe(o);
  ASSERT_TRUE(plain.ok() && prior.ok()) << (prior.ok() ? "" : prior.error().to_string());
  EXPECT_NE(plain->spec().tokens, prior->spec().tokens);
  size_t plain_n = 0, prior_n = 0;
  for (const char* w : {"trabajaríamos", "hablábamos", "escuchasteis", "olvidaremos"}) {
    plain_n += plain->encode(w, false, false).size();
    prior_n += prior->encode(w, false, false).size();
  }
  EXPECT_LT(prior_n, plain_n);
  // The dictionary is recorded as provenance.
  bool recorded = false;
  for (const auto& [k, v] : prior->spec().info)
    recorded |= k == "dictionaries" && v.find("v.dic:50") != std::string::npos;
  EXPECT_TRUE(recorded);
  // A missing dictionary is an error naming it.
  o.dictionaries = {{dir.file("missing.dic"), 1}};
  auto r = train_bpe(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("missing.dic"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace fragua::tokenize
