// SPDX-License-Identifier: Apache-2.0
// The audit log: one JSON object per line (JSON Lines), appended by a single writer thread so
// that a slow disk never blocks generation (lines queue in memory, up to kMaxQueued; beyond that
// they are dropped and counted). Each line is written with one write(2) as soon as it is taken
// from the queue. Past `max_bytes` the file rotates: FILE.(keep-1) -> FILE.keep, ..., FILE ->
// FILE.1, and a new FILE (FILE.keep's old content is dropped; keep 0: the file is just
// restarted). A failed write is reported on stderr and counted, never fatal. docs/serve.md,
// "Audit log", lists the fields.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "fragua/base/error.h"

namespace fragua::serve {

struct AuditOptions {
  std::string path;
  uint64_t max_bytes = 100ull << 20;  // rotate past this size
  int keep = 5;                       // rotated files kept: FILE.1 ... FILE.keep
};

class AuditLog {
 public:
  static constexpr size_t kMaxQueued = 10000;
  // Opens (appends to) the file and starts the writer; an error names the path.
  static Result<std::unique_ptr<AuditLog>> open(AuditOptions options);
  // Writes what is queued, then stops.
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues one line (without its newline).
  void append(std::string line);
  // Waits until every line queued so far is written (or failed).
  void flush();

  uint64_t lines_written() const { return written_.load(); }
  uint64_t failures() const { return failures_.load(); }  // lines not written: I/O errors, full queue
  const AuditOptions& options() const { return opt_; }

 private:
  explicit AuditLog(AuditOptions options);
  void run();
  bool write_line(const std::string& line);
  bool rotate();
  void fail(const std::string& what);

  AuditOptions opt_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<std::string> queue_;
  bool busy_ = false, stop_ = false;
  std::atomic<uint64_t> written_{0}, failures_{0};
  std::thread thread_;
};

}  // namespace fragua::serve
