// SPDX-License-Identifier: Apache-2.0
// A training run over a failing Env (TrainConfig::env): a failed checkpoint save stops the run
// with the error, `latest` still names the previous checkpoint, and resuming from it reproduces
// the uninterrupted run exactly; a failed pruning costs only disk space.
#include <filesystem>

#include "fixtures.h"
#include "fragua/base/file.h"
#include "fragua/format/safetensors.h"
#include "test_util.h"

namespace fragua::train {
namespace {

namespace fs = std::filesystem;

struct TrainerFaults : ::testing::Test {
  test::TempDir dir;
  std::string shards;
  void SetUp() override {
    shards = dir.file("shards");
    testing::make_shards(shards, dir.path());
  }
  TrainConfig config(const std::string& out) {
    auto c = testing::tiny_config(shards, out);
    c.save_every = 4;
    c.keep_checkpoints = 1;
    return c;
  }
};

TEST_F(TrainerFaults, FailedSaveStopsTheRunAndResumeReproducesIt) {
  auto straight = train(config(dir.file("straight")));
  ASSERT_TRUE(straight.ok()) << straight.error().to_string();

  test::FaultEnv env;
  env.fail_rename = "step-00000008/optimizer";
  auto c = config(dir.file("run"));
  c.env = &env;
  auto failed = train(c);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message().rfind(
                "injected rename failure: " + dir.file("run/checkpoints/step-00000008/optimizer.safetensors.tmp-"), 0),
            0u)
      << failed.error().message();
  auto latest = latest_checkpoint(dir.file("run"));
  ASSERT_TRUE(latest.ok());
  EXPECT_TRUE(latest->ends_with("step-00000004")) << *latest;
  EXPECT_FALSE(fs::exists(dir.file("run/checkpoints/step-00000008/optimizer.safetensors")));

  c.env = nullptr;
  c.resume = true;
  auto resumed = train(c);
  ASSERT_TRUE(resumed.ok()) << resumed.error().to_string();
  EXPECT_EQ(resumed->step, 8);
  std::vector<float> tail(straight->losses.begin() + 4, straight->losses.end());
  EXPECT_EQ(resumed->losses, tail);  // bitwise: steps 5..8 again, from the step-4 checkpoint
  EXPECT_EQ(testing::latest_params(dir.file("run")), testing::latest_params(dir.file("straight")));
}

TEST_F(TrainerFaults, FailedPruningKeepsTheRunGoing) {
  test::FaultEnv env;
  env.fail_remove = "step-00000004";
  auto c = config(dir.file("run"));
  c.env = &env;
  auto r = train(c);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(env.failures, 1);
  auto latest = latest_checkpoint(dir.file("run"));
  ASSERT_TRUE(latest.ok());
  EXPECT_TRUE(latest->ends_with("step-00000008")) << *latest;
  EXPECT_TRUE(fs::exists(dir.file("run/checkpoints/step-00000004/state.json")));  // left for the next save
}

}  // namespace
}  // namespace fragua::train
