// SPDX-License-Identifier: Apache-2.0
// fragua sdg against a mock OpenAI server on 127.0.0.1: fixed answers per prompt, injected
// failures (500, 429, a timeout), resume after a stop, the language/judge/duplicate filters and
// the shape of the JSONL written.
#include "fragua/community/sdg.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>

#include "fragua/base/json.h"
#include "fragua/data/langid.h"
#include "fragua/train/finetune.h"
#include "http_fixture.h"
#include "train/finetune_fixtures.h"

namespace fragua::community {
namespace {

// Contexts 0 and 1 get good, distinct answers; 2 repeats a seed question (duplicate); 3 answers in
// English (language); 4 invents a figure the judge scores 1.
std::string sdg_test_leaf_yaml() {
  std::string y =
      "version: 3\ncreated_by: tester\nlanguage: es\ndomain: pruebas\n"
      "document_outline: los trámites de un ayuntamiento.\n"
      "document:\n  repo: https://example.org/d.git\n  commit: abc1234\n  patterns: [d.md]\n"
      "seed_examples:\n";
  for (int i = 0; i < 5; ++i) {
    y += fmt::format(
        "  - context: >-\n      CONTEXTO-{} El ayuntamiento de Villaverde atiende en la oficina de la plaza Mayor durante "
        "15 días al mes, y la solicitud se resuelve en un plazo de 3 meses desde su registro.\n"
        "    questions_and_answers:\n",
        i);
    for (int j = 0; j < 3; ++j)
      y += fmt::format("      - question: ¿Cuál es la pregunta de prueba número {} del contexto {}?\n"
                       "        answer: Es la respuesta número {} del contexto {}.\n",
                       j, i, j, i);
  }
  return y;
}

// Distinct questions for the good answers, one per request seed.
const char* kSdgQuestions[] = {
    "¿Dónde atiende el ayuntamiento de Villaverde a los vecinos que quieren hacer un trámite?",
    "¿Cuánto tarda en resolverse una solicitud presentada en el registro municipal?",
    "¿Cuántos días al mes abre la oficina municipal de la plaza Mayor?",
    "¿Qué plazo máximo tiene el ayuntamiento para contestar a una solicitud registrada?",
    "¿En qué plaza se encuentra la oficina de atención del ayuntamiento?",
    "¿Desde cuándo se cuenta el plazo para resolver la solicitud municipal?",
};

class MockOpenAi {
 public:
  explicit MockOpenAi(int fail_first = 0)
      : fail_first_(fail_first), server_([this](httplib::Server& srv) {
          srv.Post("/v1/chat/completions",
                   [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
        }) {}

  std::string url() const { return server_.url() + "/v1"; }
  int requests() const { return requests_.load(); }
  std::set<uint64_t> generation_seeds() {
    std::lock_guard<std::mutex> lock(mutex_);
    return gen_seeds_;
  }
  bool always_fail = false;

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    int n = ++requests_;
    if (always_fail) {
      res.status = 500;
      return;
    }
    if (n <= fail_first_) {
      // Request 1: a server error; 2: rate limited with Retry-After; 3: slower than the client's timeout.
      if (n % 3 == 1) {
        res.status = 500;
        res.set_content("{\"error\":\"boom\"}", "application/json");
        return;
      }
      if (n % 3 == 2) {
        res.status = 429;
        res.set_header("Retry-After", "0");
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    }
    auto body = nlohmann::json::parse(req.body);
    std::string user = body["messages"].back()["content"].get<std::string>();
    uint64_t seed = body["seed"].get<uint64_t>();
    std::string reply;
    if (user.find("Puntuación:") != std::string::npos) {
      reply = user.find("INVENTADO") != std::string::npos ? "Se inventa datos.\nPuntuación: 1"
                                                           : "Fiel al fragmento.\n**Puntuación:** 5";
    } else {
      std::lock_guard<std::mutex> lock(mutex_);
      gen_seeds_.insert(seed);
      if (user.find("CONTEXTO-2") != std::string::npos) {
        reply = "Pregunta: ¿Cuál es la pregunta de prueba número 1 del contexto 2?\nRespuesta: Es la 1 del 2.";
      } else if (user.find("CONTEXTO-3") != std::string::npos) {
        reply = "Pregunta: Where does the town hall of Villaverde see the public?\nRespuesta: At the office on the "
                "main square, fifteen days a month.";
      } else if (user.find("CONTEXTO-4") != std::string::npos) {
        reply = "Pregunta: ¿Qué documento INVENTADO hay que llevar a la oficina?\nRespuesta: El documento INVENTADO "
                "número 7 de Villaverde.";
      } else {
        auto it = question_of_.find(seed);
        if (it == question_of_.end()) it = question_of_.emplace(seed, question_of_.size()).first;
        reply = fmt::format("**Pregunta:** {}\n**Respuesta:** Se resuelve en 3 meses en la oficina de la plaza Mayor.",
                            kSdgQuestions[it->second % std::size(kSdgQuestions)]);
      }
    }
    nlohmann::json out = {{"id", "x"}, {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", reply}}}}}}};
    res.set_content(out.dump(), "application/json");
  }

  int fail_first_;
  std::atomic<int> requests_{0};
  std::mutex mutex_;
  std::set<uint64_t> gen_seeds_;
  std::map<uint64_t, size_t> question_of_;
  test::LocalServer server_;
};

class SdgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<Problem> problems;
    leaf_ = parse_leaf(sdg_test_leaf_yaml(), "t/qna.yaml", "knowledge/pruebas/es", LeafKind::knowledge, problems);
    for (const auto& p : problems) ADD_FAILURE() << p.to_string();
    static auto langid = data::LangIdModel::load_default();
    ASSERT_TRUE(langid.ok());
    options_.run_dir = dir_.file("run");
    options_.samples_per_leaf = 10;
    options_.langid = &*langid;
    options_.progress = false;
    options_.concurrency = 2;
  }
  std::unique_ptr<Teacher> teacher(const MockOpenAi& mock, int retries = 5) {
    OpenAiTeacherOptions t;
    t.url = mock.url();
    t.model = "mock";
    t.max_retries = retries;
    t.backoff_initial_s = 0.01;
    t.backoff_max_s = 0.05;
    t.read_timeout_s = 1;
    auto r = make_openai_teacher(t);
    EXPECT_TRUE(r.ok());
    return std::move(r).value();
  }
  std::vector<nlohmann::json> lines(const char* name) {
    auto text = read_file(options_.run_dir + "/" + name);
    EXPECT_TRUE(text.ok());
    std::vector<nlohmann::json> out;
    size_t pos = 0;
    while (text.ok() && pos < text->size()) {
      size_t end = text->find('\n', pos);
      out.push_back(nlohmann::json::parse(text->substr(pos, end - pos)));
      pos = end + 1;
    }
    return out;
  }

  test::TempDir dir_;
  Leaf leaf_;
  SdgOptions options_;
};

TEST_F(SdgTest, RetriesFiltersAndOutputShape) {
  MockOpenAi mock(/*fail_first=*/3);
  auto t = teacher(mock);
  auto stats = run_sdg({leaf_}, *t, options_);
  ASSERT_TRUE(stats.ok()) << stats.error().to_string();
  EXPECT_EQ(stats->keys_total, 10u);
  EXPECT_EQ(stats->keys_done, 10u);
  EXPECT_EQ(stats->rejected.count("request"), 0u) << stats->first_error;
  EXPECT_EQ(stats->accepted, 4u);  // contexts 0 and 1, twice each
  EXPECT_EQ(stats->rejected["duplicate"], 2u);
  EXPECT_EQ(stats->rejected["language"], 2u);
  EXPECT_EQ(stats->rejected["judge"], 2u);
  // 10 generations, 8 judged (not the English ones), plus the 3 failed tries.
  EXPECT_EQ(stats->requests, 18u);
  EXPECT_EQ(mock.requests(), 21);

  auto sft = lines("sft.jsonl");
  ASSERT_EQ(sft.size(), 4u);
  std::set<size_t> indices;
  for (const auto& s : sft) {
    ASSERT_EQ(s["messages"].size(), 2u);
    EXPECT_EQ(s["messages"][0]["role"], "user");
    EXPECT_EQ(s["messages"][1]["role"], "assistant");
    EXPECT_NE(s["messages"][0]["content"].get<std::string>().find("?"), std::string::npos);
    EXPECT_EQ(s["messages"][1]["content"], "Se resuelve en 3 meses en la oficina de la plaza Mayor.");
    const auto& m = s["meta"];
    EXPECT_EQ(m["leaf"], "knowledge/pruebas/es");
    EXPECT_EQ(m["language"], "es");
    EXPECT_EQ(m["teacher"], "openai:" + mock.url().substr(0, mock.url().size() - 3) + "/v1/chat/completions#mock");
    EXPECT_EQ(m["prompt_version"], "es/knowledge_qa@1");
    EXPECT_EQ(m["judge_score"], 5);
    EXPECT_TRUE(m["seed"].is_number_unsigned());
    indices.insert(m["index"].get<size_t>() % 5);
  }
  EXPECT_EQ(indices, (std::set<size_t>{0, 1}));
  auto dpo = lines("dpo.jsonl");
  ASSERT_EQ(dpo.size(), 4u);
  for (const auto& d : dpo) {
    EXPECT_EQ(d["chosen"], "Se resuelve en 3 meses en la oficina de la plaza Mayor.");
    // The 3 becomes another figure of the context: 15, or the context's own number.
    std::string r = d["rejected"];
    EXPECT_TRUE(r == "Se resuelve en 15 meses en la oficina de la plaza Mayor." ||
                r == "Se resuelve en 0 meses en la oficina de la plaza Mayor." ||
                r == "Se resuelve en 1 meses en la oficina de la plaza Mayor.")
        << r;
    EXPECT_EQ(d["meta"]["rejected_from"], "corrupt:number");
    EXPECT_EQ(d["prompt"].get<std::string>().back(), '?');
  }
  auto rejected = lines("rejected.jsonl");
  ASSERT_EQ(rejected.size(), 6u);
  for (const auto& r : rejected) {
    size_t ctx = r["index"].get<size_t>() % 5;
    EXPECT_EQ(r["reason"], ctx == 2 ? "duplicate" : ctx == 3 ? "language" : "judge") << r.dump();
  }
}

// Issue 20's end-to-end path in small: the mock teacher's samples (through the real client and
// filters) teach a tiny model the leaf's fact with LoRA (dropout on). bench/community_e2e.py runs
// the same path per language with the CLI; DPO on SDG's pairs is not asserted here (on this tiny
// model its held-out accuracy did not rise, docs/community.md).
TEST_F(SdgTest, SamplesTeachTheFactThroughLora) {
  MockOpenAi mock;
  auto t = teacher(mock);
  options_.samples_per_leaf = 20;
  auto stats = run_sdg({leaf_}, *t, options_);
  ASSERT_TRUE(stats.ok()) << stats.error().to_string();
  ASSERT_GE(stats->accepted, 4u);
  const std::string base = train::testing::tiny_gguf(dir_, "base", 41, true, 128, 32);
  // Held out: a question the teacher never sent, about the same fact.
  const std::string answer = "Se resuelve en 3 meses en la oficina de la plaza Mayor.";
  test::write_test_file(
      dir_.file("held.jsonl"),
      nlohmann::json{{"messages",
                      {{{"role", "user"}, {"content", "¿En cuánto tiempo contesta Villaverde a lo que se registra?"}},
                       {{"role", "assistant"}, {"content", answer}}}}}
              .dump() +
          "\n");
  train::SftConfig c;
  c.model = base;
  c.data = options_.run_dir + "/sft.jsonl";
  c.eval_data = dir_.file("held.jsonl");
  c.out_dir = dir_.file("ft");
  c.lora = true;
  c.lora_config.rank = 8;
  c.lora_config.alpha = 16;
  c.lora_config.dropout = 0.05f;
  c.lora_config.targets = {"q", "k", "v", "o", "gate", "up", "down"};
  c.seq_len = 128;
  c.batch = 2;
  c.steps = 20;
  c.schedule.lr = 1e-2f;
  c.schedule.warmup = 2;
  c.threads = 1;
  auto ft = train::finetune(c);
  ASSERT_TRUE(ft.ok()) << ft.error().to_string();
  double before = -1;
  for (const auto& line : lines("../ft/metrics.jsonl"))
    if (line.value("when", "") == "start") before = line["val_loss"].get<double>();
  const double after = ft->last_eval["val_loss"].get<double>();
  std::printf("SDG -> LoRA: held-out answer nats/token %.3f -> %.3f\n", before, after);
  ASSERT_GT(before, 0);
  EXPECT_LT(after, before - 0.25);
}

TEST_F(SdgTest, ResumeSkipsFinishedKeys) {
  MockOpenAi mock;
  auto t = teacher(mock);
  options_.concurrency = 1;
  options_.stop_after = 3;
  auto first = run_sdg({leaf_}, *t, options_);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_TRUE(first->stopped);
  EXPECT_EQ(first->keys_done, 3u);
  std::set<uint64_t> seeds_first = mock.generation_seeds();
  EXPECT_EQ(seeds_first.size(), 3u);
  // A line written after the last state flush (a crash between the two writes) is dropped.
  std::string sft = *read_file(options_.run_dir + "/sft.jsonl");
  ASSERT_TRUE(write_file_atomic(options_.run_dir + "/sft.jsonl",
                                sft + R"({"messages":[],"meta":{"leaf":"knowledge/pruebas/es","index":9}})" + "\n")
                  .ok());

  options_.stop_after = 0;
  auto second = run_sdg({leaf_}, *t, options_);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_EQ(second->keys_skipped, 3u);
  EXPECT_EQ(second->keys_done, 7u);
  std::set<uint64_t> seeds_all = mock.generation_seeds();
  EXPECT_EQ(seeds_all.size(), 10u);  // no finished key was asked again
  auto out = lines("sft.jsonl");
  auto rej = lines("rejected.jsonl");
  std::set<size_t> keys;
  for (const auto& s : out) EXPECT_TRUE(keys.insert(s["meta"]["index"].get<size_t>()).second);
  for (const auto& r : rej) EXPECT_TRUE(keys.insert(r["index"].get<size_t>()).second);
  EXPECT_EQ(keys.size(), 10u);
  EXPECT_EQ(out.size(), 4u);

  // A third run has nothing left to do and sends nothing.
  int before = mock.requests();
  auto third = run_sdg({leaf_}, *t, options_);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->keys_skipped, 10u);
  EXPECT_EQ(mock.requests(), before);
}

TEST_F(SdgTest, RequestsThatKeepFailingLeaveKeysUnfinished) {
  MockOpenAi mock;
  mock.always_fail = true;
  auto t = teacher(mock, /*retries=*/2);
  options_.samples_per_leaf = 2;
  auto stats = run_sdg({leaf_}, *t, options_);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rejected["request"], 2u);
  EXPECT_EQ(stats->keys_done, 0u);
  EXPECT_EQ(mock.requests(), 6);  // 3 tries per key
  EXPECT_NE(stats->first_error.find("HTTP 500"), std::string::npos) << stats->first_error;
  auto state = parse_json(*read_file(options_.run_dir + "/state.json"), "state");
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE((*state)["done"].empty());
}

TEST(SdgText, LabelsScoresAndPrompts) {
  auto p = parse_labeled_pair("Claro.\n**Galdera:** Non?\n\n- erantzuna: Hemen.\nBigarren lerroa.", "Galdera",
                              "Erantzuna");
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(p->first, "Non?");
  EXPECT_EQ(p->second, "Hemen.\nBigarren lerroa.");
  EXPECT_FALSE(parse_labeled_pair("Erantzuna: x\nGaldera: y", "Galdera", "Erantzuna").ok());
  EXPECT_EQ(*parse_judge_score("Ondo.\nPuntuazioa: 4/5", "Puntuazioa"), 4);
  EXPECT_FALSE(parse_judge_score("Puntuació: 12 de 10\n", "Puntuació").ok());
  EXPECT_FALSE(parse_judge_score("sin nota", "Puntuación").ok());

  for (const char* lang : {"es", "ca", "ca-valencia", "eu", "gl"}) {
    auto set = load_prompt_set("", lang);
    ASSERT_TRUE(set.ok()) << lang << ": " << set.error().to_string();
    EXPECT_EQ(set->knowledge.id(), std::string(lang) + "/knowledge_qa@1");
    EXPECT_NE(set->knowledge.user.find("{context}"), std::string::npos) << lang;
    EXPECT_NE(set->knowledge.user.find("{examples}"), std::string::npos) << lang;
    EXPECT_NE(set->skill.user.find("{task_description}"), std::string::npos) << lang;
    EXPECT_NE(set->judge.user.find("{answer}"), std::string::npos) << lang;
    // The labels the parser looks for are the ones the prompt asks the teacher to write.
    EXPECT_NE(set->knowledge.user.find("\n" + set->knowledge.header["question_label"] + ": <"), std::string::npos);
    EXPECT_NE(set->judge.user.find("\n" + set->judge.header["score_label"] + ": <"), std::string::npos);
  }
  auto bad = parse_prompt_template("version: x\n[user]\nhola\n", "p.txt", "es", "k");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "p.txt: version 'x' is not a positive integer");
  EXPECT_FALSE(parse_prompt_template("version: 1\n[system]\nsolo\n", "p.txt", "es", "k").ok());
}

TEST(SdgText, CorruptedAnswers) {
  std::string how;
  EXPECT_EQ(corrupt_answer("Cada 2 años.", "Renovar cada 2 años; plazo de 10 días.", "", 7, how), "Cada 10 años.");
  EXPECT_EQ(how, "corrupt:number");
  EXPECT_NE(corrupt_answer("Cada 2 años.", "Cada 2 años.", "", 7, how), "Cada 2 años.");  // shifted
  EXPECT_EQ(how, "corrupt:number");
  std::string entity = corrupt_answer("Lo expide Zamora.", "El Ayuntamiento de Soria lo expide.", "", 1, how);
  EXPECT_TRUE(entity == "Lo expide Soria." || entity == "Lo expide Ayuntamiento.") << entity;
  EXPECT_EQ(how, "corrupt:entity");
  // No number or name: a word of the answer swapped for another word of the context.
  const std::string word =
      corrupt_answer("Se renueva en la oficina.", "La inscripción se renueva en la oficina municipal.", "otra", 3, how);
  EXPECT_TRUE(word == "Se inscripción en la oficina." || word == "Se municipal en la oficina." ||
              word == "Se renueva en la inscripción." || word == "Se renueva en la municipal.")
      << word;
  EXPECT_EQ(how, "corrupt:word");
  EXPECT_EQ(corrupt_answer("sí, siempre.", "nada", "otra respuesta", 1, how), "otra respuesta");
  EXPECT_EQ(how, "corrupt:other_answer");
  EXPECT_EQ(corrupt_answer("sí.", "nada", "", 1, how), "");
  EXPECT_EQ(how, "");
}

}  // namespace
}  // namespace fragua::community
