// SPDX-License-Identifier: Apache-2.0
// Context creation under hostile thread counts (issue 12, defect 7): `-t 100000` is capped at
// ThreadPool::max_threads() with a warning, and a thread the OS refuses is an error, not SIGABRT.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bounded_run.h"
#include "fragua/base/thread_pool.h"
#include "fragua/model/model.h"
#include "fragua/model/random_model.h"
#include "model/fixtures.h"
#include "test_util.h"

namespace fragua::model {
namespace {

struct ContextThreads : ::testing::Test {
  test::TempDir dir;
  std::string model = dir.file("tiny.gguf");
  void SetUp() override { ASSERT_TRUE(write_random_model(tiny_model_spec(), model).ok()); }
};

// Before: 100000 spinning workers were started (still running after 600 s, load average 14800).
TEST_F(ContextThreads, HugeThreadCountIsCapped) {
  auto r =
      test::run_bounded(test::cli_path() + " generate " + model + " --prompt-ids 1,2,3 -n 4 --temp 0 -t 100000", 120);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(fmt::format("100000 threads requested, more than {}", ThreadPool::max_threads())),
            std::string::npos)
      << r.output;
}

// RLIMIT_NPROC lets the pool start two of its threads: before, the half-built pool's joinable
// std::threads were destroyed and std::terminate raised SIGABRT ("terminate called without an
// active exception").
TEST_F(ContextThreads, RefusedThreadIsAnError) {
  pid_t pid = fork();
  if (pid == 0) {
    if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(10);  // root ignores RLIMIT_NPROC
    struct rlimit rl = {3, 3};
    if (setrlimit(RLIMIT_NPROC, &rl) != 0) _exit(11);
    auto m = Model::load(model);
    if (!m.ok()) _exit(12);
    auto ctx = Context::create(**m, {.n_ctx = 16, .n_batch = 4, .n_threads = 8});
    if (ctx.ok()) _exit(13);
    if (ctx.error().code() != ErrorCode::resource_exhausted) _exit(14);
    if (ctx.error().message().find("of 8: ") == std::string::npos) _exit(15);  // "cannot start thread N of 8: ..."
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace fragua::model
