// SPDX-License-Identifier: Apache-2.0
// Fine-tuning on chat data: the loss mask covers the assistant turns only, packing, errors that
// name the line, exact resume, and end to end on a tiny model: SFT with LoRA teaches a fact
// (held-out questions in four languages), DPO raises the held-out preference accuracy.
#include <cmath>

#include "finetune_fixtures.h"
#include "fragua/base/file.h"
#include "fragua/base/metrics.h"
#include "fragua/train/dpo.h"
#include "fragua/train/finetune.h"
#include "fragua/train/import_gguf.h"
#include "fragua/train/text_encoder.h"

namespace fragua::train {
namespace {

std::string sft_line(const std::string& q, const std::string& a) {
  return nlohmann::json{{"messages", {{{"role", "user"}, {"content", q}}, {{"role", "assistant"}, {"content", a}}}},
                        {"meta", {{"leaf", "test"}}}}
             .dump() + "\n";
}

TEST(FinetuneData, LossCoversTheAssistantTurnOnly) {
  auto tok = make_byte_tokenizer();
  ASSERT_TRUE(tok.ok());
  auto ex = encode_sft_conversation(*tok, "chatml",
                                    {{"system", "Sé breve."}, {"user", "Hola"}, {"assistant", "Bon dia"},
                                     {"user", "Y?"}, {"assistant", "Egun on"}},
                                    "x:1");
  ASSERT_TRUE(ex.ok()) << ex.error().to_string();
  std::vector<int32_t> learned;
  for (size_t t = 0; t < ex->tokens.size(); ++t)
    if (ex->loss[t]) learned.push_back(ex->tokens[t]);
  EXPECT_EQ(tok->decode(learned), "Bon dia<|im_end|>\nEgun on<|im_end|>\n");
}

TEST(FinetuneData, PackingKeepsConversationsWholeAndTargetsInside) {
  SftExample a{{1, 2, 3, 4}, {0, 0, 1, 1}}, b{{5, 6, 7}, {0, 1, 1}};
  PackedBatch p = pack_sft({a, b, a}, 8, true);
  ASSERT_EQ(p.rows, 2);  // a + b fit in 8 (7 tokens); the second a starts a new row
  EXPECT_EQ(std::vector<int32_t>(p.tokens.begin(), p.tokens.begin() + 8), (std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7, 0}));
  // Position 3 (token 4, last of a) predicts nothing: b's first token is not a's target.
  EXPECT_EQ(std::vector<float>(p.weights.begin(), p.weights.begin() + 8),
            (std::vector<float>{0, 1, 1, 0, 1, 1, 0, 0}));
  EXPECT_EQ(p.targets[1], 3);
  PackedBatch q = pack_sft({a, b}, 8, false);
  EXPECT_EQ(q.rows, 2);
}

TEST(FinetuneData, BadLinesAreNamed) {
  test::TempDir dir;
  auto tok = make_byte_tokenizer();
  test::write_test_file(dir.file("d.jsonl"), sft_line("q", "a") + "{\"messages\": [{\"role\": \"user\"}]}\n");
  auto r = load_sft_jsonl(dir.file("d.jsonl"), *tok, "chatml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("d.jsonl:2"), std::string::npos) << r.error().message();
  test::write_test_file(dir.file("n.jsonl"), sft_line("q", "a") + nlohmann::json{{"messages", {{{"role", "user"}, {"content", "x"}}}}}.dump());
  r = load_sft_jsonl(dir.file("n.jsonl"), *tok, "chatml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("n.jsonl:2: no assistant"), std::string::npos) << r.error().message();
  test::write_test_file(dir.file("p.jsonl"), "{\"prompt\": \"a\", \"chosen\": 3, \"rejected\": \"b\"}\n");
  auto d = load_dpo_jsonl(dir.file("p.jsonl"), *tok, "chatml");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message().find("p.jsonl:1: \"chosen\""), std::string::npos) << d.error().message();
}

// One fact, asked and answered in Spanish, Catalan, Basque and Galician.
struct FactItem {
  const char* lang;
  const char* q;
  const char* a;
};
const FactItem kFactTrain[] = {
    {"es", "¿Cuál es la capital de Aragón?", "La capital de Aragón es Zaragoza."},
    {"es", "Dime la capital de Aragón.", "La capital de Aragón es Zaragoza."},
    {"ca", "Quina és la capital d'Aragó?", "La capital d'Aragó és Saragossa."},
    {"ca", "Digues la capital d'Aragó.", "La capital d'Aragó és Saragossa."},
    {"eu", "Zein da Aragoiko hiriburua?", "Aragoiko hiriburua Zaragoza da."},
    {"eu", "Esan Aragoiko hiriburua.", "Aragoiko hiriburua Zaragoza da."},
    {"gl", "Cal é a capital de Aragón?", "A capital de Aragón é Zaragoza."},
    {"gl", "Dime a capital de Aragón.", "A capital de Aragón é Zaragoza."},
};
const FactItem kFactHeldOut[] = {
    {"es", "¿Qué ciudad es la capital de Aragón?", "La capital de Aragón es Zaragoza."},
    {"ca", "Quina ciutat és la capital d'Aragó?", "La capital d'Aragó és Saragossa."},
    {"eu", "Zein hiri da Aragoiko hiriburua?", "Aragoiko hiriburua Zaragoza da."},
    {"gl", "Que cidade é a capital de Aragón?", "A capital de Aragón é Zaragoza."},
};

double held_out_loss(Model& m, const tokenize::Tokenizer& tok, const FactItem& it) {
  auto ex = encode_sft_conversation(tok, "chatml", {{"user", it.q}, {"assistant", it.a}}, "held-out");
  EXPECT_TRUE(ex.ok());
  auto loss = sft_eval_loss(m, pack_sft({*ex}, 128, false), 1);
  EXPECT_TRUE(loss.ok());
  return *loss;
}

SftConfig fact_config(const std::string& model, const std::string& data, const std::string& out) {
  SftConfig c;
  c.model = model;
  c.data = data;
  c.out_dir = out;
  c.lora = true;
  c.lora_config.rank = 8;
  c.lora_config.alpha = 16;
  c.lora_config.targets = {"q", "k", "v", "o", "gate", "up", "down"};
  c.seq_len = 128;
  c.batch = 2;
  c.steps = 30;
  c.schedule.lr = 1e-2f;
  c.schedule.warmup = 2;
  c.threads = 1;
  c.merge = true;
  return c;
}

TEST(FinetuneEndToEnd, LoraTeachesAFactInFourLanguages) {
  test::TempDir dir;
  const std::string base = testing::tiny_gguf(dir, "base", 31);
  std::string data;
  for (const auto& it : kFactTrain) data += sft_line(it.q, it.a);
  test::write_test_file(dir.file("sft.jsonl"), data);
  auto res = finetune(fact_config(base, dir.file("sft.jsonl"), dir.file("run")));
  ASSERT_TRUE(res.ok()) << res.error().to_string();
  EXPECT_EQ(res->step, 30);
  EXPECT_LT(res->losses.back(), res->losses.front());
  for (const char* f : {"adapter.gguf", "merged.gguf", "peft/adapter_model.safetensors", "peft/adapter_config.json",
                        "metrics.jsonl", "latest"})
    EXPECT_TRUE(Env::posix().file_exists(dir.file("run/") + f)) << f;
  auto tok = make_byte_tokenizer();
  auto before = load_gguf_model(base);
  auto after = load_gguf_model(dir.file("run/merged.gguf"));
  ASSERT_TRUE(before.ok() && after.ok());
  for (const auto& it : kFactHeldOut) {
    const double b = held_out_loss(*before, *tok, it), a = held_out_loss(*after, *tok, it);
    std::printf("held-out %s: answer nats/token before %.3f after %.3f\n", it.lang, b, a);
    // Measured: 5.60 -> 5.18 (es), 5.58 -> 5.20 (ca), 5.55 -> 5.21 (eu), 5.60 -> 5.18 (gl).
    EXPECT_LT(a, b - 0.25) << it.lang;
  }
}

TEST(FinetuneEndToEnd, ResumeGivesTheUninterruptedAdapter) {
  test::TempDir dir;
  const std::string base = testing::tiny_gguf(dir, "base", 32, true, 128, 16);
  std::string data;
  for (const auto& it : kFactTrain) data += sft_line(it.q, it.a);
  test::write_test_file(dir.file("sft.jsonl"), data);
  SftConfig c = fact_config(base, dir.file("sft.jsonl"), dir.file("whole"));
  c.steps = 4;
  c.merge = false;
  ASSERT_TRUE(finetune(c).ok());
  c.out_dir = dir.file("split");
  c.stop_after = 2;
  auto first = finetune(c);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->stopped);
  c.stop_after = -1;
  c.resume = true;
  auto second = finetune(c);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_EQ(second->losses.size(), 2u);
  EXPECT_EQ(*read_file(dir.file("whole/adapter.gguf")), *read_file(dir.file("split/adapter.gguf")));
  c.resume = false;
  auto again = finetune(c);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message().find("--resume"), std::string::npos);
}

TEST(FinetuneEndToEnd, LoraDropoutTrainsAndResumesWithTheSameMasks) {
  test::TempDir dir;
  const std::string base = testing::tiny_gguf(dir, "base", 34, true, 128, 16);
  std::string data;
  for (const auto& it : kFactTrain) data += sft_line(it.q, it.a);
  test::write_test_file(dir.file("sft.jsonl"), data);
  SftConfig c = fact_config(base, dir.file("sft.jsonl"), dir.file("plain"));
  c.steps = 6;
  c.merge = false;
  ASSERT_TRUE(finetune(c).ok());
  c.lora_config.dropout = 0.2f;
  c.out_dir = dir.file("whole");
  auto whole = finetune(c);
  ASSERT_TRUE(whole.ok()) << whole.error().to_string();
  EXPECT_LT(whole->losses.back(), whole->losses.front());
  // The masks change the trajectory: not the adapter of dropout 0.
  EXPECT_NE(*read_file(dir.file("whole/adapter.gguf")), *read_file(dir.file("plain/adapter.gguf")));
  // A step's mask comes from the seed and the step: a resumed run draws the same masks.
  c.out_dir = dir.file("split");
  c.stop_after = 3;
  ASSERT_TRUE(finetune(c).ok());
  c.stop_after = -1;
  c.resume = true;
  ASSERT_TRUE(finetune(c).ok());
  EXPECT_EQ(*read_file(dir.file("whole/adapter.gguf")), *read_file(dir.file("split/adapter.gguf")));
  auto cfg = nlohmann::json::parse(*read_file(dir.file("whole/peft/adapter_config.json")));
  EXPECT_NEAR(cfg["lora_dropout"].get<double>(), 0.2, 1e-6);
}

// The city of a fact answer replaced by another, as SDG corrupts an answer (corrupt:entity).
std::string with_city(const FactItem& it, const char* city) {
  std::string a = it.a;
  const std::string right = std::string(it.lang) == "ca" ? "Saragossa" : "Zaragoza";
  return a.replace(a.find(right), right.size(), city);
}

std::string dpo_line(const std::string& prompt, const std::string& chosen, const std::string& rejected) {
  return nlohmann::json{{"prompt", prompt}, {"chosen", chosen}, {"rejected", rejected}}.dump() + "\n";
}

TEST(DpoEndToEnd, RaisesHeldOutPreferenceAccuracy) {
  test::TempDir dir;
  const std::string base = testing::tiny_gguf(dir, "base", 33, true, 128, 16);
  // Pairs as SDG makes them: the right answer over the same answer with a wrong city. Held out:
  // other questions about the fact, corrupted with cities the training pairs never used, so the
  // held-out margin grows only if DPO raises the right answer itself (with the gradient's sign
  // reversed it falls, and the accuracy goes to 0).
  const char* wrong_train[] = {"Huesca", "Teruel", "Soria", "Lleida"};
  const char* wrong_held[] = {"Tarazona", "Calatayud", "Barbastro", "Monzón"};
  std::string train, held;
  int k = 0;
  for (const auto& it : kFactTrain) train += dpo_line(it.q, it.a, with_city(it, wrong_train[k++ % 4]));
  k = 0;
  for (const auto& it : kFactHeldOut) held += dpo_line(it.q, it.a, with_city(it, wrong_held[k++]));
  test::write_test_file(dir.file("pairs.jsonl"), train);
  test::write_test_file(dir.file("held.jsonl"), held);
  DpoConfig c;
  c.model = base;
  c.data = dir.file("pairs.jsonl");
  c.eval_data = dir.file("held.jsonl");
  c.out_dir = dir.file("run");
  c.seq_len = 128;
  c.batch = 2;
  c.steps = 12;
  c.schedule.lr = 3e-3f;
  c.threads = 1;
  auto res = align_dpo(c);
  ASSERT_TRUE(res.ok()) << res.error().to_string();
  const auto& start = res->last_eval["start"];
  const auto& end = res->last_eval["end"];
  std::printf("held-out DPO: accuracy %.2f -> %.2f, margin %.3f -> %.3f, chosen likelier %.2f -> %.2f\n",
              start["val_accuracy"].get<double>(), end["val_accuracy"].get<double>(),
              start["val_reward_margin"].get<double>(), end["val_reward_margin"].get<double>(),
              start["val_logp_accuracy"].get<double>(), end["val_logp_accuracy"].get<double>());
  EXPECT_NEAR(start["val_reward_margin"].get<double>(), 0.0, 1e-4);  // the policy starts as the reference
  EXPECT_GT(end["val_accuracy"].get<double>(), 0.99);
  EXPECT_GT(end["val_reward_margin"].get<double>(), 0.05);
  EXPECT_GT(end["val_logp_accuracy"].get<double>(), 0.99);
  EXPECT_TRUE(Env::posix().file_exists(dir.file("run/model.gguf")));
  EXPECT_TRUE(Env::posix().file_exists(dir.file("run/reference_logps.json")));
  // The control: the same run taught the opposite preference (what a reversed gradient sign
  // does) must fail the held-out pairs, so the measurement above is not satisfied by any training.
  std::string swapped;
  k = 0;
  for (const auto& it : kFactTrain) swapped += dpo_line(it.q, with_city(it, wrong_train[k++ % 4]), it.a);
  test::write_test_file(dir.file("swapped.jsonl"), swapped);
  c.data = dir.file("swapped.jsonl");
  c.out_dir = dir.file("control");
  auto control = align_dpo(c);
  ASSERT_TRUE(control.ok()) << control.error().to_string();
  const auto& cend = control->last_eval["end"];
  std::printf("control (preferences reversed): accuracy %.2f, margin %.3f\n", cend["val_accuracy"].get<double>(),
              cend["val_reward_margin"].get<double>());
  EXPECT_LT(cend["val_accuracy"].get<double>(), 0.01);
  EXPECT_LT(cend["val_reward_margin"].get<double>(), -0.05);
}

}  // namespace
}  // namespace fragua::train
