// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/thread_pool.h"

#include <numeric>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fragua/base/log.h"

namespace fragua {
namespace {

TEST(ThreadPool, EveryThreadRunsOnceAndRangesCover) {
  for (int n : {1, 2, 3, 5}) {
    ThreadPool pool(n);
    std::vector<int> hits(static_cast<size_t>(n), 0);
    for (int rep = 0; rep < 200; ++rep)
      pool.run([&](int ith, int nth) {
        EXPECT_EQ(nth, n);
        hits[static_cast<size_t>(ith)]++;
      });
    for (int h : hits) EXPECT_EQ(h, 200);
    std::vector<int> v(1001, 0);
    pool.parallel_for(v.size(), [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) v[i] += 1;
    });
    EXPECT_EQ(std::accumulate(v.begin(), v.end(), 0), 1001);
    std::vector<std::atomic<int>> w(777);
    pool.parallel_for_dynamic(w.size(), 10, [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) w[i]++;
    });
    for (auto& x : w) EXPECT_EQ(x.load(), 1);
  }
}

// ---- hardening (issue 12, defect 7) -------------------------------------------------------------

TEST(ThreadPoolHardening, HugeCountIsCappedWithAWarning) {
  std::vector<std::string> warnings;
  set_log_sink([&](LogLevel level, std::string_view m) {
    if (level == LogLevel::warn) warnings.emplace_back(m);
  });
  {
    ThreadPool pool(100000);
    EXPECT_EQ(pool.size(), ThreadPool::max_threads());
    EXPECT_EQ(ThreadPool::max_threads(),
              kMaxThreadsPerCore * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    std::atomic<int> ran{0};
    pool.run([&](int, int) { ran++; });
    EXPECT_EQ(ran.load(), pool.size());
    auto big = ThreadPool::create(2000000000);
    ASSERT_TRUE(big.ok());
    EXPECT_EQ((*big)->size(), ThreadPool::max_threads());
  }
  set_log_sink(nullptr);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("100000 threads requested"), std::string::npos) << warnings[0];
  EXPECT_EQ(ThreadPool::clamp_threads(3), 3);
}

// The OS refuses threads part-way (RLIMIT_NPROC in a child): before, the pool's half-built
// vector of joinable std::threads was destroyed and std::terminate raised SIGABRT. Now create()
// returns an error, the constructor runs with the threads it got, and nothing aborts.
TEST(ThreadPoolHardening, RefusedThreadIsAnErrorNotAnAbort) {
  pid_t pid = fork();
  if (pid == 0) {
    // Root is exempt from RLIMIT_NPROC: run as nobody, who owns no other process.
    if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(10);
    // This process, plus 2 threads: the third thread is refused.
    struct rlimit rl = {3, 3};
    if (setrlimit(RLIMIT_NPROC, &rl) != 0) _exit(11);
    auto r = ThreadPool::create(8);
    if (r.ok()) _exit(12);
    if (r.error().code() != ErrorCode::resource_exhausted) _exit(13);
    if (r.error().message().find("cannot start thread") == std::string::npos) _exit(14);
    ThreadPool pool(8);
    if (pool.status().ok() || pool.size() >= 8 || pool.size() < 1) _exit(15);
    std::atomic<int> ran{0};
    pool.run([&](int, int nth) { ran += nth; });
    if (ran.load() != pool.size() * pool.size()) _exit(16);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace fragua
