// SPDX-License-Identifier: Apache-2.0
// The corpus subcommands end to end through the `fragua` binary.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bounded_run.h"
#include "fragua/base/file.h"
#include "test_util.h"

using fragua::test::cli_path;
using fragua::test::run_command;

TEST(CorpusCli, PiiFromStdin) {
  std::string out;
  ASSERT_EQ(run_command("printf 'DNI 12345678Z y 12345678A, ana@x.es' | " + cli_path() + " corpus pii", &out), 0);
  EXPECT_EQ(out, "DNI <DNI> y 12345678A, <EMAIL>");
}

TEST(CorpusCli, LangidFromStdin) {
  std::string out;
  ASSERT_EQ(run_command("printf 'Kaixo, zer moduz zaude gaur? Ondo nago, eskerrik asko.' | " + cli_path() +
                            " corpus langid --json",
                        &out),
            0)
      << out;
  EXPECT_NE(out.find("\"lang\":\"eu\""), std::string::npos) << out;
  ASSERT_EQ(run_command("printf 'Bon dia a tothom.\\nBuenos días a todos los presentes.' | " + cli_path() +
                            " corpus langid --sentences",
                        &out),
            0);
  EXPECT_NE(out.find("ca\t"), std::string::npos) << out;
  EXPECT_NE(out.find("es\t"), std::string::npos) << out;
}

// Issue 18: one answer per input line by default (fastText's and langid.py's convention);
// --document answers once for the whole input.
TEST(CorpusCli, LangidLineModeAndDocument) {
  std::string out;
  ASSERT_EQ(run_command("printf 'Buenos días a todos los presentes en la sala.\\nKaixo, zer moduz zaude gaur?\\n\\n"
                        "Bon dia a tothom, com estàs avui?' | " +
                            cli_path() + " corpus langid",
                        &out),
            0)
      << out;
  EXPECT_EQ(out.substr(0, 3), "es\t") << out;
  EXPECT_NE(out.find("\neu\t"), std::string::npos) << out;
  EXPECT_NE(out.find("\nund\t0.000\n"), std::string::npos) << out;  // the empty line
  EXPECT_NE(out.find("\nca"), std::string::npos) << out;
  size_t lines = 0;
  for (char c : out) lines += c == '\n';
  EXPECT_EQ(lines, 4u) << out;
  ASSERT_EQ(run_command("printf 'Buenos días a todos.\\nLos presentes en la sala escuchan.' | " + cli_path() +
                            " corpus langid --document",
                        &out),
            0);
  EXPECT_EQ(out.substr(0, 3), "es\t") << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
}

TEST(CorpusCli, BadModelFailsCleanly) {
  std::string out;
  int rc = run_command("echo hola | " + cli_path() + " corpus langid --model /nonexistent/model.bin", &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("/nonexistent/model.bin"), std::string::npos) << out;
}

// Issue 12 through the CLI: hostile corpus inputs end cleanly, in bounded time and memory. The
// bounds hold for this ASan build with margin; the measured figures are in the comments.
namespace {

namespace fs = std::filesystem;

std::string config_for(const fragua::test::TempDir& dir, const std::string& extra = "") {
  return "inputs: [" + dir.file("in") + "]\noutput: " + dir.file("out") +
         "\nstages:\n  langid: false\n  dedup: {memory_mb: 4" + extra + "}\n";
}

// No AtomicFile temporary may be left in the output folder.
std::vector<std::string> temporaries(const std::string& dir) {
  std::vector<std::string> t;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp") != std::string::npos) t.push_back(e.path().string());
  return t;
}

}  // namespace

TEST(HardeningCorpusCli, DeeplyNestedJsonlFieldsAreBadRecords) {
  fragua::test::TempDir dir;
  fs::create_directories(dir.file("in"));
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  fragua::test::write_test_file(dir.file("in/a.jsonl"),
        "{\"text\": \"La biblioteca municipal abre sus puertas de lunes a viernes por la ma\u00f1ana.\"}\n"
        "{\"text\": \"hola\", \"id\": " +
            deep + "}\n{\"text\": \"adios\", \"extra\": {\"x\": " + deep + "}}\n");
  fragua::test::write_test_file(dir.file("c.yaml"), config_for(dir) + "  quality: false\n");
  // Before (issue 12): SIGSEGV and a stale .tmp shard. After: exit 0, 2 bad records, 0.3 s, 65 MB.
  auto r = fragua::test::run_bounded(cli_path() + " corpus build " + dir.file("c.yaml"), 60);
  ASSERT_EQ(r.signal, 0) << r.output;
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("a.jsonl: line 2 (offset "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("JSON nested deeper than 64 levels"), std::string::npos) << r.output;
  auto report = nlohmann::json::parse(*fragua::read_file(dir.file("out/report.json")));
  EXPECT_EQ(report["bad_records"], 2);
  EXPECT_EQ(temporaries(dir.file("out")), std::vector<std::string>{});
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(r.peak_rss_mb, 400);
}

TEST(HardeningCorpusCli, HostileLanguageIdHeadersAreErrorsNamingTheFile) {
  fragua::test::TempDir dir;
  auto model = [](const std::string& header) {
    std::string b = std::string("FRAGLID\0", 8);
    uint32_t v = 1, n = static_cast<uint32_t>(header.size());
    b.append(reinterpret_cast<const char*>(&v), 4).append(reinterpret_cast<const char*>(&n), 4).append(header);
    return b.append(8, '\0');
  };
  fragua::test::write_test_file(dir.file("deep.bin"), model("{\"languages\":[\"es\"],\"bits\":8,\"provenance\":" + std::string(100000, '[') +
                                    std::string(100000, ']') + "}"));
  fragua::test::write_test_file(dir.file("type.bin"), model(R"({"languages":"es","bits":8})"));
  // Before: deep.bin crashed (fixed by the JSON depth check); type.bin gave a raw
  // "[json.exception.type_error.302] type must be array" with no file name. After: 0.5 s, 59 MB.
  for (const auto& [file, msg] : std::vector<std::pair<std::string, std::string>>{
           {"deep.bin", "deep.bin: JSON nested deeper than 64 levels"},
           {"type.bin", "type.bin: offset 16: header field \"languages\": expected an array"}}) {
    auto r = fragua::test::run_bounded("echo hola | " + cli_path() + " corpus langid --model " + dir.file(file), 30);
    EXPECT_EQ(r.signal, 0) << r.output;
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(msg), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("json.exception"), std::string::npos) << r.output;
    EXPECT_FALSE(r.timed_out);
    EXPECT_LT(r.peak_rss_mb, 400);
  }
}

TEST(HardeningCorpusCli, DedupBandsTimesRowsOverflowIsAConfigError) {
  fragua::test::TempDir dir;
  fs::create_directories(dir.file("in"));
  fragua::test::write_test_file(dir.file("in/a.txt"), "Hola.\n");
  fragua::test::write_test_file(dir.file("c.yaml"), config_for(dir, ", bands: 4, rows: 1073741824"));
  // Before: UBSan "signed integer overflow: 4 * 1073741824" (a crash without sanitizers).
  auto r = fragua::test::run_bounded(cli_path() + " corpus build " + dir.file("c.yaml"), 30);
  EXPECT_EQ(r.signal, 0) << r.output;
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("c.yaml: stages.dedup: bands, rows and shingle_words"), std::string::npos) << r.output;
}

TEST(HardeningCorpusCli, WarcGzipBombIsStoppedEarly) {
  fragua::test::TempDir dir;
  fs::create_directories(dir.file("in"));
  std::string member = fragua::test::gzip(std::string(size_t{64} << 20, 'a'));
  std::string bomb = fragua::test::gzip("WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 1073741824\r\n\r\n");
  for (int i = 0; i < 16; ++i) bomb += member;  // 1 GiB from about 1 MB
  fragua::test::write_test_file(dir.file("in/x.warc.gz"), bomb);
  fragua::test::write_test_file(dir.file("c.yaml"), config_for(dir));
  // Before: 186 s and 3350 MB peak, exit 0. After: exit 0 with the file's record counted bad and
  // a warning naming the compressed offset, 0.8 s, 100 MB.
  auto r = fragua::test::run_bounded(cli_path() + " corpus build " + dir.file("c.yaml"), 60);
  ASSERT_EQ(r.signal, 0) << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("x.warc.gz: compressed offset"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("decompression bomb"), std::string::npos) << r.output;
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(r.peak_rss_mb, 500) << r.output;
  EXPECT_LT(r.peak_rss_mb, 400);
}
