// SPDX-License-Identifier: Apache-2.0
#include "serve/audit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "fragua/base/log.h"

namespace fragua::serve {
namespace {

int open_append(const std::string& path) { return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640); }

}  // namespace

AuditLog::AuditLog(AuditOptions options) : opt_(std::move(options)) {}

Result<std::unique_ptr<AuditLog>> AuditLog::open(AuditOptions options) {
  if (options.path.empty()) return invalid_argument_error("the audit log needs a file name");
  if (options.keep < 0) return invalid_argument_error("audit log: keep is {}, must be >= 0", options.keep);
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(options)));
  log->fd_ = open_append(log->opt_.path);
  if (log->fd_ < 0) return io_error("{}: cannot open the audit log: {}", log->opt_.path, std::strerror(errno));
  struct stat st {};
  if (fstat(log->fd_, &st) == 0) log->size_ = static_cast<uint64_t>(st.st_size);
  log->thread_ = std::thread([p = log.get()] { p->run(); });
  return log;
}

AuditLog::~AuditLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

void AuditLog::append(std::string line) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      ++failures_;
      return;
    }
    line.push_back('\n');
    queue_.push_back(std::move(line));
  }
  cv_.notify_one();
}

void AuditLog::flush() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

void AuditLog::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) break;
    std::string line = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    if (write_line(line))
      ++written_;
    else
      ++failures_;
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
  idle_cv_.notify_all();
}

void AuditLog::fail(const std::string& what) {
  // Every failure is counted (fragua_audit_failures_total); the first ones and then one in a
  // thousand reach stderr, so a full disk does not flood it.
  const uint64_t n = failures_.load();
  if (n < 5 || n % 1000 == 0) log_error("audit log {}: {}", opt_.path, what);
}

bool AuditLog::write_line(const std::string& line) {
  if (fd_ < 0 && !rotate()) return false;
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fail(fmt::format("write failed: {}", std::strerror(errno)));
      return false;
    }
    done += static_cast<size_t>(n);
  }
  size_ += line.size();
  if (size_ >= opt_.max_bytes) rotate();
  return true;
}

bool AuditLog::rotate() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  const std::string& p = opt_.path;
  if (opt_.keep == 0) {
    if (std::remove(p.c_str()) != 0 && errno != ENOENT) fail(fmt::format("cannot remove it: {}", std::strerror(errno)));
  } else {
    for (int i = opt_.keep - 1; i >= 1; --i) {
      const std::string from = fmt::format("{}.{}", p, i), to = fmt::format("{}.{}", p, i + 1);
      if (std::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT)
        fail(fmt::format("cannot rename {} to {}: {}", from, to, std::strerror(errno)));
    }
    if (std::rename(p.c_str(), (p + ".1").c_str()) != 0 && errno != ENOENT)
      fail(fmt::format("cannot rename it to {}.1: {}", p, std::strerror(errno)));
  }
  fd_ = open_append(p);
  size_ = 0;
  if (fd_ < 0) {
    fail(fmt::format("cannot reopen it: {}", std::strerror(errno)));
    return false;
  }
  return true;
}

}  // namespace fragua::serve
