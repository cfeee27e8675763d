#include "fragua/base/thread_pool.h"

#include <algorithm>
#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FRAGUA_PAUSE() _mm_pause()
#else
#define FRAGUA_PAUSE() std::this_thread::yield()
#endif

namespace fragua {

int ThreadPool::default_threads() {
  if (const char* env = std::getenv("FRAGUA_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads > 0 ? n_threads : default_threads()) {
  for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void ThreadPool::worker(int ith) {
  uint64_t seen = 0;
  for (;;) {
    // Spin for a while (about 50-100 us) before sleeping on the condition variable.
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen) {
      if (++spins < 20000) {
        if (spins < 4000)
          FRAGUA_PAUSE();
        else
          std::this_thread::yield();
        continue;
      }
      std::unique_lock lock(mutex_);
      sleepers_.fetch_add(1);
      cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      sleepers_.fetch_sub(1);
      break;
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    (*job_)(ith, n_threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
  if (n_threads_ == 1) {
    fn(0, 1);
    return;
  }
  job_ = &fn;
  pending_.store(n_threads_ - 1, std::memory_order_release);
  {
    // Publishing under the mutex avoids a lost wake-up for a worker about to sleep.
    if (sleepers_.load() > 0) {
      std::lock_guard lock(mutex_);
      generation_.fetch_add(1, std::memory_order_acq_rel);
    } else {
      generation_.fetch_add(1, std::memory_order_acq_rel);
    }
  }
  if (sleepers_.load() > 0) {
    std::lock_guard lock(mutex_);
    cv_.notify_all();
  }
  fn(0, n_threads_);
  // Spin briefly, then yield: on an oversubscribed machine the worker we wait for may need
  // this very core.
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < 4000)
      FRAGUA_PAUSE();
    else
      std::this_thread::yield();
  }
}

void ThreadPool::parallel_for(size_t n, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  run([&](int ith, int nth) {
    size_t b, e;
    split_range(n, ith, nth, b, e);
    if (b < e) fn(b, e);
  });
}

void ThreadPool::parallel_for_dynamic(size_t n, size_t chunk, const std::function<void(size_t, size_t)>& fn) {
  if (n == 0) return;
  chunk = std::max<size_t>(1, chunk);
  std::atomic<size_t> next{0};
  run([&](int, int) {
    for (;;) {
      size_t b = next.fetch_add(chunk);
      if (b >= n) break;
      fn(b, std::min(n, b + chunk));
    }
  });
}

}  // namespace fragua
