// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/file.h"

#include <csignal>
#include <filesystem>
#include <regex>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

namespace fragua {
namespace {

using test::FullDiskEnv;

size_t count_files(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir)) ++n;
  return n;
}

TEST(AtomicFile, CommitReplacesTarget) {
  test::TempDir dir;
  auto path = dir.file("out.txt");
  ASSERT_TRUE(write_file_atomic(path, "old").ok());
  ASSERT_TRUE(write_file_atomic(path, "new contents").ok());
  EXPECT_EQ(*read_file(path), "new contents");
  EXPECT_EQ(count_files(dir.path()), 1u);
}

TEST(AtomicFile, FullDiskLeavesOldFileAndNoTemporary) {
  test::TempDir dir;
  auto path = dir.file("shard.bin");
  ASSERT_TRUE(write_file_atomic(path, "precious").ok());
  FullDiskEnv env(4);
  auto s = write_file_atomic(path, "this will not fit", env);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "disk full");
  EXPECT_EQ(*read_file(path), "precious");
  EXPECT_EQ(count_files(dir.path()), 1u);
}

TEST(AtomicFile, AbandonedWithoutCommitLeavesNothing) {
  test::TempDir dir;
  {
    auto f = AtomicFile::create(dir.file("x"));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->append("partial").ok());
  }
  EXPECT_EQ(count_files(dir.path()), 0u);
}

TEST(MappedFile, MapsContentsAndReportsMissingFile) {
  test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("a"), "hello").ok());
  auto m = MappedFile::open(dir.file("a"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->view(), "hello");
  auto missing = MappedFile::open(dir.file("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::not_found);
  EXPECT_NE(missing.error().message().find("nope"), std::string::npos);
}

// ---- hardening (issue 12, defects 6 and 15) ------------------------------------------------------

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> v;
  for (auto& e : std::filesystem::directory_iterator(dir)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

// A pid that no process has: a child that has exited and been reaped.
pid_t dead_pid() {
  pid_t p = fork();
  if (p == 0) _exit(0);
  waitpid(p, nullptr, 0);
  return p;
}

TEST(AtomicFileHardening, TemporaryNameIsUnpredictable) {
  test::TempDir dir;
  auto a = AtomicFile::create(dir.file("out"));
  auto b = AtomicFile::create(dir.file("out"));
  ASSERT_TRUE(a.ok() && b.ok());
  auto names = names_in(dir.path());
  ASSERT_EQ(names.size(), 2u);
  const std::regex form("out\\.tmp-" + std::to_string(getpid()) + "-[0-9a-f]{16}");
  for (const auto& n : names) EXPECT_TRUE(std::regex_match(n, form)) << n;
  EXPECT_NE(names[0], names[1]);
}

TEST(AtomicFileHardening, ExclusiveCreateNeverFollowsAPlantedSymlink) {
  test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("victim"), "precious").ok());
  ASSERT_EQ(symlink(dir.file("victim").c_str(), dir.file("trap").c_str()), 0);
  auto f = Env::posix().new_exclusive_file(dir.file("trap"));
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message().find("trap"), std::string::npos) << f.error().to_string();
  EXPECT_EQ(*read_file(dir.file("victim")), "precious");
  // An existing regular file is refused too (O_EXCL), not truncated.
  auto g = Env::posix().new_exclusive_file(dir.file("victim"));
  EXPECT_FALSE(g.ok());
  EXPECT_EQ(*read_file(dir.file("victim")), "precious");
}

TEST(AtomicFileHardening, ReplacedOutputKeepsItsMode) {
  test::TempDir dir;
  const std::string path = dir.file("model.gguf");
  ASSERT_TRUE(write_file_atomic(path, "v1").ok());
  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  ASSERT_TRUE(write_file_atomic(path, "v2").ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(*read_file(path), "v2");
  // Even a mode the umask would strip (0666 under 022) is kept exactly.
  ASSERT_EQ(chmod(path.c_str(), 0666), 0);
  ASSERT_TRUE(write_file_atomic(path, "v3").ok());
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u);
}

TEST(AtomicFileHardening, StaleTemporariesOfDeadWritersAreRemoved) {
  test::TempDir dir;
  const std::string out = dir.file("shard.bin");
  const pid_t dead = dead_pid();
  const std::string stale = fmt::format("{}.tmp-{}-0", out, dead);
  const std::string live = fmt::format("{}.tmp-{}-0", out, getppid());  // a running process
  const std::string other = fmt::format("{}.tmp-{}-0", dir.file("other.bin"), dead);
  const std::string link = fmt::format("{}.tmp-{}-1", out, dead);
  for (const auto& p : {stale, live, other}) ASSERT_TRUE(write_file_atomic(p, "x").ok());
  ASSERT_TRUE(write_file_atomic(dir.file("target"), "keep").ok());
  ASSERT_EQ(symlink(dir.file("target").c_str(), link.c_str()), 0);
  ASSERT_TRUE(write_file_atomic(out, "new").ok());
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(live));      // its writer may still finish
  EXPECT_TRUE(std::filesystem::exists(other));     // another output's business
  EXPECT_TRUE(std::filesystem::is_symlink(link));  // not ours: never removed
  EXPECT_EQ(*read_file(dir.file("target")), "keep");
}

// A writer killed by a signal mid-write: the handler removes its temporaries and the process
// still dies of the signal. SIGTERM here, because a test run in the background of a
// non-interactive shell inherits SIGINT ignored (tests/train/cli_test.cpp interrupts
// `fragua export` with SIGINT in a child that resets it).
TEST(AtomicFileHardening, SignalRemovesLiveTemporaries) {
  test::TempDir dir;
  pid_t pid = fork();
  if (pid == 0) {
    auto a = AtomicFile::create(dir.file("a.bin"));
    auto b = AtomicFile::create(dir.file("b.bin"));
    if (!a.ok() || !b.ok() || !a->append(std::string(1 << 20, 'x')).ok()) _exit(3);
    raise(SIGTERM);
    _exit(4);  // not reached
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_EQ(count_files(dir.path()), 0u);
}

TEST(FileLock, SecondHolderIsRefusedWithThePid) {
  test::TempDir dir;
  const std::string lock_path = dir.file(".lock");
  {
    auto first = FileLock::acquire(lock_path, "runs/x", "run");
    ASSERT_TRUE(first.ok()) << first.error().to_string();
    // flock belongs to an open file description: a second open in this process conflicts too.
    auto second = FileLock::acquire(lock_path, "runs/x", "run");
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().message(), fmt::format("runs/x is in use by another run (pid {})", getpid()));
    // From another process.
    pid_t pid = fork();
    if (pid == 0) _exit(FileLock::acquire(lock_path, "runs/x", "run").ok() ? 1 : 0);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  // Released with the object (and with the process, however it ends).
  EXPECT_TRUE(FileLock::acquire(lock_path, "runs/x", "run").ok());
  pid_t pid = fork();
  if (pid == 0) {
    auto held = FileLock::acquire(lock_path, "runs/x", "run");
    raise(SIGKILL);
  }
  waitpid(pid, nullptr, 0);
  EXPECT_TRUE(FileLock::acquire(lock_path, "runs/x", "run").ok());
}

}  // namespace
}  // namespace fragua

namespace fragua {
namespace {

TEST(Env, ListDirSortsNamesAndTellsDirectoriesWithoutFollowingSymlinks) {
  test::TempDir dir;
  ASSERT_TRUE(Env::posix().create_dirs(dir.file("b/inner")).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("c.txt"), "c").ok());
  ASSERT_TRUE(write_file_atomic(dir.file("a.txt"), "a").ok());
  ASSERT_EQ(::symlink(dir.file("b").c_str(), dir.file("link").c_str()), 0);
  auto entries = Env::posix().list_dir(dir.path());
  ASSERT_TRUE(entries.ok()) << entries.error().message();
  std::vector<std::string> names;
  for (const auto& e : *entries) names.push_back(e.name + (e.is_directory ? "/" : "") + (e.is_regular ? "" : "*"));
  // "*": not a regular file (the directory, and the symlink even though it points to one)
  EXPECT_EQ(names, (std::vector<std::string>{"a.txt", "b/*", "c.txt", "link*"}));
  EXPECT_TRUE(Env::posix().is_directory(dir.file("b")));
  EXPECT_TRUE(Env::posix().is_directory(dir.file("link")));  // stat follows, as documented
  EXPECT_FALSE(Env::posix().is_directory(dir.file("a.txt")));
  auto missing = Env::posix().list_dir(dir.file("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), ErrorCode::not_found);
  EXPECT_NE(missing.error().message().find(dir.file("nope")), std::string::npos);
}

TEST(Env, RemoveTreeRemovesEverythingBelowButNotThroughSymlinks) {
  test::TempDir dir, outside;
  ASSERT_TRUE(write_file_atomic(outside.file("keep"), "k").ok());
  ASSERT_TRUE(Env::posix().create_dirs(dir.file("t/a/b")).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("t/a/b/f"), "f").ok());
  ASSERT_TRUE(write_file_atomic(dir.file("t/g"), "g").ok());
  ASSERT_EQ(::symlink(outside.path().c_str(), dir.file("t/a/out").c_str()), 0);
  ASSERT_TRUE(remove_tree(dir.file("t")).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.file("t")));
  EXPECT_EQ(*read_file(outside.file("keep")), "k");
  EXPECT_TRUE(remove_tree(dir.file("t")).ok());  // already gone: nothing to do
  ASSERT_TRUE(Env::posix().remove_dir(dir.file("t")).error().code() == ErrorCode::not_found);
}

TEST(Env, RemoveTreeStopsAtAnInjectedFailureNamingThePath) {
  test::TempDir dir;
  ASSERT_TRUE(Env::posix().create_dirs(dir.file("t/x")).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("t/x/1"), "1").ok());
  ASSERT_TRUE(write_file_atomic(dir.file("t/y"), "y").ok());
  test::FaultEnv env;
  env.fail_remove = "t/y";
  auto s = remove_tree(dir.file("t"), env);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "injected remove failure: " + dir.file("t/y"));
  EXPECT_EQ(env.failures, 1);
  EXPECT_FALSE(std::filesystem::exists(dir.file("t/x")));  // sorted: x went before y
  EXPECT_TRUE(std::filesystem::exists(dir.file("t/y")));
  env.fail_remove.clear();
  env.fail_list = "t";
  s = remove_tree(dir.file("t"), env);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "injected list failure: " + dir.file("t"));
  EXPECT_TRUE(std::filesystem::exists(dir.file("t/y")));
}

}  // namespace
}  // namespace fragua
