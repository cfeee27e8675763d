// SPDX-License-Identifier: Apache-2.0
// Fault injection through Env (DESIGN 10) into model export: a failed write or rename leaves no
// partial .gguf and the error names the output; an unreadable `latest` is named.
#include <filesystem>

#include "fragua/base/file.h"
#include "fragua/train/export.h"
#include "fragua/train/trainer.h"
#include "test_util.h"
#include "train/checkpoint.h"
#include "fixtures.h"

namespace fragua::train {
namespace {

using namespace fragua::train::testing;

namespace fs = std::filesystem;
using test::FaultEnv;



TEST(ExportFaults, FailedWriteLeavesNoPartialGgufAndNamesTheOutput) {
  test::TempDir dir;
  Model m = small_model(1);
  ASSERT_TRUE(save_model_safetensors(m, dir.file("model.safetensors"), {}).ok());
  ExportOptions o;
  o.checkpoint = dir.file("model.safetensors");
  o.out = dir.file("out/model.gguf");
  fs::create_directories(dir.file("out"));
  FaultEnv env;
  o.env = &env;
  for (int fault = 0; fault < 2; ++fault) {
    env.write_budget = fault == 0 ? 1000 : SIZE_MAX;
    env.fail_rename = fault == 0 ? "" : "model.gguf";
    auto st = export_gguf(o);
    ASSERT_FALSE(st.ok()) << fault;
    EXPECT_EQ(st.error().message().rfind("export: " + o.out + ": ", 0), 0u) << st.error().message();
    EXPECT_TRUE(fs::is_empty(dir.file("out"))) << fault;  // neither the .gguf nor a temporary
  }
  env.fail_rename.clear();
  ASSERT_TRUE(export_gguf(o).ok());
  EXPECT_EQ(names_in(dir.file("out")), (std::vector<std::string>{"model.gguf"}));

  // A run directory whose `latest` cannot be read: the error names it, nothing is written.
  ASSERT_TRUE(fs::remove(o.out));
  AdamW opt({}, m.params().size());
  ASSERT_TRUE(
      save_checkpoint(
          dir.file("run"), 1, m, opt,
          {{"data",
            {{"rng", {"1", "2", "3", "4"}}, {"languages", {{"es", {{"cursor", 32}, {"epoch", 0}}}}}, {"batches", 2}}}},
          1)
          .ok());
  o.checkpoint = dir.file("run");
  env.fail_read = "latest";
  auto st = export_gguf(o);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), "injected read failure: " + dir.file("run/latest"));
  EXPECT_TRUE(fs::is_empty(dir.file("out")));
}

}  // namespace
}  // namespace fragua::train
