// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/progress.h"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <unistd.h>

namespace fragua {
namespace {

std::atomic<bool> g_enabled{true};

std::string format_count(double v, const std::string& unit) {
  if (unit == "B") return format_bytes(v);
  const std::string u = unit.empty() ? "" : " " + unit;
  if (v >= 1e9) return fmt::format("{:.2f}G{}", v / 1e9, u);
  if (v >= 1e6) return fmt::format("{:.2f}M{}", v / 1e6, u);
  if (v >= 1e4) return fmt::format("{:.1f}k{}", v / 1e3, u);
  return fmt::format("{:.0f}{}", v, u);
}

}  // namespace

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000.0 && u < 4) {
    bytes /= 1000.0;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  auto t = static_cast<long>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

void ProgressBar::set_enabled(bool enabled) { g_enabled = enabled; }

ProgressBar::ProgressBar(std::string label, uint64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
  tty_ = ::isatty(STDERR_FILENO) != 0;
}

ProgressBar::~ProgressBar() { finish(); }

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::add(uint64_t n) {
  done_.fetch_add(n);
  maybe_draw(false);
}

void ProgressBar::set(uint64_t done) {
  done_.store(done);
  maybe_draw(false);
}

void ProgressBar::set_total(uint64_t total) { total_.store(total); }

void ProgressBar::set_postfix(std::string text) {
  std::lock_guard lock(mutex_);
  postfix_ = std::move(text);
}

std::string format_rate(double rate, const std::string& unit) {
  const std::string u = unit.empty() ? "it" : unit;
  if (unit != "B" && rate > 0 && rate < 1) {
    // Seconds per one item: "s/file", not "s/files", for a unit given in the plural.
    const std::string one = u.size() > 1 && u.back() == 's' ? u.substr(0, u.size() - 1) : u;
    return fmt::format("{:.1f} s/{}", 1.0 / rate, one);
  }
  if (unit != "B" && rate < 10) return fmt::format("{:.1f} {}/s", rate, u);
  return format_count(rate, unit) + "/s";
}

std::string ProgressBar::render() const {
  double el = elapsed_seconds();
  double done = static_cast<double>(done_.load());
  double total = static_cast<double>(total_.load());
  double rate = el > 0 ? done / el : 0.0;
  std::string s = label_.empty() ? "" : label_ + " ";
  if (total > 0) {
    double frac = std::min(1.0, done / total);
    const int width = 24;
    int full = static_cast<int>(frac * width);
    std::string bar(static_cast<size_t>(full), '#');
    bar.resize(width, '.');
    double eta = rate > 0 ? (total - done) / rate : NAN;
    s += fmt::format("[{}] {:3.0f}% {}/{} {} ETA {}", bar, frac * 100, format_count(done, unit_),
                     format_count(total, unit_), format_rate(rate, unit_), format_duration(eta));
  } else {
    s += fmt::format("{} {} {}", format_count(done, unit_), format_rate(rate, unit_), format_duration(el));
  }
  if (!postfix_.empty()) s += " " + postfix_;
  return s;
}

void ProgressBar::maybe_draw(bool force) {
  if (!g_enabled) return;
  auto now = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || finished_) return;
  auto since = std::chrono::duration<double>(now - last_draw_).count();
  double interval = tty_ ? 0.1 : 5.0;
  if (!force && since < interval) return;
  // Off a terminal each draw is a line of its own: the complete state is left to finish(), or
  // the last line would be printed twice.
  const uint64_t total = total_.load();
  if (!tty_ && total > 0 && done_.load() >= total) return;
  last_draw_ = now;
  std::string line = render();
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
  else
    std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (!g_enabled) return;
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  std::string line = render();
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s\n", line.c_str());
  else
    std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace fragua
