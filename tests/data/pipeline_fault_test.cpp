// SPDX-License-Identifier: Apache-2.0
// Fault injection through Env (DESIGN 10) into corpus commits: a failed shard, key or state
// write, rename, read or removal leaves the committed outputs and the resume state consistent
// (no partial shard visible, no input taken for done that is not), and a rerun without faults
// gives the corpus of a clean build.
#include <filesystem>
#include <map>

#include <gtest/gtest.h>

#include "fragua/base/file.h"
#include "fragua/data/pipeline.h"
#include "test_util.h"

namespace fragua::data {
namespace {

namespace fs = std::filesystem;
using test::FaultEnv;

const char* kDocs[] = {
    "La biblioteca municipal abre sus puertas de lunes a viernes por la mañana.",
    "El ayuntamiento ha aprobado hoy los presupuestos para el próximo año.",
    "Los vecinos del barrio se reunieron en la plaza para celebrar la fiesta mayor.",
};

void make_fault_inputs(const test::TempDir& dir) {
  ASSERT_TRUE(Env::posix().create_dirs(dir.file("in")).ok());
  const char* names[] = {"a.jsonl", "b.jsonl", "c.jsonl"};
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(write_file_atomic(dir.file(std::string("in/") + names[i]),
                                  nlohmann::json({{"text", kDocs[i]}, {"lang", "es"}}).dump() + "\n")
                    .ok());
}

BuildConfig config(const test::TempDir& dir, const std::string& out, Env* env) {
  auto c = parse_build_config("inputs: [" + dir.file("in") + "]\noutput: " + out +
                                  "\nthreads: 1\nstages:\n  langid: false\n  quality: false\n  pii: false\n"
                                  "  dedup: {memory_mb: 4}\n",
                              "cfg.yaml");
  EXPECT_TRUE(c.ok()) << c.error().to_string();
  c->env = env;
  return *c;
}

// Every file under `dir` (relative path -> contents), reports aside (they embed no paths of
// their own, but are written only by a finished run).
std::map<std::string, std::string> tree(const std::string& dir) {
  std::map<std::string, std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = *read_file(e.path().string());
  return out;
}

size_t count_with(const std::map<std::string, std::string>& t, std::string_view part) {
  size_t n = 0;
  for (const auto& [k, v] : t) n += k.find(part) != std::string::npos;
  return n;
}

// After a failed run: no temporaries, no report, and every shard is owned by a state file (an
// input is done exactly when its state is there, and then its shard is whole).
void expect_consistent(const std::string& out) {
  const auto t = tree(out);
  EXPECT_EQ(count_with(t, ".tmp-"), 0u);
  EXPECT_EQ(count_with(t, "report."), 0u);
  for (const auto& [name, text] : t) {
    if (!name.starts_with(".state/") || !name.ends_with(".json")) continue;
    const auto state = nlohmann::json::parse(text);
    EXPECT_TRUE(t.count("shards/" + state["shard"].get<std::string>())) << name;
    EXPECT_TRUE(t.count(name.substr(0, name.size() - 5) + ".keys")) << name;
  }
}

class PipelineFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    make_fault_inputs(dir_);
    ASSERT_TRUE(run_build(config(dir_, dir_.file("clean"), nullptr)).ok());
    clean_ = tree(dir_.file("clean"));
    ASSERT_EQ(count_with(clean_, "shards/shard-"), 3u);
  }
  // A rerun without faults finishes the corpus exactly as a clean build made it.
  void expect_rerun_matches_clean() {
    ASSERT_TRUE(run_build(config(dir_, out(), nullptr)).ok());
    auto t = tree(out()), c = clean_;
    t.erase("report.json"), c.erase("report.json");  // it records the output folder's name
    EXPECT_EQ(t, c);
  }
  std::string out() const { return dir_.file("out"); }
  test::TempDir dir_;
  std::map<std::string, std::string> clean_;
};

TEST_F(PipelineFaults, FullDiskLeavesNoPartialShard) {
  FaultEnv env;
  env.write_budget = 20;  // less than the first input's shard
  auto st = run_build(config(dir_, out(), &env));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "disk full");
  expect_consistent(out());
  EXPECT_TRUE(tree(out()).empty());  // the folders only
  expect_rerun_matches_clean();
}

TEST_F(PipelineFaults, FailedStateRenameLeavesTheInputUndone) {
  FaultEnv env;
  env.fail_rename = ".json.tmp-";  // the state file: the marker that an input is done
  auto st = run_build(config(dir_, out(), &env));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message().rfind("injected rename failure: " + out() + "/.state/", 0), 0u)
      << st.error().message();
  EXPECT_EQ(env.failures, 1);
  expect_consistent(out());
  const auto t = tree(out());
  // The shard and keys written before the failure are not counted as done (no state): the rerun
  // removes them as stale.
  EXPECT_EQ(count_with(t, "shards/shard-"), 1u);
  EXPECT_EQ(count_with(t, ".state/"), 1u);
  EXPECT_EQ(count_with(t, ".keys"), 1u);
  expect_rerun_matches_clean();
}

TEST_F(PipelineFaults, UnreadableStateMeansRedo) {
  ASSERT_TRUE(run_build(config(dir_, out(), nullptr)).ok());
  FaultEnv env;
  env.fail_read = "/.state/";
  ASSERT_TRUE(run_build(config(dir_, out(), &env)).ok());
  EXPECT_EQ(env.failures, 3);  // each input's state was tried, none was trusted
  auto t = tree(out()), c = clean_;
  t.erase("report.json"), c.erase("report.json");
  EXPECT_EQ(t, c);
}

TEST_F(PipelineFaults, FailedStaleRemovalStopsBeforeWriting) {
  ASSERT_TRUE(run_build(config(dir_, out(), nullptr)).ok());
  const auto before = tree(out());
  // c.jsonl changes: its old shard and state are stale and must go before the new ones land.
  ASSERT_TRUE(
      write_file_atomic(dir_.file("in/c.jsonl"),
                        nlohmann::json({{"text", std::string(kDocs[2]) + " Otra vez."}, {"lang", "es"}}).dump() + "\n")
          .ok());
  FaultEnv env;
  env.fail_remove = "/shards/";
  auto st = run_build(config(dir_, out(), &env));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message().rfind(
                "removing stale corpus outputs: injected remove failure: " + out() + "/shards/shard-", 0),
            0u)
      << st.error().message();
  EXPECT_EQ(tree(out()), before);  // nothing written, nothing half-removed
  env.fail_remove.clear();
  env.fail_list = "/.state";
  st = run_build(config(dir_, out(), &env));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "removing stale corpus outputs: injected list failure: " + out() + "/.state");
  ASSERT_TRUE(run_build(config(dir_, out(), nullptr)).ok());
  const auto after = tree(out());
  EXPECT_EQ(count_with(after, "shards/shard-"), 3u);
  EXPECT_EQ(count_with(after, ".keys"), 3u);
  EXPECT_EQ(count_with(after, ".tmp-"), 0u);
  EXPECT_NE(after, before);
}

}  // namespace
}  // namespace fragua::data
