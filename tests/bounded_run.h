// SPDX-License-Identifier: Apache-2.0
// Runs a command in a child process and reports what it cost: exit status (or the signal that
// ended it), wall time and peak resident memory. Hardening tests use it to assert that hostile
// input is refused cleanly, in bounded time and memory. Memory is measured rather than limited
// with RLIMIT_AS, because sanitizer builds reserve terabytes of address space they never touch.
// The peak comes from GNU time (scripts/deps), which forks the command itself: a child forked
// straight from a large test process inherits that process's resident size in ru_maxrss (Linux
// keeps the high-water mark across exec), so a 300 MB test would see 300 MB for /bin/true.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace fragua::test {

struct BoundedRun {
  int exit_code = -1;      // the exit status, or -1 when a signal ended the process
  int signal = 0;          // the signal that ended it (SIGKILL after a time-out)
  bool timed_out = false;  // killed after `seconds`
  double seconds = 0;      // wall time
  long peak_rss_mb = 0;    // the child's peak resident set size
  std::string output;      // stdout and stderr together
};

// `cmd` runs under `/usr/bin/time` as `/bin/sh -c 'exec cmd'`, in its own process group (killed
// whole after `seconds`), so the measured process is the command itself.
inline BoundedRun run_bounded(const std::string& cmd, double seconds) {
  BoundedRun r;
  char out_name[] = "/tmp/fragua-bounded-out-XXXXXX";
  char peak_name[] = "/tmp/fragua-bounded-peak-XXXXXX";
  int out_fd = mkstemp(out_name);
  int peak_fd = mkstemp(peak_name);
  if (out_fd < 0 || peak_fd < 0) return r;
  unlink(out_name);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    std::string full = "exec " + cmd;
    execl("/usr/bin/time", "time", "-f", "%M", "-o", peak_name, "/bin/sh", "-c", full.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > seconds) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // GNU time's report: "Command terminated by signal N" (or "Command exited with non-zero
  // status N") on a line of its own, then the peak in KiB.
  std::string report;
  char buf[4096];
  ssize_t n;
  while ((n = read(peak_fd, buf, sizeof buf)) > 0) report.append(buf, static_cast<size_t>(n));
  close(peak_fd);
  unlink(peak_name);
  if (size_t at = report.find("terminated by signal "); at != std::string::npos) {
    r.signal = std::atoi(report.c_str() + at + 21);
  } else if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  }
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);  // time itself killed (time-out)
  while (!report.empty() && report.back() == '\n') report.pop_back();
  const size_t nl = report.rfind('\n');
  if (!report.empty()) r.peak_rss_mb = std::atol(report.c_str() + (nl == std::string::npos ? 0 : nl + 1)) / 1024;
  lseek(out_fd, 0, SEEK_SET);
  while ((n = read(out_fd, buf, sizeof buf)) > 0) r.output.append(buf, static_cast<size_t>(n));
  close(out_fd);
  return r;
}

}  // namespace fragua::test
