// SPDX-License-Identifier: Apache-2.0
// Logging to one sink (the only mutable global, DESIGN 15). Messages go to stderr by default.
#pragma once

#include <functional>
#include <string_view>

#include <fmt/format.h>

namespace fragua {

enum class LogLevel { debug, info, warn, error, quiet };

void set_log_level(LogLevel level);
LogLevel log_level();
// Replaces the sink (tests capture warnings this way); nullptr restores stderr.
void set_log_sink(std::function<void(LogLevel, std::string_view)> sink);
void log_message(LogLevel level, std::string_view message);

template <typename... Args>
void log_debug(fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() <= LogLevel::debug) log_message(LogLevel::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_info(fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() <= LogLevel::info) log_message(LogLevel::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_warn(fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() <= LogLevel::warn) log_message(LogLevel::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void log_error(fmt::format_string<Args...> f, Args&&... args) {
  if (log_level() <= LogLevel::error) log_message(LogLevel::error, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace fragua
