// SPDX-License-Identifier: Apache-2.0
// End to end through the `fragua` binary: corpus shard -> train -> export -> plot, bad input,
// and MPI data parallelism against gradient accumulation.
#include <csignal>
#include <filesystem>
#include <fstream>

#include <sys/wait.h>
#include <unistd.h>

#include "bounded_run.h"
#include "fixtures.h"
#include "fragua/base/file.h"
#include "fragua/format/gguf.h"
#include "fragua/format/safetensors.h"
#include "fragua/tokenize/tokenizer.h"
#include "fragua/train/text_encoder.h"
#include "test_util.h"
#include "train/checkpoint.h"

namespace fragua::train {
namespace {

const char* kModel = " --seq-len 16 --n-layer 2 --n-embd 32 --n-head 4 --n-head-kv 2 --lr 3e-3 --val-tokens 64 ";

struct CliTest : ::testing::Test {
  test::TempDir dir;
  std::string cli = test::cli_path();
  std::string shards;
  void SetUp() override {
    std::ofstream(dir.file("c.jsonl")) << testing::make_corpus_jsonl(30, 30);
    shards = dir.file("shards");
    std::string out;
    int rc =
        test::run_command(cli + " -q corpus shard --tokenizer byte --out " + shards + " " + dir.file("c.jsonl"), &out);
    ASSERT_EQ(rc, 0) << out;
  }
};

TEST_F(CliTest, ShardTrainExportPlot) {
  std::string out;
  std::string run = dir.file("run");
  int rc = test::run_command(cli + " train --data " + shards + " --out " + run + kModel +
                                 "--steps 4 --batch 2 --eval-every 2 --mix es=0.4,ca=0.2,eu=0.2,gl=0.2 -t 2",
                             &out);
  ASSERT_EQ(rc, 0) << out;
  // The closing summary gives bits per byte for every language.
  auto summary = out.find("validation bits per byte at step 4:");
  ASSERT_NE(summary, std::string::npos) << out;
  for (const char* lang : {" ca ", " es ", " eu ", " gl "})
    EXPECT_NE(out.find(lang, summary), std::string::npos) << lang;
  rc = test::run_command(cli + " -q export " + run + " -o " + dir.file("m.gguf"), &out);
  ASSERT_EQ(rc, 0) << out;
  auto g = format::GgufFile::open(dir.file("m.gguf"));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g->get_uint("llama.vocab_size"), 258u);
  rc = test::run_command(cli + " -q plot " + run + " -o " + dir.file("c.svg"), &out);
  ASSERT_EQ(rc, 0) << out;
  std::string svg = *read_file(dir.file("c.svg"));
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find(">eu<"), std::string::npos);  // bits-per-byte legend per language
}

// Issue 17: with no tokenizer named, `corpus shard` encodes with Fragua's default, fragua-32k
// (found as an installed binary finds its data), and `train` records it in the run's config;
// -v says which tokenizer the run uses.
TEST_F(CliTest, DefaultTokenizerIsFragua32k) {
  std::string out;
  const std::string shards32k = dir.file("shards32k");
  ASSERT_EQ(test::run_command(cli + " corpus shard -o " + shards32k + " " + dir.file("c.jsonl"), &out), 0) << out;
  EXPECT_NE(out.find("tokenizer: the default, fragua-32k"), std::string::npos) << out;
  auto shard = TokenShard::open(shards32k + "/shard-00000.fts");
  ASSERT_TRUE(shard.ok()) << shard.error().message();
  EXPECT_EQ(shard->tokenizer().vocab_size, 32000);
  EXPECT_EQ(shard->tokenizer().name, "fragua-32k.gguf");
  const std::string run = dir.file("run32k");
  ASSERT_EQ(test::run_command(cli + " -v train --data " + shards32k + " -o " + run + kModel +
                                  "--steps 1 --batch 1 --eval-every 0 -t 1",
                              &out),
            0)
      << out;
  EXPECT_NE(out.find("tokenizer: the default, fragua-32k ("), std::string::npos) << out;
  auto config = nlohmann::json::parse(*read_file(run + "/config.json"));
  ASSERT_TRUE(config.contains("tokenizer")) << config.dump();
  EXPECT_TRUE(config["tokenizer"].get<std::string>().ends_with("tokenizers/fragua-32k.gguf")) << config.dump();
  // Issue 18: `export` without --tokenizer takes the one the run's config.json records, from the
  // run directory or one of its checkpoints; a recorded default that moved is found by name.
  ASSERT_EQ(test::run_command(cli + " export " + run + " -o " + dir.file("m32k.gguf"), &out), 0) << out;
  EXPECT_NE(out.find("tokenizer: the run's, "), std::string::npos) << out;
  auto exported = tokenize::Tokenizer::load(dir.file("m32k.gguf"));
  ASSERT_TRUE(exported.ok()) << exported.error().message();
  EXPECT_EQ(exported->n_vocab(), 32000);
  std::string step = *read_file(run + "/latest");
  step.erase(step.find_last_not_of("\n") + 1);
  ASSERT_EQ(test::run_command(cli + " -q export " + run + "/checkpoints/" + step + " -o " + dir.file("c32k.gguf"), &out),
            0)
      << out;
  EXPECT_TRUE(tokenize::Tokenizer::load(dir.file("c32k.gguf")).ok());
  config["tokenizer"] = "/moved/tokenizers/fragua-32k.gguf";
  ASSERT_TRUE(write_file_atomic(run + "/config.json", config.dump()).ok());
  ASSERT_EQ(test::run_command(cli + " export " + run + " -o " + dir.file("moved.gguf"), &out), 0) << out;
  EXPECT_NE(out.find("which is not there"), std::string::npos) << out;
  config["tokenizer"] = dir.file("gone.gguf");
  ASSERT_TRUE(write_file_atomic(run + "/config.json", config.dump()).ok());
  EXPECT_NE(test::run_command(cli + " export " + run + " -o " + dir.file("gone-model.gguf"), &out), 0);
  EXPECT_NE(out.find(run + "/config.json: the run's tokenizer " + dir.file("gone.gguf") + " does not exist"),
            std::string::npos)
      << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("gone-model.gguf")));
  // A vocabulary other than the shards' (here the byte one; a tokenizer file replaced under the
  // same name is the case met) is refused: the model would read other tokens than it learnt.
  EXPECT_NE(test::run_command(cli + " export " + run + " --tokenizer byte -o " + dir.file("byte-model.gguf"), &out), 0);
  EXPECT_NE(out.find("is not the one the run's shards were encoded with: 'fragua-32k.gguf'"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("byte-model.gguf")));
  // Shards of another tokenizer train as they are, and -v names theirs.
  ASSERT_EQ(test::run_command(cli + " -v train --data " + shards + " -o " + dir.file("runbyte") + kModel +
                                  "--steps 1 --batch 1 --eval-every 0 -t 1",
                              &out),
            0)
      << out;
  EXPECT_NE(out.find("tokenizer: the shards' own, 'byte'"), std::string::npos) << out;
  EXPECT_EQ(nlohmann::json::parse(*read_file(dir.file("runbyte") + "/config.json")).value("tokenizer", ""), "");
}

TEST_F(CliTest, BadInputIsAClearErrorAndWritesNothing) {
  std::string out;
  int rc = test::run_command(cli + " train --data " + dir.file("nope") + " --out " + dir.file("r") + kModel, &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find(dir.file("nope")), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("r")));
  rc = test::run_command(cli + " train --data " + shards + " --out " + dir.file("r") + kModel + "--max-memory 10K",
                         &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("memory"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("r")));
  rc =
      test::run_command(cli + " train --data " + shards + " --out " + dir.file("r") + kModel + "--mix es=1,xx=2", &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("'xx'"), std::string::npos) << out;
  rc = test::run_command(
      cli + " train --data " + shards + " --out " + dir.file("r") + kModel + "--precision f16", &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("--precision must be f32 or bf16, not 'f16'"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("r")));
}

TEST_F(CliTest, MpiTwoRanksEqualTwoAccumulationSteps) {
#ifndef FRAGUA_HAVE_MPI
  GTEST_SKIP() << "built without MPI";
#else
  if (test::run_command("command -v mpirun >/dev/null") != 0) GTEST_SKIP() << "mpirun not installed";
  std::string common = " -q train --data " + shards + kModel + "--steps 3 --batch 2 --eval-every 0 -t 1";
  std::string out;
  // OpenMPI's own allocations are not ours to leak-check.
  int rc = test::run_command("ASAN_OPTIONS=detect_leaks=0 mpirun --allow-run-as-root --oversubscribe -np 2 " + cli +
                                 common + " --out " + dir.file("mpi"),
                             &out);
  ASSERT_EQ(rc, 0) << out;
  rc = test::run_command(cli + common + " --grad-accum 2 --out " + dir.file("accum"), &out);
  ASSERT_EQ(rc, 0) << out;
  auto a = testing::latest_params(dir.file("mpi")), b = testing::latest_params(dir.file("accum"));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-6) << "parameter " << i;
  // Rank 0 alone wrote: one metrics file, one line per step.
  auto lines = read_file(dir.file("mpi/metrics.jsonl"));
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(std::count(lines->begin(), lines->end(), '\n'), 4);  // 3 train + 1 val
#endif
}

// ---- hardening (issue 12, defects 6 and 15) ---------------------------------------------------------

// Starts `cmd` in the background with SIGINT at its default action (a test run from a
// non-interactive shell's background inherits it ignored), output to `log`.
pid_t spawn(const std::string& cmd, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGINT, SIG_DFL);
    FILE* f = std::fopen(log.c_str(), "w");
    if (f) {
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
    }
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Waits for pid (at most `seconds`, then SIGKILL) and returns its wait status.
int wait_for(pid_t pid, double seconds) {
  int status = 0;
  for (double t = 0; t < seconds; t += 0.01) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return status;
}

// Before: two runs in one --out both exited 0, leaving a checkpoint of mixed runs and a
// metrics.jsonl with interleaved, invalid lines. Now the second is refused at once, naming the
// first's pid; the first, interrupted by SIGINT, saves its checkpoint and dies of SIGINT (130
// to a shell; before, it exited 0).
TEST_F(CliTest, SecondRunInTheSameDirectoryIsRefusedAndSigintSavesThenExits130) {
  const std::string run = dir.file("run");
  const std::string common = " -q train --data " + shards + " --out " + run + kModel + "--batch 2 -t 1 --eval-every 0";
  const pid_t first = spawn(cli + common + " --steps 1000000", dir.file("first.log"));
  // The lock file holds the first run's pid once it is training.
  bool locked = false;
  for (int i = 0; i < 6000 && !locked; ++i) {
    auto text = read_file(run + "/.lock");
    locked = text.ok() && *text == std::to_string(first) + "\n";
    if (!locked) usleep(10000);
  }
  ASSERT_TRUE(locked) << *read_file(dir.file("first.log"));
  auto second = test::run_bounded(cli + common + " --steps 5", 60);
  EXPECT_EQ(second.exit_code, 1) << second.output;
  EXPECT_NE(second.output.find(fmt::format("{} is in use by another run (pid {})", run, first)), std::string::npos)
      << second.output;
  EXPECT_FALSE(second.timed_out);
  usleep(300000);  // let the first run take a few steps
  kill(first, SIGINT);
  const int status = wait_for(first, 120);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status) << ": " << *read_file(dir.file("first.log"));
  EXPECT_EQ(WTERMSIG(status), SIGINT);
  // Its checkpoint is complete and every metrics line is one JSON record.
  auto ck = latest_checkpoint(run);
  ASSERT_TRUE(ck.ok()) << ck.error().to_string();
  auto state = nlohmann::json::parse(*read_file(*ck + "/state.json"));
  EXPECT_GT(state["step"].get<int64_t>(), 0);
  std::ifstream metrics(run + "/metrics.jsonl");
  int lines = 0;
  for (std::string line; std::getline(metrics, line); ++lines) EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  EXPECT_EQ(lines, state["step"].get<int64_t>());
  // The lock died with its holder: the run resumes.
  std::string out;
  const int64_t next = state["step"].get<int64_t>() + 2;
  ASSERT_EQ(test::run_command(cli + common + " --resume --steps " + std::to_string(next), &out), 0) << out;
  EXPECT_TRUE(latest_checkpoint(run)->ends_with(fmt::format("step-{:08d}", next)));
}

// Before: SIGINT during `fragua export` left the whole temporary (100 MB per Ctrl-C). Now the
// handler removes it and the process still dies of SIGINT.
TEST_F(CliTest, ExportInterruptedBySigintLeavesNoTemporary) {
  ModelConfig c;
  c.n_vocab = 258;
  c.n_embd = 512;
  c.n_layer = 8;
  c.n_head = 8;
  c.n_head_kv = 8;
  c.n_ctx_train = 16;
  ASSERT_TRUE(c.finalize().ok());
  {
    auto m = Model::create(c);
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(save_model_safetensors(*m, dir.file("model.safetensors"), nlohmann::json::object()).ok());
  }
  const std::string out_dir = dir.file("out");
  std::filesystem::create_directory(out_dir);
  const pid_t pid =
      spawn(cli + " -q export " + dir.file("model.safetensors") + " -o " + out_dir + "/m.gguf", dir.file("export.log"));
  // Interrupt once the temporary holds some data (the whole file is ~100 MB).
  bool seen = false;
  for (auto t0 = std::chrono::steady_clock::now();
       !seen && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60);) {
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator(out_dir, ec))
      if (e.path().filename().string().starts_with("m.gguf.tmp-") && e.file_size(ec) > (4u << 20)) seen = true;
    if (waitpid(pid, nullptr, WNOHANG) == pid) break;
  }
  ASSERT_TRUE(seen) << "export ended before it could be interrupted: " << *read_file(dir.file("export.log"));
  kill(pid, SIGINT);
  const int status = wait_for(pid, 60);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGINT);
  EXPECT_TRUE(std::filesystem::is_empty(out_dir));
}

// Issue 23: a config value of the wrong type or out of range is an error naming the file and
// the key, never truncated (2.9 -> 2) or wrapped (5e9 -> an int); nothing is written.
TEST_F(CliTest, ConfigErrorsNameTheKeyAndTheFile) {
  struct Case {
    const char* json;
    const char* message;
  };
  const std::string cfg = dir.file("cfg.json");
  for (const Case& c : std::vector<Case>{{R"({"batch": "x"})", "'batch': expected an integer, found \"x\""},
                                         {R"({"batch": 2.9})", "'batch': expected an integer, found 2.9"},
                                         {R"({"batch": 5e9})", "'batch': expected an integer"},
                                         {R"({"steps": 5000000000000})", "'steps': 5000000000000 is outside"},
                                         {R"({"model": {"n_layer": 2.5}})", "model config: 'n_layer' must be an integer"}}) {
    ASSERT_TRUE(write_file_atomic(cfg, c.json).ok());
    std::string out;
    int rc = test::run_command(cli + " train --data " + shards + " --out " + dir.file("r") + " --config " + cfg, &out);
    EXPECT_NE(rc, 0) << c.json;
    EXPECT_NE(out.find(cfg + ": "), std::string::npos) << c.json << ": " << out;
    EXPECT_NE(out.find(c.message), std::string::npos) << c.json << ": " << out;
    EXPECT_FALSE(std::filesystem::exists(dir.file("r"))) << c.json;
  }
  // The same flags on the command line: CLI11 refuses a fraction or a value past int.
  for (const char* flag : {"--batch 2.9", "--batch 5000000000", "--steps 1.5"}) {
    std::string out;
    int rc = test::run_command(cli + " train --data " + shards + " --out " + dir.file("r") + " " + flag, &out);
    EXPECT_NE(rc, 0) << flag;
    EXPECT_NE(out.find(std::string(flag).substr(0, std::string(flag).find(' '))), std::string::npos) << out;
    EXPECT_FALSE(std::filesystem::exists(dir.file("r"))) << flag;
  }
}

// Issue 23: resuming. --steps below the checkpoint is an error that leaves the run as it was; a
// damaged run config.json is named; the run's paths are stored absolute so that it resumes from
// another directory; the warning about a changed sample stream comes only when the rows per step
// change (not when accumulation makes up for a smaller batch), and a changed --seq-len is warned.
TEST_F(CliTest, ResumeChecksStepsPathsAndWarnsOnlyOnRealChanges) {
  // Relative --data and --out, from the test directory.
  const std::string in_dir = "cd " + dir.path() + " && ";
  std::string out;
  ASSERT_EQ(test::run_command(in_dir + cli + " train --data shards --out run" + kModel + "--steps 4 --batch 2 -t 1",
                              &out),
            0)
      << out;
  const std::string run = dir.file("run");
  auto config = nlohmann::json::parse(*read_file(run + "/config.json"));
  EXPECT_EQ(config["data"]["dir"], shards);
  EXPECT_EQ(config["out_dir"], run);

  auto snapshot = [&] {
    std::string all;
    for (const auto& e : std::filesystem::recursive_directory_iterator(run))
      if (e.is_regular_file() && e.path().filename() != ".lock")
        all += e.path().string() + "\n" + *read_file(e.path().string()) + "\n";
    return all;
  };
  const std::string before = snapshot();
  ASSERT_NE(test::run_command(cli + " train --out " + run + " --resume --steps 2", &out), 0);
  EXPECT_NE(out.find("the checkpoint is at step 4, past --steps 2"), std::string::npos) << out;
  EXPECT_EQ(snapshot(), before);

  // From another directory, naming nothing but the run: the stored absolute paths are used.
  std::filesystem::create_directories(dir.file("elsewhere"));
  ASSERT_EQ(test::run_command("cd " + dir.file("elsewhere") + " && " + cli +
                                  " train --out ../run --resume --steps 5 --batch 1 --grad-accum 2",
                              &out),
            0)
      << out;
  EXPECT_EQ(out.find("no longer matches"), std::string::npos) << out;  // 1 x 2 rows = 2 x 1 rows
  ASSERT_EQ(test::run_command(cli + " train --out " + run + " --resume --steps 6 --batch 2 --grad-accum 2", &out), 0)
      << out;
  EXPECT_NE(out.find("each step now sees 4 sequences instead of 2"), std::string::npos) << out;
  ASSERT_EQ(test::run_command(cli + " train --out " + run + " --resume --steps 7 --seq-len 8", &out), 0) << out;
  EXPECT_NE(out.find("resuming with --seq-len 8 (checkpoint: 16)"), std::string::npos) << out;

  // A damaged config.json of the run is named with the key.
  config = nlohmann::json::parse(*read_file(run + "/config.json"));
  config["batch"] = "x";
  ASSERT_TRUE(write_file_atomic(run + "/config.json", config.dump()).ok());
  ASSERT_NE(test::run_command(cli + " train --out " + run + " --resume --steps 8", &out), 0);
  EXPECT_NE(out.find(run + "/config.json: train config: 'batch'"), std::string::npos) << out;
}

// Issue 23: `fragua export --tokenizer byte` writes the byte vocabulary the shards were made
// with; the inference engine's tokenizer read back from the file encodes text to the same ids.
TEST_F(CliTest, ExportWithTheByteTokenizer) {
  std::string out;
  const std::string run = dir.file("run");
  ASSERT_EQ(test::run_command(cli + " -q train --data " + shards + " --out " + run + kModel + "--steps 1 --batch 1",
                              &out),
            0)
      << out;
  ASSERT_EQ(test::run_command(cli + " -q export " + run + " --tokenizer byte -o " + dir.file("m.gguf"), &out), 0)
      << out;
  auto tok = tokenize::Tokenizer::load(dir.file("m.gguf"));
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  EXPECT_EQ(tok->n_vocab(), 258);
  EXPECT_EQ(tok->bos_id(), 256);
  EXPECT_EQ(tok->eos_id(), 257);
  std::string text = "Hola, què tal?\n\t\xff zuen ";
  text.push_back('\0');
  const auto enc = make_byte_encoder();
  EXPECT_EQ(tok->encode(text, false, false), *enc->encode(text));
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  EXPECT_EQ(tok->encode(all_bytes, false, false), *enc->encode(all_bytes));
  EXPECT_EQ(tok->decode(tok->encode(all_bytes, false, false)), all_bytes);
}

}  // namespace
}  // namespace fragua::train
