// Helpers shared by the test executables.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace fragua::test {

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Path of ../shared/<rel> next to the source tree, or "" when it is absent.
std::string shared_path(const std::string& rel);
// Root of the source tree.
std::string source_dir();
// Path of the built `fragua` CLI ($FRAGUA_CLI, set by ctest).
std::string cli_path();
// The Python interpreter with Debian's numpy/torch: $FRAGUA_PYTHON, else /usr/bin/python3 (a
// pyenv or venv python3 first on PATH usually lacks them), else python3.
std::string python();
// Runs a shell command, returns its exit status and captures stdout+stderr into *output.
int run_command(const std::string& cmd, std::string* output = nullptr);

}  // namespace fragua::test

// Skips the current test with a message when ../shared data is missing.
#define FRAGUA_REQUIRE_SHARED(var, rel)                                                       \
  std::string var = ::fragua::test::shared_path(rel);                                       \
  if (var.empty()) GTEST_SKIP() << "../shared/" << (rel) << " is absent (fresh clone): skipped"
