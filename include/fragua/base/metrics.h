// SPDX-License-Identifier: Apache-2.0
// JSON-lines metrics for long jobs: one object per line, flushed as written, so that a crashed
// or interrupted run keeps everything it logged and `fragua plot` can read it while it runs.
#pragma once

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/file.h"

namespace fragua {

class MetricsWriter {
 public:
  // append == true keeps earlier lines (resumed runs).
  static Result<MetricsWriter> open(const std::string& path, bool append = false);
  MetricsWriter() = default;
  MetricsWriter(MetricsWriter&&) noexcept;
  MetricsWriter& operator=(MetricsWriter&&) noexcept;
  ~MetricsWriter();

  // Adds "time" (seconds since the Unix epoch) unless present.
  Status write(nlohmann::json record);
  bool is_open() const { return file_ != nullptr; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

// Reads every line of a metrics file; a malformed line is an error naming its line number.
Result<std::vector<nlohmann::json>> read_metrics(const std::string& path, Env& env = Env::posix());

}  // namespace fragua
