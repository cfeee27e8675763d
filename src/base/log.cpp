// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include <unistd.h>

#include "fragua/base/utf8.h"

namespace fragua {
namespace {

std::atomic<LogLevel> g_level{LogLevel::info};
std::mutex g_mutex;
std::function<void(LogLevel, std::string_view)> g_sink;

const char* prefix(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug: ";
    case LogLevel::info:
      return "";
    case LogLevel::warn:
      return "warning: ";
    case LogLevel::error:
      return "error: ";
    case LogLevel::quiet:
      return "";
  }
  return "";
}

}  // namespace

void set_log_level(LogLevel level) { g_level = level; }
LogLevel log_level() { return g_level; }

void set_log_sink(std::function<void(LogLevel, std::string_view)> sink) {
  std::lock_guard lock(g_mutex);
  g_sink = std::move(sink);
}

void log_message(LogLevel level, std::string_view message) {
  std::lock_guard lock(g_mutex);
  if (g_sink) {
    g_sink(level, message);
    return;
  }
  // Messages quote names from input files: on a terminal, control sequences in them are escaped
  // (docs/hardening.md). A pipe or a log file gets the bytes as they are.
  static const bool tty = isatty(STDERR_FILENO) == 1;
  const std::string safe = tty ? terminal_safe(message, /*keep_newlines=*/true) : std::string(message);
  std::fprintf(stderr, "%s%.*s\n", prefix(level), static_cast<int>(safe.size()), safe.data());
}

}  // namespace fragua
