// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/thread_pool.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <new>
#include <system_error>

#include "fragua/base/log.h"
#include "fragua/base/runtime_options.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FRAGUA_PAUSE() _mm_pause()
#else
#define FRAGUA_PAUSE() std::this_thread::yield()
#endif

namespace fragua {

namespace {
int hardware_threads() {
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(std::min<unsigned>(hc, 1u << 16));
}
}  // namespace

int ThreadPool::max_threads() { return kMaxThreadsPerCore * hardware_threads(); }

int ThreadPool::default_threads() {
  if (const int n = runtime_options().threads; n > 0) {
    if (n <= max_threads()) return n;
    log_warn("FRAGUA_THREADS={} is more than {} threads ({} per core): using {}", n, max_threads(), kMaxThreadsPerCore,
             max_threads());
    return max_threads();
  }
  return hardware_threads();
}

int ThreadPool::clamp_threads(int n) {
  if (n <= 0) return default_threads();
  if (n > max_threads()) {
    log_warn("{} threads requested, more than {} ({} per core): using {}", n, max_threads(), kMaxThreadsPerCore,
             max_threads());
    return max_threads();
  }
  return n;
}

ThreadPool::ThreadPool(int n_threads) : ThreadPool(n_threads, true) {}

ThreadPool::ThreadPool(int n_threads, bool warn_on_refusal) : n_threads_(clamp_threads(n_threads)) {
  const int want = n_threads_;
  try {
    threads_.reserve(static_cast<size_t>(want - 1));
    for (int i = 1; i < want; ++i) threads_.emplace_back([this, i] { worker(i); });
  } catch (const std::system_error& e) {
    status_ = resource_exhausted_error("cannot start thread {} of {}: {}", threads_.size() + 1, want, e.what());
  } catch (const std::bad_alloc&) {
    status_ = resource_exhausted_error("cannot start thread {} of {}: out of memory", threads_.size() + 1, want);
  }
  // The workers started so far are numbered 1..size; none reads n_threads_ before the first run().
  n_threads_ = static_cast<int>(threads_.size()) + 1;
  if (!status_.ok() && warn_on_refusal)
    log_warn("{}; running with {} thread(s)", status_.error().message(), n_threads_);
}

Result<std::unique_ptr<ThreadPool>> ThreadPool::create(int n_threads) {
  std::unique_ptr<ThreadPool> pool(new (std::nothrow) ThreadPool(n_threads, false));
  if (!pool) return resource_exhausted_error("cannot allocate a thread pool");
  if (!pool->status().ok()) return pool->status().error();
  return pool;
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
