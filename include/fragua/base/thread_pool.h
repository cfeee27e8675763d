// SPDX-License-Identifier: Apache-2.0
// A fork-join pool for compute kernels. run(fn) calls fn(ith, nth) once on each of nth threads
// (the caller is thread 0) and returns when all are done. Workers spin briefly between jobs and
// then sleep, so back-to-back kernels (one per layer per token) pay microseconds, not a wake-up.
// A pool never aborts: a count above max_threads() (from a flag or a config file) is capped with a
// warning, and when the OS refuses a thread (std::system_error from std::thread: RLIMIT_NPROC, a
// container's pids limit) the pool keeps the threads it got and records the error in status().
// create() turns that error into a Result for callers that would rather stop.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "fragua/base/error.h"

namespace fragua {

// Compute threads beyond a few per core only add contention; the cap keeps `-t 100000` or
// `threads: 2000000000` from exhausting the process table.
inline constexpr int kMaxThreadsPerCore = 4;

class ThreadPool {
 public:
  // n_threads <= 0: default_threads(); above max_threads(): capped with a warning. A thread the
  // OS refuses is logged and left out (status() holds the error).
  explicit ThreadPool(int n_threads);
  // As the constructor, but a refused thread is a resource_exhausted error naming the count.
  static Result<std::unique_ptr<ThreadPool>> create(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  // fn(ith, nth) on every thread; blocks until all return. Not re-entrant.
  void run(const std::function<void(int ith, int nth)>& fn);
  // Splits [0, n) into contiguous chunks, one per thread: fn(begin, end).
  void parallel_for(size_t n, const std::function<void(size_t begin, size_t end)>& fn);
  // Splits [0, n) into small chunks handed out dynamically (uneven work).
  void parallel_for_dynamic(size_t n, size_t chunk, const std::function<void(size_t begin, size_t end)>& fn);

  // ok, or why fewer threads than asked for run (the OS refused one).
  const Status& status() const { return status_; }

  // $FRAGUA_THREADS, else the hardware concurrency; never above max_threads().
  static int default_threads();
  // kMaxThreadsPerCore x the hardware concurrency.
  static int max_threads();
  // The count a pool of n_threads gets: default_threads() for n <= 0, capped at max_threads()
  // with a warning naming the request.
  static int clamp_threads(int n_threads);

 private:
  ThreadPool(int n_threads, bool warn_on_refusal);
  void worker(int ith);

  int n_threads_;
  Status status_;
  std::vector<std::thread> threads_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<int> sleepers_{0};
};

// The range [begin, end) of thread ith out of nth over n items.
inline void split_range(size_t n, int ith, int nth, size_t& begin, size_t& end) {
  size_t per = (n + static_cast<size_t>(nth) - 1) / static_cast<size_t>(nth);
  begin = std::min(n, per * static_cast<size_t>(ith));
  end = std::min(n, begin + per);
}

}  // namespace fragua
