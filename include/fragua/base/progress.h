// SPDX-License-Identifier: Apache-2.0
// Progress reporting for long jobs: a bar with rate and ETA on a terminal, a plain line every
// few seconds otherwise (logs, CI). Thread-safe: workers call add() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace fragua {

class ProgressBar {
 public:
  // total == 0: unknown total (shows count and rate, no ETA). unit: "tok", "B", "docs"...
  // With unit "B" counts are shown as KB/MB/GB.
  ProgressBar(std::string label, uint64_t total, std::string unit = "it");
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void add(uint64_t n = 1);
  void set(uint64_t done);
  void set_total(uint64_t total);
  // Free text shown after the numbers, e.g. "loss 3.21".
  void set_postfix(std::string text);
  // Final line; called by the destructor if not called before.
  void finish();

  uint64_t done() const { return done_.load(); }
  double elapsed_seconds() const;

  // Disable all bars (tests, --quiet).
  static void set_enabled(bool enabled);

 private:
  void maybe_draw(bool force);
  std::string render() const;

  std::string label_, unit_, postfix_;
  std::atomic<uint64_t> total_, done_{0};
  std::chrono::steady_clock::time_point start_, last_draw_;
  mutable std::mutex mutex_;
  bool tty_ = false, finished_ = false;
};

// "1.5 MB", "12.0 kB": decimal units.
std::string format_bytes(double bytes);
// "12.3k tok/s", "2.5 step/s", and below one item a second "4.2 s/step".
std::string format_rate(double per_second, const std::string& unit);
// "1h02m", "3m05s", "12s"
std::string format_duration(double seconds);

}  // namespace fragua
