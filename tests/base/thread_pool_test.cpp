#include "fragua/base/thread_pool.h"

#include <numeric>

#include <gtest/gtest.h>

namespace fragua {
namespace {

TEST(ThreadPool, EveryThreadRunsOnceAndRangesCover) {
  for (int n : {1, 2, 3, 5}) {
    ThreadPool pool(n);
    std::vector<int> hits(static_cast<size_t>(n), 0);
    for (int rep = 0; rep < 200; ++rep) pool.run([&](int ith, int nth) {
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

}  // namespace
}  // namespace fragua
