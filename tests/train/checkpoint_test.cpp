// Checkpoints and shards under a full disk (DESIGN 10): the failed write leaves the previous
// checkpoint named by `latest` intact and loadable, and no partial shard.
#include <filesystem>

#include "fragua/base/file.h"
#include "fragua/train/shard.h"
#include "fragua/train/trainer.h"
#include "test_util.h"
#include "train/checkpoint.h"

namespace fragua::train {
namespace {

using test::FullDiskEnv;


Model small_model(uint64_t seed) {
  ModelConfig c;
  c.n_vocab = 50;
  c.n_embd = 16;
  c.n_layer = 1;
  c.n_head = 2;
  c.n_head_kv = 2;
  auto m = Model::create(c);
  EXPECT_TRUE(m.ok());
  m->init_random(seed);
  return std::move(*m);
}

TEST(Checkpoint, FullDiskKeepsThePreviousCheckpoint) {
  test::TempDir dir;
  Model m = small_model(1);
  AdamW opt({}, m.params().size());
  opt.m()[3] = 0.5f;
  opt.set_t(7);
  ASSERT_TRUE(save_checkpoint(dir.path(), 10, m, opt, {{"data", {}}}, 2).ok());
  Model later = small_model(2);
  for (size_t budget : {100u, 5000u, 20000u}) {
    FullDiskEnv full(budget);
    auto st = save_checkpoint(dir.path(), 20, later, opt, {{"data", {}}}, 2, full);
    ASSERT_FALSE(st.ok()) << budget;
    EXPECT_NE(st.error().message().find("disk full"), std::string::npos);
    auto latest = latest_checkpoint(dir.path());
    ASSERT_TRUE(latest.ok());
    EXPECT_TRUE(latest->ends_with("step-00000010")) << *latest;
  }
  Model back = small_model(3);
  AdamW opt2({}, back.params().size());
  auto state = load_checkpoint(*latest_checkpoint(dir.path()), back, opt2);
  ASSERT_TRUE(state.ok()) << state.error().to_string();
  EXPECT_EQ((*state)["step"], 10);
  EXPECT_EQ(opt2.t(), 7);
  EXPECT_EQ(opt2.m()[3], 0.5f);
  EXPECT_TRUE(std::equal(back.params().begin(), back.params().end(), m.params().begin()));
}

TEST(Checkpoint, DamagedFilesAreNamed) {
  test::TempDir dir;
  Model m = small_model(1);
  AdamW opt({}, m.params().size());
  ASSERT_TRUE(save_checkpoint(dir.path(), 5, m, opt, {{"data", {}}}, 2).ok());
  std::string ck = *latest_checkpoint(dir.path());
  std::string bytes = *read_file(ck + "/optimizer.safetensors");
  ASSERT_TRUE(write_file_atomic(ck + "/optimizer.safetensors", bytes.substr(0, bytes.size() / 2)).ok());
  auto st = load_checkpoint(ck, m, opt);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("optimizer.safetensors"), std::string::npos) << st.error().to_string();
  ASSERT_TRUE(write_file_atomic(dir.file("latest"), "../../etc\n").ok());
  EXPECT_FALSE(latest_checkpoint(dir.path()).ok());
}

TEST(Shard, FullDiskLeavesNoShard) {
  test::TempDir dir;
  ShardWriter w({"byte", 258, "byte-v1", 256, 257}, {});
  std::vector<int32_t> t(5000, 65);
  w.add("es", t, 5000);
  FullDiskEnv full(1000);
  ASSERT_FALSE(w.write(dir.file("s.fts"), full).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.file("s.fts")));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

}  // namespace
}  // namespace fragua::train
