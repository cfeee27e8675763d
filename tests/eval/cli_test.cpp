// SPDX-License-Identifier: Apache-2.0
// `fragua eval bpb`, `perplexity` and `run` end to end: the figures they print and write are the library's.
#include <gtest/gtest.h>

#include "fragua/base/file.h"
#include "fragua/eval/bits_per_byte.h"
#include "fragua/eval/harness.h"
#include "fragua/eval/perplexity.h"
#include "fragua/model/loaded_model.h"
#include "model/fixtures.h"
#include "test_util.h"

namespace fragua::eval {
namespace {

TEST(EvalCli, BitsPerByteMatchesTheLibrary) {
  test::TempDir dir;
  ASSERT_TRUE(model::write_random_model(model::tiny_model_spec(), dir.file("m.gguf")).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("held.jsonl"),
                                "{\"text\": \"Una frase en castellano para medir.\", \"lang\": \"es\"}\n"
                                "{\"text\": \"A sentence in English to measure.\", \"lang\": \"en\"}\n"
                                "\n"
                                "{\"text\": \"Otra frase, más larga que la primera.\", \"lang\": \"es\"}\n")
                  .ok());
  ASSERT_TRUE(write_file_atomic(dir.file("plain.txt"), "Texto sin etiqueta.").ok());
  std::string out;
  const std::string cmd = test::cli_path() + " -q eval bpb " + dir.file("m.gguf") + " " + dir.file("held.jsonl") + " " +
                          dir.file("plain.txt") + " --lang gl -c 8 -t 1 --json " + dir.file("bpb.json");
  ASSERT_EQ(test::run_command(cmd, &out), 0) << out;
  EXPECT_NE(out.find("| es | 2 |"), std::string::npos) << out;
  EXPECT_NE(out.find("| gl | 1 |"), std::string::npos) << out;
  const auto j = nlohmann::json::parse(*read_file(dir.file("bpb.json")));

  auto m = model::open_model(dir.file("m.gguf"), {.context = {.n_ctx = 8, .n_threads = 1}});
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  auto want = bits_per_byte(*m->context, *m->tokenizer,
                            {{"es", {"Una frase en castellano para medir.", "Otra frase, más larga que la primera."}},
                             {"en", {"A sentence in English to measure."}},
                             {"gl", {"Texto sin etiqueta."}}});
  ASSERT_TRUE(want.ok());
  ASSERT_EQ(j["val_bpb"].size(), 3u) << j.dump();
  for (const auto& [lang, l] : *want) {
    EXPECT_EQ(j["languages"][lang]["tokens"].get<uint64_t>(), l.tokens) << lang;
    EXPECT_EQ(j["languages"][lang]["bytes"].get<uint64_t>(), l.bytes) << lang;
    EXPECT_DOUBLE_EQ(j["val_bpb"][lang].get<double>(), l.bits_per_byte()) << lang;
  }
  EXPECT_EQ(j["n_ctx"], 8);

  // A malformed line is named by file and line; nothing is written.
  ASSERT_TRUE(write_file_atomic(dir.file("bad.jsonl"), "{\"text\": \"ok\"}\n{\"lang\": \"es\"}\n").ok());
  ASSERT_NE(test::run_command(test::cli_path() + " -q eval bpb " + dir.file("m.gguf") + " " + dir.file("bad.jsonl") +
                                  " --json " + dir.file("bad.json"),
                              &out),
            0);
  EXPECT_NE(out.find(dir.file("bad.jsonl") + ":2: expected an object with a string \"text\""), std::string::npos)
      << out;
  EXPECT_FALSE(Env::posix().file_exists(dir.file("bad.json")));
}

TEST(EvalCli, PerplexityMatchesTheLibrary) {
  test::TempDir dir;
  ASSERT_TRUE(model::write_random_model(model::tiny_model_spec(), dir.file("m.gguf")).ok());
  const std::string es = "El herrero golpea el hierro mientras está caliente, y la fragua no se apaga nunca.";
  const std::string eu = "Errementariak burdina jotzen du bero dagoen bitartean, eta sutegia ez da itzaltzen.";
  ASSERT_TRUE(write_file_atomic(dir.file("es.txt"), es).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("eu.txt"), eu).ok());
  std::string out;
  // -m/--model, llama-perplexity's spelling (the positional form is used below).
  ASSERT_EQ(test::run_command(test::cli_path() + " -q eval perplexity -m " + dir.file("m.gguf") + " --text es=" +
                                  dir.file("es.txt") + " --text eu=" + dir.file("eu.txt") + " --text es=" +
                                  dir.file("es.txt") + " -c 16 -b 2 -t 1 --json " + dir.file("ppl.json"),
                              &out),
            0)
      << out;
  EXPECT_NE(out.find("| es | (all) |"), std::string::npos) << out;
  const auto j = nlohmann::json::parse(*read_file(dir.file("ppl.json")));
  auto m = model::open_model(dir.file("m.gguf"), {.context = {.n_ctx = 16, .n_threads = 1}});
  ASSERT_TRUE(m.ok());
  auto want = perplexity(*m->model, *m->tokenizer, eu, {.n_ctx = 16, .n_threads = 1});
  ASSERT_TRUE(want.ok());
  EXPECT_DOUBLE_EQ(j["languages"]["eu"]["ppl"].get<double>(), want->ppl());
  EXPECT_DOUBLE_EQ(j["languages"]["eu"]["bpb"].get<double>(), want->loss.bits_per_byte());
  EXPECT_EQ(j["files"].size(), 3u);
  EXPECT_EQ(j["languages"]["es"]["scored"].get<uint64_t>(), 2 * j["files"][0]["scored"].get<uint64_t>());

  // A malformed --text, and a text shorter than one chunk: errors, no JSON.
  EXPECT_NE(test::run_command(test::cli_path() + " -q eval perplexity " + dir.file("m.gguf") + " --text " +
                                  dir.file("es.txt") + " --json " + dir.file("bad.json"),
                              &out),
            0);
  EXPECT_NE(out.find("expected LANG=FILE"), std::string::npos) << out;
  ASSERT_TRUE(write_file_atomic(dir.file("short.txt"), "Corto.").ok());
  EXPECT_NE(test::run_command(test::cli_path() + " -q eval perplexity " + dir.file("m.gguf") + " --text es=" +
                                  dir.file("short.txt") + " -c 16 --json " + dir.file("bad.json"),
                              &out),
            0);
  EXPECT_NE(out.find(dir.file("short.txt")), std::string::npos) << out;
  EXPECT_FALSE(Env::posix().file_exists(dir.file("bad.json")));
}

TEST(EvalCli, RunWritesTheHarnessLayout) {
  test::TempDir dir;
  ASSERT_TRUE(model::write_random_model(model::tiny_model_spec(), dir.file("m.gguf")).ok());
  ASSERT_TRUE(Env::posix().create_dirs(dir.file("tasks/mp")).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("tasks/pairs.yaml"),
                                "task: pairs\ndataset_path: mp\ntest_split: test\nfewshot_split: test\n"
                                "doc_to_text: \"Zuzena:\"\ndoc_to_choice: \"{{[good, bad]}}\"\ndoc_to_target: 0\n"
                                "metadata: {version: 2, language: eu}\n")
                  .ok());
  ASSERT_TRUE(write_file_atomic(dir.file("tasks/mp/test.jsonl"),
                                "{\"good\": \"Umeak jan du.\", \"bad\": \"Umeak jan dute.\"}\n"
                                "{\"good\": \"Haiek daude.\", \"bad\": \"Haiek dago.\"}\n"
                                "{\"good\": \"Nik dut.\", \"bad\": \"Ni dut.\"}\n")
                  .ok());
  std::string out;
  // -m/--model (the positional form is used below), two questions in one batch.
  ASSERT_EQ(test::run_command(test::cli_path() + " -q eval run -m " + dir.file("m.gguf") + " --tasks pairs --task-dir " +
                                  dir.file("tasks") + " --num-fewshot 1 --limit 2 -b 2 -t 1 --output " + dir.file("r.json") +
                                  " --log-samples " + dir.file("s.jsonl"),
                              &out),
            0)
      << out;
  EXPECT_NE(out.find("| pairs | eu | 2 | 1 |"), std::string::npos) << out;
  const auto j = nlohmann::json::parse(*read_file(dir.file("r.json")));
  auto task = load_task(dir.file("tasks/pairs.yaml"));
  ASSERT_TRUE(task.ok());
  auto m = model::open_model(dir.file("m.gguf"), {.context = {.n_threads = 1}});
  ASSERT_TRUE(m.ok());
  auto want = run_task(*m->context, *m->tokenizer, *task, {.limit = 2, .num_fewshot = 1});
  ASSERT_TRUE(want.ok()) << want.error().to_string();
  EXPECT_DOUBLE_EQ(j["results"]["pairs"]["acc,none"].get<double>(), want->metrics.at("acc").mean);
  EXPECT_DOUBLE_EQ(j["results"]["pairs"]["acc_norm_stderr,none"].get<double>(), want->metrics.at("acc_norm").stderr_);
  EXPECT_EQ(j["n-shot"]["pairs"], 1);
  EXPECT_EQ(j["versions"]["pairs"], 2.0);
  EXPECT_EQ(j["n-samples"]["pairs"]["original"], 3);
  EXPECT_EQ(j["config"]["fewshot_seed"], 1234);
  // --log-samples: per choice, each continuation token's id and log-probability, summing to the
  // choice's log-likelihood.
  const auto lines = *read_file(dir.file("s.jsonl"));
  size_t n_lines = 0;
  for (size_t at = 0; at < lines.size();) {
    const size_t end = lines.find('\n', at);
    const auto s = nlohmann::json::parse(lines.substr(at, end - at));
    at = end + 1;
    ++n_lines;
    ASSERT_EQ(s["token_logprobs"].size(), 2u);
    for (size_t c = 0; c < 2; ++c) {
      double sum = 0;
      for (const auto& lp : s["token_logprobs"][c]) sum += lp.get<double>();
      EXPECT_NEAR(sum, s["loglikelihoods"][c].get<double>(), 1e-9) << s.dump();
      EXPECT_EQ(s["token_ids"][c].size(), s["tokens"][c].get<size_t>()) << s.dump();
      EXPECT_EQ(s["token_logprobs"][c].size(), s["tokens"][c].get<size_t>()) << s.dump();
    }
  }
  EXPECT_EQ(n_lines, 2u);

  // An unknown task is named; nothing is written.
  EXPECT_NE(test::run_command(test::cli_path() + " -q eval run " + dir.file("m.gguf") + " --tasks nope --output " +
                                  dir.file("x.json"),
                              &out),
            0);
  EXPECT_NE(out.find("task 'nope'"), std::string::npos) << out;
  EXPECT_FALSE(Env::posix().file_exists(dir.file("x.json")));
}

TEST(EvalCli, ConvertWritesOnlyWhatCanRun) {
  test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("h.yaml"),
                                "task: h\ndataset_path: org/h\ntest_split: test\ndoc_to_text: q\n"
                                "doc_to_choice: [\"a\", \"b\"]\ndoc_to_target: g\nprocess_docs: !function u.p\n")
                  .ok());
  std::string out;
  // No data named: nothing written, exit 1, the hub dataset named.
  EXPECT_EQ(test::run_command(test::cli_path() + " eval convert " + dir.file("h.yaml") + " -o " + dir.file("o.yaml"), &out),
            1);
  EXPECT_NE(out.find("org/h"), std::string::npos) << out;
  EXPECT_FALSE(Env::posix().file_exists(dir.file("o.yaml")));
  ASSERT_EQ(test::run_command(test::cli_path() + " eval convert " + dir.file("h.yaml") + " -o " + dir.file("o.yaml") +
                                  " --data test=d/test.jsonl --language ca",
                              &out),
            0)
      << out;
  EXPECT_NE(out.find("not carried: process_docs: !function u.p"), std::string::npos) << out;
  auto t = load_task(dir.file("o.yaml"));
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_EQ(t->language, "ca");
  EXPECT_EQ(t->split_files.at("test"), dir.file("d/test.jsonl"));
  // A model file and --remote together (or neither) is refused.
  EXPECT_EQ(test::run_command(test::cli_path() + " eval run --tasks " + dir.file("o.yaml"), &out), 2);
  EXPECT_NE(out.find("either a model file (MODEL or -m MODEL) or --remote"), std::string::npos) << out;
  EXPECT_EQ(test::run_command(test::cli_path() + " eval perplexity --text es=x.txt", &out), 2);
  EXPECT_NE(out.find("expected a model: fragua eval perplexity MODEL or -m MODEL"), std::string::npos) << out;
}

}  // namespace
}  // namespace fragua::eval
