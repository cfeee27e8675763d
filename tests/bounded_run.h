// Runs a command in a child process and reports what it cost: exit status (or the signal that
// ended it), wall time and peak resident memory. Hardening tests use it to assert that hostile
// input is refused cleanly, in bounded time and memory. Memory is measured (ru_maxrss of the
// child) rather than limited with RLIMIT_AS, because sanitizer builds reserve terabytes of
// address space that they never touch.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace fragua::test {

struct BoundedRun {
  int exit_code = -1;       // the exit status, or -1 when a signal ended the process
  int signal = 0;           // the signal that ended it (SIGKILL after a time-out)
  bool timed_out = false;   // killed after `seconds`
  double seconds = 0;       // wall time
  long peak_rss_mb = 0;     // the child's peak resident set size
  std::string output;       // stdout and stderr together
};

// `cmd` runs as `/bin/sh -c 'exec cmd'`, so the measured process is the command itself.
inline BoundedRun run_bounded(const std::string& cmd, double seconds) {
  BoundedRun r;
  char tmpl[] = "/tmp/fragua-bounded-XXXXXX";
  int out_fd = mkstemp(tmpl);
  if (out_fd < 0) return r;
  unlink(tmpl);
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, 1);
    dup2(out_fd, 2);
    std::string full = "exec " + cmd;
    execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  struct rusage ru {};
  for (;;) {
    pid_t w = wait4(pid, &status, WNOHANG, &ru);
    if (w == pid) break;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > seconds) {
      kill(pid, SIGKILL);
      wait4(pid, &status, 0, &ru);
      r.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.peak_rss_mb = ru.ru_maxrss / 1024;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  lseek(out_fd, 0, SEEK_SET);
  char buf[4096];
  ssize_t n;
  while ((n = read(out_fd, buf, sizeof buf)) > 0) r.output.append(buf, static_cast<size_t>(n));
  close(out_fd);
  return r;
}

}  // namespace fragua::test
