// SPDX-License-Identifier: Apache-2.0
// Fault injection through Env (DESIGN 10) into checkpoint saving, loading and pruning:
// every failure is a clear error naming the file, and what was complete before stays usable.
#include <filesystem>

#include "fragua/base/file.h"
#include "fragua/train/trainer.h"
#include "test_util.h"
#include "train/checkpoint.h"
#include "fixtures.h"

namespace fragua::train {
namespace {

using namespace fragua::train::testing;

namespace fs = std::filesystem;
using test::FaultEnv;




// Saves steps 10 and 20 (keep 2) of two different models; returns the step-10 model's weights.
std::vector<float> two_checkpoints(const std::string& out) {
  Model a = small_model(1), b = small_model(2);
  AdamW opt({}, a.params().size());
  opt.set_t(3);
  EXPECT_TRUE(save_checkpoint(out, 10, a, opt, {{"data", data_state()}}, 2).ok());
  EXPECT_TRUE(save_checkpoint(out, 20, b, opt, {{"data", data_state()}}, 2).ok());
  return {b.params().begin(), b.params().end()};
}

// The run's newest checkpoint loads with the POSIX Env and holds `weights`.
void expect_loads(const std::string& out, const std::string& step, const std::vector<float>& weights) {
  auto dir = latest_checkpoint(out);
  ASSERT_TRUE(dir.ok()) << dir.error().to_string();
  EXPECT_TRUE(dir->ends_with(step)) << *dir;
  Model m = small_model(9);
  AdamW opt({}, m.params().size());
  auto st = load_checkpoint(*dir, m, opt);
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  EXPECT_TRUE(std::equal(weights.begin(), weights.end(), m.params().begin()));
}

TEST(CheckpointFaults, FailedReadOfLatestOrStateIsNamedAndLeavesTheModelAlone) {
  test::TempDir dir;
  const auto weights = two_checkpoints(dir.path());
  FaultEnv env;
  env.fail_read = "/latest";
  auto latest = latest_checkpoint(dir.path(), env);
  ASSERT_FALSE(latest.ok());
  EXPECT_EQ(latest.error().message(), "injected read failure: " + dir.file("latest"));

  env.fail_read = "state.json";
  const std::string ck = dir.file("checkpoints/step-00000020");
  Model m = small_model(5);
  const std::vector<float> before(m.params().begin(), m.params().end());
  AdamW opt({}, m.params().size());
  auto st = load_checkpoint(ck, m, opt, env);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "injected read failure: " + ck + "/state.json");
  EXPECT_EQ(env.failures, 2);
  EXPECT_TRUE(std::equal(before.begin(), before.end(), m.params().begin()));  // nothing half-loaded
  EXPECT_EQ(opt.t(), 0);
  expect_loads(dir.path(), "step-00000020", weights);  // the checkpoint itself is intact
}

TEST(CheckpointFaults, FailedRenameOfLatestKeepsThePreviousCheckpointNamed) {
  test::TempDir dir;
  const auto weights = two_checkpoints(dir.path());
  Model c = small_model(3);
  AdamW opt({}, c.params().size());
  FaultEnv env;
  env.fail_rename = "/latest";
  auto st = save_checkpoint(dir.path(), 30, c, opt, {{"data", data_state()}}, 2, env);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message().rfind("injected rename failure: " + dir.file("latest.tmp-"), 0), 0u)
      << st.error().message();
  expect_loads(dir.path(), "step-00000020", weights);
  // Nothing was pruned for a checkpoint that is not named, and no temporary of `latest` is left.
  EXPECT_EQ(names_in(dir.file("checkpoints")),
            (std::vector<std::string>{"step-00000010", "step-00000020", "step-00000030"}));
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"checkpoints", "latest"}));
}

TEST(CheckpointFaults, FullDiskDuringStateKeepsThePreviousCheckpointNamed) {
  test::TempDir dir;
  const auto weights = two_checkpoints(dir.path());
  Model c = small_model(3);
  AdamW opt({}, c.params().size());
  // Enough for both safetensors files of the new step, not for its state.json.
  const uint64_t tensors = fs::file_size(dir.file("checkpoints/step-00000020/model.safetensors")) +
                           fs::file_size(dir.file("checkpoints/step-00000020/optimizer.safetensors"));
  FaultEnv env;
  env.write_budget = tensors + 10;
  auto st = save_checkpoint(dir.path(), 30, c, opt, {{"data", data_state()}}, 2, env);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "disk full");
  EXPECT_EQ(names_in(dir.file("checkpoints/step-00000030")),
            (std::vector<std::string>{"model.safetensors", "optimizer.safetensors"}));
  expect_loads(dir.path(), "step-00000020", weights);
}

TEST(CheckpointFaults, FailedPruningKeepsTheNewestAndLatest) {
  test::TempDir dir;
  two_checkpoints(dir.path());
  Model c = small_model(3);
  const std::vector<float> newest(c.params().begin(), c.params().end());
  AdamW opt({}, c.params().size());
  // The old checkpoint's second file cannot be removed: the save itself succeeds (the new one is
  // complete and named), the half-removed old one stays for the next save to retry.
  FaultEnv env;
  env.fail_remove = "step-00000010/optimizer";
  ASSERT_TRUE(save_checkpoint(dir.path(), 30, c, opt, {{"data", data_state()}}, 2, env).ok());
  EXPECT_EQ(env.failures, 1);
  expect_loads(dir.path(), "step-00000030", newest);
  EXPECT_EQ(names_in(dir.file("checkpoints/step-00000010")),
            (std::vector<std::string>{"optimizer.safetensors", "state.json"}));  // sorted: model went first

  // prune_checkpoints reports each failure; `latest` and the newest are never touched.
  env.fail_remove = "step-000000";
  auto st = prune_checkpoints(dir.path(), 1, 30, env);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(),
            "injected remove failure: " + dir.file("checkpoints/step-00000010/optimizer.safetensors"));
  env.fail_remove.clear();
  env.fail_list = "checkpoints";
  st = prune_checkpoints(dir.path(), 1, 30, env);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "injected list failure: " + dir.file("checkpoints"));
  expect_loads(dir.path(), "step-00000030", newest);

  // The next prune without faults finishes the job.
  ASSERT_TRUE(prune_checkpoints(dir.path(), 2, 30, Env::posix()).ok());
  EXPECT_EQ(names_in(dir.file("checkpoints")), (std::vector<std::string>{"step-00000020", "step-00000030"}));
  ASSERT_TRUE(prune_checkpoints(dir.path(), 1, 30, Env::posix()).ok());
  EXPECT_EQ(names_in(dir.file("checkpoints")), (std::vector<std::string>{"step-00000030"}));
  expect_loads(dir.path(), "step-00000030", newest);
}

}  // namespace
}  // namespace fragua::train
