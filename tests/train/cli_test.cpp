// End to end through the `fragua` binary: corpus shard -> train -> export -> plot, bad input,
// and MPI data parallelism against gradient accumulation.
#include <filesystem>
#include <fstream>

#include "fixtures.h"
#include "fragua/base/file.h"
#include "fragua/format/gguf.h"
#include "fragua/format/safetensors.h"
#include "test_util.h"

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
    int rc = test::run_command(cli + " -q corpus shard --tokenizer byte --out " + shards + " " + dir.file("c.jsonl"), &out);
    ASSERT_EQ(rc, 0) << out;
  }
};

std::vector<float> params_of(const std::string& run) {
  auto ck = latest_checkpoint(run);
  EXPECT_TRUE(ck.ok());
  auto f = format::SafetensorsFile::open(*ck + "/model.safetensors");
  EXPECT_TRUE(f.ok());
  std::vector<float> all;
  for (const auto& t : f->tensors()) {
    const float* p = reinterpret_cast<const float*>(t.data);
    all.insert(all.end(), p, p + t.n_elements());
  }
  return all;
}

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
  for (const char* lang : {" ca ", " es ", " eu ", " gl "}) EXPECT_NE(out.find(lang, summary), std::string::npos) << lang;
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

TEST_F(CliTest, BadInputIsAClearErrorAndWritesNothing) {
  std::string out;
  int rc = test::run_command(cli + " train --data " + dir.file("nope") + " --out " + dir.file("r") + kModel, &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find(dir.file("nope")), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("r")));
  rc = test::run_command(cli + " train --data " + shards + " --out " + dir.file("r") + kModel + "--max-memory 10K", &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("memory"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("r")));
  rc = test::run_command(cli + " train --data " + shards + " --out " + dir.file("r") + kModel + "--mix es=1,xx=2", &out);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("'xx'"), std::string::npos) << out;
}

TEST_F(CliTest, MpiTwoRanksEqualTwoAccumulationSteps) {
#ifndef FRAGUA_HAVE_MPI
  GTEST_SKIP() << "built without MPI";
#else
  if (test::run_command("command -v mpirun >/dev/null") != 0) GTEST_SKIP() << "mpirun not installed";
  std::string common = " -q train --data " + shards + kModel + "--steps 3 --batch 2 --eval-every 0 -t 1";
  std::string out;
  // OpenMPI's own allocations are not ours to leak-check.
  int rc = test::run_command("ASAN_OPTIONS=detect_leaks=0 mpirun --allow-run-as-root --oversubscribe -np 2 " + cli + common +
                                 " --out " + dir.file("mpi"),
                             &out);
  ASSERT_EQ(rc, 0) << out;
  rc = test::run_command(cli + common + " --grad-accum 2 --out " + dir.file("accum"), &out);
  ASSERT_EQ(rc, 0) << out;
  auto a = params_of(dir.file("mpi")), b = params_of(dir.file("accum"));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-6) << "parameter " << i;
  // Rank 0 alone wrote: one metrics file, one line per step.
  auto lines = read_file(dir.file("mpi/metrics.jsonl"));
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(std::count(lines->begin(), lines->end(), '\n'), 4);  // 3 train + 1 val
#endif
}

}  // namespace
}  // namespace fragua::train
