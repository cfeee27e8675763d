// SPDX-License-Identifier: Apache-2.0
// `fragua taxonomy diff`: the git CLI through posix_spawnp (no shell, so no quoting of revisions
// or paths), NUL-separated output (-z) so that any file name survives.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "fragua/community/taxonomy.h"

extern char** environ;

namespace fragua::community {

namespace {

void close_pipe_pair(int fds[2]) {
  for (int i = 0; i < 2; ++i)
    if (fds[i] >= 0) close(fds[i]);
}

std::vector<std::string> split_nul_list(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    size_t end = s.find('\0', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool is_leaf_path(const std::string& p) {
  const std::string tail = "/qna.yaml";
  if (p.size() <= tail.size() || p.compare(p.size() - tail.size(), tail.size(), tail) != 0) return false;
  return leaf_kind_of(p).ok();
}

}  // namespace

Result<std::string> run_program(const std::vector<std::string>& argv, const std::string& cwd) {
  if (argv.empty()) return invalid_argument_error("run_program: no program");
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    close_pipe_pair(out_pipe);
    return io_error("{}: pipe: {}", argv[0], std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return not_found_error("{}: cannot run it: {}", argv[0], std::strerror(rc));
  }
  std::string out, err;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? out : err).append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    return invalid_argument_error("'{}' in {} failed (exit {}): {}", cmd, cwd.empty() ? "." : cwd,
                                  WIFEXITED(status) ? WEXITSTATUS(status) : -1, err);
  }
  return out;
}

Result<TaxonomyDiff> taxonomy_diff(const std::string& root, const std::string& since) {
  if (since.empty() || since[0] == '-')
    return invalid_argument_error("taxonomy diff: '{}' is not a git revision", since);
  // --relative: paths relative to root, and only those under it; --no-renames: a moved leaf is a
  // removed one and a new one (both matter: the new path must validate).
  auto changed = FRAGUA_TRY(run_program({"git", "-c", "core.quotepath=off", "diff", "--name-only", "-z", "--relative",
                                         "--no-renames", "--diff-filter=ACMRT", since, "--", "."},
                                        root));
  auto removed = FRAGUA_TRY(run_program(
      {"git", "diff", "--name-only", "-z", "--relative", "--no-renames", "--diff-filter=D", since, "--", "."}, root));
  auto untracked = FRAGUA_TRY(run_program({"git", "ls-files", "-z", "--others", "--exclude-standard", "--", "."}, root));
  TaxonomyDiff diff;
  std::set<std::string> seen;
  for (const auto& list : {changed, untracked})
    for (auto& p : split_nul_list(list))
      if (is_leaf_path(p) && seen.insert(p).second) diff.changed.push_back(p);
  for (auto& p : split_nul_list(removed))
    if (is_leaf_path(p)) diff.removed.push_back(p);
  std::sort(diff.changed.begin(), diff.changed.end());
  std::sort(diff.removed.begin(), diff.removed.end());
  return diff;
}

}  // namespace fragua::community
