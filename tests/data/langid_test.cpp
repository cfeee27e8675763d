// SPDX-License-Identifier: Apache-2.0
#include "fragua/data/langid.h"

#include <gtest/gtest.h>

#include "fragua/base/file.h"
#include "test_util.h"

using namespace fragua::data;

namespace {

// A tiny training set written here: three made-up "languages" with disjoint letters, so any
// working n-gram classifier separates them and a broken one cannot.
std::vector<LabeledText> toy_data() {
  std::vector<LabeledText> d;
  const char* words[3][6] = {{"kala", "maka", "taka", "laka", "paka", "sala"},
                             {"zorro", "borro", "corro", "porro", "torro", "gorro"},
                             {"uxuy", "yuxu", "wuxy", "xywu", "uyxw", "wyux"}};
  const char* names[3] = {"aa", "bb", "cc"};
  for (int l = 0; l < 3; ++l)
    for (int i = 0; i < 60; ++i) {
      std::string s;
      for (int k = 0; k < 6; ++k) s += std::string(words[l][(i + k * 7) % 6]) + " ";
      d.push_back({s, names[l]});
    }
  return d;
}

}  // namespace

TEST(LangId, TrainsSavesAndLoads) {
  LangIdTrainOptions o;
  o.n_buckets_log2 = 12;
  o.perceptron_epochs = 2;
  auto m = LangIdModel::train(toy_data(), o);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->identify("kala taka maka").lang, "aa");
  EXPECT_EQ(m->identify("gorro zorro").lang, "bb");
  EXPECT_EQ(m->identify("uxuy wyux").lang, "cc");
  EXPECT_GT(m->identify("kala taka maka sala paka").confidence, 0.9);
  EXPECT_EQ(m->identify("").lang, "und");

  fragua::test::TempDir dir;
  ASSERT_TRUE(m->save(dir.file("m.bin")).ok());
  auto loaded = LangIdModel::load(dir.file("m.bin"));
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  EXPECT_EQ(loaded->languages(), m->languages());
  EXPECT_EQ(loaded->identify("zorro borro").lang, "bb");

  auto d = m->identify_document("kala taka maka sala. Zorro gorro borro porro.\nuxuy wyux xywu", true);
  ASSERT_EQ(d.sentences.size(), 3u);
  EXPECT_EQ(d.sentences[0].guess.lang, "aa");
  EXPECT_EQ(d.sentences[1].guess.lang, "bb");
  EXPECT_EQ(d.sentences[2].guess.lang, "cc");
}

TEST(LangId, CorruptModelIsAnErrorNamingTheOffset) {
  LangIdTrainOptions o;
  o.n_buckets_log2 = 10;
  o.perceptron_epochs = 0;
  o.clean_passes = 0;
  auto m = LangIdModel::train(toy_data(), o);
  ASSERT_TRUE(m.ok());
  std::string bytes = m->to_bytes();
  EXPECT_FALSE(LangIdModel::from_bytes("nonsense", "x.bin").ok());
  auto trunc = LangIdModel::from_bytes(bytes.substr(0, bytes.size() - 10), "x.bin");
  ASSERT_FALSE(trunc.ok());
  EXPECT_NE(trunc.error().message().find("offset"), std::string::npos) << trunc.error().message();
  std::string v2 = bytes;
  v2[8] = 9;
  auto bad = LangIdModel::from_bytes(v2, "x.bin");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("version 9"), std::string::npos);
}

// Issue 12, defects 1 and 11: every header field is type-checked; errors name the file and field.
TEST(HardeningLangId, HeaderFieldsAreTypeChecked) {
  auto model = [](const std::string& header) {
    std::string b = std::string("FRAGLID\0", 8);
    uint32_t v = 1, n = static_cast<uint32_t>(header.size());
    b.append(reinterpret_cast<const char*>(&v), 4).append(reinterpret_cast<const char*>(&n), 4).append(header);
    b.append(8, '\0');
    return b;
  };
  struct Case {
    std::string header, msg;
  };
  for (const auto& c : std::vector<Case>{
           {R"({"languages":"es","bits":8})", "m.bin: offset 16: header field \"languages\": expected an array"},
           {R"({"languages":[1],"bits":8})", "\"languages\"[0]: expected a language tag"},
           {R"({"languages":["es"],"bits":"8"})", "\"bits\": expected an integer"},
           {R"({"languages":["es"],"bits":99})", "\"bits\": 99 is outside [8, 24]"},
           {R"({"languages":["es"],"bits":8,"scale":"x"})", "\"scale\": expected a non-negative number"},
           {R"({"languages":["es"]})", "\"bits\" is missing"},
           {R"([1,2])", "not a JSON object"},
           {"{\"languages\":[\"es\"],\"bits\":8,\"provenance\":" + std::string(100000, '[') + std::string(100000, ']') +
                "}",
            "m.bin: JSON nested deeper than 64 levels at byte offset"},
       }) {
    auto r = LangIdModel::from_bytes(model(c.header), "m.bin");
    ASSERT_FALSE(r.ok()) << c.header.substr(0, 60);
    EXPECT_NE(r.error().message().find(c.msg), std::string::npos) << r.error().message();
  }
}

TEST(HardeningLangId, TrainingRecordsWithOddTypesAreSkipped) {
  fragua::test::TempDir dir;
  std::string jl = R"({"text": "Hola a todos.", "lang": 5})"
                   "\n"
                   R"({"text": "Bon dia.", "lang": "ca", "kind": [1]})"
                   "\n"
                   R"({"text": "Kaixo guztioi.", "lang": "eu", "path": {"a": 1}})"
                   "\n";
  ASSERT_TRUE(fragua::write_file_atomic(dir.file("t.jsonl"), jl).ok());
  auto split = prepare_langid_data({dir.file("t.jsonl")}, 0.0);
  ASSERT_TRUE(split.ok()) << split.error().to_string();
  EXPECT_EQ(split->train.size(), 2u);
}

TEST(LangId, SentenceSplitting) {
  auto s = split_sentences("Hola, Sr. García. ¿Qué tal? Bien!\nAdiós");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(count_words("  una  frase de\tcinco palabras "), 5u);
}

// The shipped model on sentences written for this test (not from the training corpus).
TEST(LangId, ShippedModelOnOurLanguages) {
  auto m = LangIdModel::load_default();
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  struct Case {
    const char* text;
    const char* lang;
  } cases[] = {
      {"El ayuntamiento ha aprobado hoy los presupuestos para el próximo año.", "es"},
      {"L'ajuntament ha aprovat avui els pressupostos per a l'any que ve.", "ca"},
      {"Udalak gaur onartu ditu datorren urterako aurrekontuak.", "eu"},
      {"O concello aprobou hoxe os orzamentos para o vindeiro ano.", "gl"},
      {"A câmara municipal aprovou hoje o orçamento para o próximo ano.", "pt"},
      {"The city council approved the budget for next year today.", "en"},
      {"Le conseil municipal a approuvé aujourd'hui le budget de l'année prochaine.", "fr"},
      {"Il consiglio comunale ha approvato oggi il bilancio per il prossimo anno.", "it"},
  };
  for (const auto& c : cases) EXPECT_EQ(m->identify(c.text).base_lang, c.lang) << c.text;
  EXPECT_EQ(m->identify("Esta opció permet inserir el text que vullgues en el document.").lang, "ca-valencia");
}

// Issue 17: decomposed text (NFD, as macOS file names and some editors write it) reads as the
// composed text does: identify() brings it to NFC first.
TEST(LangId, NfdAndNfcGiveTheSameLanguage) {
  auto m = LangIdModel::load_default();
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  // "è" as e + U+0300, "ó" as o + U+0301, "à" as a + U+0300.
  const std::string nfc = "Esta opció permet inserir el text que vullgues en el document, però també més.";
  const std::string nfd =
      "Esta opcio\xCC\x81 permet inserir el text que vullgues en el document, pero\xCC\x80 tambe\xCC\x81 me\xCC\x81s.";
  ASSERT_NE(nfc, nfd);
  auto a = m->identify(nfc), b = m->identify(nfd);
  EXPECT_EQ(a.lang, b.lang);
  EXPECT_EQ(b.lang, "ca-valencia");
  EXPECT_DOUBLE_EQ(a.confidence, b.confidence);
  EXPECT_EQ(m->identify_document(nfd, false).guess.lang, a.lang);
}

// Expected calibration error by hand: bins (0.5, 0.6] holds {0.55 right, 0.55 wrong} (accuracy
// 0.5, confidence 0.55: gap 0.05), (0.9, 1.0] holds {0.95 right x 3, 1.0 wrong} (accuracy 0.75,
// mean confidence 0.9625: gap 0.2125). ECE = (2 * 0.05 + 4 * 0.2125) / 6.
TEST(LangIdCalibration, ExpectedCalibrationErrorOnAFixture) {
  std::vector<std::pair<double, bool>> cc = {{0.55, true}, {0.55, false}, {0.95, true},
                                             {0.95, true}, {0.95, true},  {1.0, false}};
  EXPECT_NEAR(expected_calibration_error(cc, 10), (2 * 0.05 + 4 * 0.2125) / 6, 1e-12);
  EXPECT_NEAR(expected_calibration_error({{0.7, true}, {0.7, true}, {0.7, false}}, 10), 0.7 - 2.0 / 3, 1e-12);
  EXPECT_EQ(expected_calibration_error({}, 10), 0.0);
}

// The fitted temperature makes the confidence on held-out text honest: on the toy languages
// with a fifth of the words swapped for another language's, the fixed temperature is
// over-confident; the fitted one lowers the error and the likelihood it maximizes.
TEST(LangIdCalibration, FittedTemperatureLowersTheCalibrationError) {
  LangIdTrainOptions o;
  o.n_buckets_log2 = 12;
  o.perceptron_epochs = 0;
  o.clean_passes = 0;
  auto m = LangIdModel::train(toy_data(), o);
  ASSERT_TRUE(m.ok());
  const char* words[3][6] = {{"kala", "maka", "taka", "laka", "paka", "sala"},
                             {"zorro", "borro", "corro", "porro", "torro", "gorro"},
                             {"uxuy", "yuxu", "wuxy", "xywu", "uyxw", "wyux"}};
  const char* names[3] = {"aa", "bb", "cc"};
  // Two-word lines, half of them with one word of another language: the truth is ambiguous.
  std::vector<LabeledText> held;
  for (int i = 0; i < 300; ++i) {
    int l = i % 3, other = (l + 1 + (i / 3) % 2) % 3;
    std::string s = std::string(words[l][i % 6]) + " " + words[(i / 7) % 2 ? l : other][(i / 5) % 6];
    held.push_back({s, names[l], "toy"});
  }
  auto ece_of = [&](const LangIdModel& model) {
    std::vector<std::pair<double, bool>> cc;
    for (const auto& h : held) {
      auto g = model.identify(h.text);
      cc.emplace_back(g.confidence, g.best == h.lang);
    }
    return expected_calibration_error(cc, 10);
  };
  const double before = ece_of(*m);
  auto c = fit_langid_calibration(*m, held);
  m->set_calibration(c);
  const double after = ece_of(*m);
  EXPECT_LT(after, before);
  EXPECT_LT(after, 0.1) << "t0 " << c.t0 << " per feature " << c.t_per_feature;
  // Saved and loaded with the model.
  auto back = LangIdModel::from_bytes(m->to_bytes(), "m.bin");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_DOUBLE_EQ(back->calibration().t0, c.t0);
  EXPECT_DOUBLE_EQ(back->calibration().t_per_feature, c.t_per_feature);
}
