// A fork-join pool for compute kernels. run(fn) calls fn(ith, nth) once on each of nth threads
// (the caller is thread 0) and returns when all are done. Workers spin briefly between jobs and
// then sleep, so back-to-back kernels (one per layer per token) pay microseconds, not a wake-up.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fragua {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads <= 0: hardware concurrency
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

  static int default_threads();

 private:
  void worker(int ith);

  int n_threads_;
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
