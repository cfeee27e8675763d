// SPDX-License-Identifier: Apache-2.0
// End-to-end: `fragua corpus build` on inputs the test writes (JSONL, text with junk, HTML,
// WARC), its outputs, the report, resume after an interruption, and the same run under mpirun.
#include <zlib.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/data/pipeline.h"
#include "test_util.h"

using namespace fragua;
using namespace fragua::data;
namespace fs = std::filesystem;

namespace {

const char* kEs[] = {
    "La biblioteca municipal abre sus puertas de lunes a viernes por la mañana y los lectores pueden consultar el "
    "catálogo en línea.",
    "El ayuntamiento ha aprobado hoy los presupuestos para el próximo año con el voto favorable de la mayoría de los "
    "concejales.",
    "Los vecinos del barrio se reunieron en la plaza para celebrar la fiesta mayor con música y comida para todos los "
    "asistentes.",
};
const char* kCa =
    "L'ajuntament ha aprovat avui els pressupostos per a l'any que ve amb el vot favorable de la majoria dels regidors "
    "de la ciutat.";
const char* kEn =
    "The city council approved the budget for next year today with the votes of most of the councillors in the "
    "chamber.";

std::vector<nlohmann::json> read_shards(const std::string& dir) {
  std::vector<nlohmann::json> out;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir + "/shards")) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

// Removes the shard (and with `state`, the resume state) that an input file produced.
void forget(const std::string& out, const std::string& input_suffix, bool state) {
  for (const auto& e : fs::directory_iterator(out + "/.state")) {
    if (e.path().extension() != ".json") continue;
    auto j = nlohmann::json::parse(*read_file(e.path().string()));
    if (!j["input"]["path"].get<std::string>().ends_with(input_suffix)) continue;
    fs::remove(out + "/shards/" + j["shard"].get<std::string>());
    if (state) fs::remove(e.path());
  }
}

// The shard each input produced: input path suffix -> shard path.
std::map<std::string, std::string> shard_of(const std::string& out) {
  std::map<std::string, std::string> m;
  for (const auto& e : fs::directory_iterator(out + "/.state")) {
    if (e.path().extension() != ".json") continue;
    auto j = nlohmann::json::parse(*read_file(e.path().string()));
    m[fs::path(j["input"]["path"].get<std::string>()).filename().string()] =
        out + "/shards/" + j["shard"].get<std::string>();
  }
  return m;
}

void make_inputs(const test::TempDir& dir) {
  fs::create_directories(dir.file("in"));
  std::string jl;
  for (const char* s : kEs) jl += nlohmann::json({{"text", s}, {"url", "http://x.es"}}).dump() + "\n";
  jl += nlohmann::json({{"text", kEs[0]}}).dump() + "\n";  // exact duplicate
  jl += nlohmann::json({{"text",
                         "Para cualquier consulta sobre la inscripción en los cursos de verano escribe a ana@correo.es "
                         "o llama al 612 345 678 por la tarde."}})
            .dump() +
        "\n";
  jl += "{broken json\n";
  jl += nlohmann::json({{"text", kEn}}).dump() + "\n";
  test::write_test_file(dir.file("in/a.jsonl"), jl);
  test::write_test_file(dir.file("in/b.txt"),
        std::string(kCa) + "\n\nBasura \xff\xfe binaria\n\n" + kEs[2] + "\n");  // kEs[2] again: exact duplicate
  test::write_test_file(dir.file("in/c.html"),
        std::string("<html><body><p>") + kCa + " Telèfon de contacte 93 123 45 67 per a dubtes.</p></body></html>");
}

std::string config(const test::TempDir& dir, const std::string& out) {
  return "inputs: [" + dir.file("in") + "]\noutput: " + out +
         "\nthreads: 2\nstages:\n  langid: {keep: [es, ca]}\n  quality: {min_words: 10}\n  dedup: {memory_mb: 4}\n";
}

}  // namespace

TEST(Pipeline, BuildsShardsAndReport) {
  test::TempDir dir;
  make_inputs(dir);
  auto cfg = parse_build_config(config(dir, dir.file("out")), "cfg.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  ASSERT_TRUE(run_build(*cfg).ok());
  auto docs = read_shards(dir.file("out"));
  std::map<std::string, int> langs;
  for (const auto& d : docs) langs[d["lang"].get<std::string>()]++;
  // es: 3 unique + the one with PII; ca: the text paragraph (the HTML one is a near duplicate);
  // exact duplicates: kEs[0] in a.jsonl and kEs[2] in b.txt.
  EXPECT_EQ(langs["es"], 4) << nlohmann::json(docs).dump(1);
  EXPECT_EQ(langs["ca"], 1);
  EXPECT_EQ(langs.count("en"), 0u);
  bool redacted = false;
  for (const auto& d : docs) {
    std::string t = d["text"];
    EXPECT_EQ(t.find("ana@correo.es"), std::string::npos);
    redacted |= t.find("<EMAIL>") != std::string::npos && t.find("<PHONE>") != std::string::npos;
    EXPECT_GT(d["lang_confidence"].get<double>(), 0.5);
  }
  EXPECT_TRUE(redacted);
  auto report = nlohmann::json::parse(*read_file(dir.file("out/report.json")));
  EXPECT_EQ(report["bad_records"], 2);  // the broken JSON line, the junk paragraph
  EXPECT_EQ(report["languages"]["es"]["drops"]["dedup:exact"][0], 2);
  EXPECT_EQ(report["languages"]["en"]["drops"]["langid:other_language"][0], 1);
  EXPECT_TRUE(fs::exists(dir.file("out/report.svg")));
  EXPECT_NE(read_file(dir.file("out/report.md"))->find("| es |"), std::string::npos);
}

TEST(Pipeline, ResumesAfterInterruption) {
  test::TempDir dir;
  make_inputs(dir);
  auto cfg = parse_build_config(config(dir, dir.file("out")), "cfg.yaml");
  ASSERT_TRUE(cfg.ok());
  ASSERT_TRUE(run_build(*cfg).ok());
  auto first = read_shards(dir.file("out"));
  // Simulate a crash after the first file: drop the later files' committed state and shards
  // (b.txt's shard only: its state without a shard must not count as done either).
  forget(dir.file("out"), "b.txt", false);
  forget(dir.file("out"), "c.html", true);
  fs::remove(dir.file("out/report.json"));
  ASSERT_TRUE(run_build(*cfg).ok());
  auto second = read_shards(dir.file("out"));
  EXPECT_EQ(nlohmann::json(first), nlohmann::json(second));
  auto report = nlohmann::json::parse(*read_file(dir.file("out/report.json")));
  EXPECT_EQ(report["languages"]["es"]["drops"]["dedup:exact"][0], 2);
}

// Issue 12, defect 5: resume matched earlier work by input index, so a file that sorts first
// shifted every index: it was never processed, and the command still exited 0.
TEST(HardeningPipeline, ResumeIsKeyedByFileNotByIndex) {
  test::TempDir dir;
  fs::create_directories(dir.file("in"));
  test::write_test_file(dir.file("in/b.jsonl"), nlohmann::json({{"text", kEs[0]}}).dump() + "\n");
  test::write_test_file(dir.file("in/c.jsonl"), nlohmann::json({{"text", kEs[1]}}).dump() + "\n");
  // The output folder lies inside the input folder.
  std::string cfg_text = "inputs: [" + dir.file("in") + "]\noutput: " + dir.file("in/out") +
                         "\nstages:\n  langid: false\n  quality: false\n  dedup: {memory_mb: 4}\n";
  auto cfg = parse_build_config(cfg_text, "cfg.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().to_string();
  ASSERT_TRUE(run_build(*cfg).ok());
  auto before = shard_of(dir.file("in/out"));
  ASSERT_EQ(before.size(), 2u);
  const auto b_time = fs::last_write_time(before["b.jsonl"]);
  const auto c_time = fs::last_write_time(before["c.jsonl"]);
  // A new file that sorts first, a stray temporary of an interrupted write, a hidden file; and
  // c.jsonl changes (its old shard must go, not be kept beside the new one).
  test::write_test_file(dir.file("in/a.jsonl"), nlohmann::json({{"text", kEs[2]}}).dump() + "\n");
  test::write_test_file(dir.file("in/a.jsonl.tmp-4242-0123456789abcdef"), "{\"text\": \"half a record");
  test::write_test_file(dir.file("in/.notes.jsonl"), nlohmann::json({{"text", kCa}}).dump() + "\n");
  test::write_test_file(dir.file("in/c.jsonl"), nlohmann::json({{"text", kEn}}).dump() + "\n");
  fs::last_write_time(dir.file("in/c.jsonl"), c_time + std::chrono::seconds(5));
  ASSERT_TRUE(run_build(*cfg).ok());
  auto after = shard_of(dir.file("in/out"));
  ASSERT_EQ(after.size(), 3u) << nlohmann::json(after).dump();
  EXPECT_EQ(after["b.jsonl"], before["b.jsonl"]);
  EXPECT_EQ(fs::last_write_time(after["b.jsonl"]), b_time) << "b.jsonl was processed again";
  EXPECT_FALSE(fs::exists(before["c.jsonl"])) << "the changed file's old shard is still there";
  std::vector<std::string> texts;
  for (const auto& d : read_shards(dir.file("in/out"))) texts.push_back(d["text"]);
  std::sort(texts.begin(), texts.end());
  std::vector<std::string> want = {kEs[0], kEs[2], kEn};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(texts, want);
  auto report = nlohmann::json::parse(*read_file(dir.file("in/out/report.json")));
  EXPECT_EQ(report["files"], 3);
  EXPECT_EQ(report["bad_records"], 0);  // the temporary was not read
}

// Issue 12, defect 3: bands x rows overflowed int (4 x 2^30 wraps to 0) and passed the check.
TEST(HardeningPipeline, DedupSizesAreCheckedIn64Bits) {
  auto bad = parse_build_config("inputs: [a]\noutput: o\nstages:\n  dedup: {bands: 4, rows: 1073741824}\n", "c.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("bands*rows at most 1024"), std::string::npos) << bad.error().message();
  EXPECT_FALSE(
      parse_build_config("inputs: [a]\noutput: o\nstages:\n  dedup: {bands: 65536, rows: 65536}\n", "c.yaml").ok());
  EXPECT_FALSE(parse_build_config("inputs: [a]\noutput: o\nstages:\n  dedup: {memory_mb: -1}\n", "c.yaml").ok());
  EXPECT_FALSE(
      parse_build_config("inputs: [a]\noutput: o\nstages:\n  dedup: {memory_mb: 17592186044416}\n", "c.yaml").ok());
  EXPECT_FALSE(
      parse_build_config("inputs: [a]\noutput: o\nstages:\n  dedup: {shingle_words: 100000}\n", "c.yaml").ok());
  EXPECT_FALSE(
      parse_build_config("inputs: [a]\noutput: o\nstages:\n  quality: {max_digit_ratio: .nan}\n", "c.yaml").ok());
  EXPECT_TRUE(parse_build_config("inputs: [a]\noutput: o\nstages:\n  dedup: {bands: 32, rows: 32}\n", "c.yaml").ok());
}

TEST(Pipeline, ConfigErrorsNameTheKey) {
  auto bad = parse_build_config("inputs: [a]\noutput: o\nstages:\n  dedupe: true\n", "c.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("unknown key 'dedupe'"), std::string::npos) << bad.error().message();
  EXPECT_NE(bad.error().message().find("line 4"), std::string::npos);
  EXPECT_FALSE(parse_build_config("inputs: [a\n", "c.yaml").ok());
  auto rep = parse_build_config("inputs: [a]\noutput: o\nstages:\n  quality: {repetition_rules: false}\n", "c.yaml");
  ASSERT_TRUE(rep.ok()) << rep.error().to_string();
  EXPECT_EQ(rep->quality_options.max_dup_ngram_frac[0], 1.0);
  EXPECT_EQ(rep->quality_options.max_dup_line_frac, 1.0);
  EXPECT_FALSE(parse_build_config("output: o\n", "c.yaml").ok());
}

TEST(Pipeline, MpiTwoRanksMatchOneProcess) {
  if (test::run_command("command -v mpirun > /dev/null") != 0) GTEST_SKIP() << "mpirun not installed";
  test::TempDir dir;
  make_inputs(dir);
  test::write_test_file(dir.file("one.yaml"), config(dir, dir.file("one")));
  test::write_test_file(dir.file("two.yaml"), config(dir, dir.file("two")));
  std::string out;
  ASSERT_EQ(test::run_command(test::cli_path() + " -q corpus build " + dir.file("one.yaml"), &out), 0) << out;
  // OpenMPI keeps allocations past MPI_Finalize (ompi_op_base_op_select...), which
  // LeakSanitizer reports in ASan builds: leak checking is off for the ranks only.
  int rc = test::run_command(
      "ASAN_OPTIONS=detect_leaks=0 mpirun --allow-run-as-root --oversubscribe -x ASAN_OPTIONS -np 2 " +
          test::cli_path() + " -q corpus build " + dir.file("two.yaml"),
      &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(nlohmann::json(read_shards(dir.file("one"))), nlohmann::json(read_shards(dir.file("two"))));
  auto r1 = nlohmann::json::parse(*read_file(dir.file("one/report.json")));
  auto r2 = nlohmann::json::parse(*read_file(dir.file("two/report.json")));
  EXPECT_EQ(r2["ranks"], 2) << "mpirun did not start 2 ranks (is this build linked with MPI?)";
  EXPECT_EQ(r1["languages"], r2["languages"]);
}
