// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the test executables.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>

#include "fragua/base/file.h"

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
// A small model file of tests/reference/model/golden/ (written by the PyTorch reference scripts).
inline std::string golden_model(const std::string& name) { return source_dir() + "/tests/reference/model/golden/" + name; }
// Writes `data` to `path`, creating the parent folders (test fixtures; no atomicity needed).
void write_test_file(const std::string& path, const std::string& data);
// Path of the built `fragua` CLI ($FRAGUA_CLI, set by ctest).
std::string cli_path();
// The Python interpreter with Debian's numpy/torch: $FRAGUA_PYTHON, else /usr/bin/python3 (a
// pyenv or venv python3 first on PATH usually lacks them), else python3.
std::string python();
// Runs a shell command, returns its exit status and captures stdout+stderr into *output.
int run_command(const std::string& cmd, std::string* output = nullptr);
// Whether python() imports torch and numpy (the float64 references need them); asked once per
// test program (importing torch takes seconds).
bool python_has_torch();

// An Env whose writes fail once `budget` bytes have been written: a full disk.
class FullDiskEnv : public Env {
 public:
  explicit FullDiskEnv(size_t budget) : budget_(budget) {}
  class File : public WritableFile {
   public:
    File(std::unique_ptr<WritableFile> f, size_t* budget) : f_(std::move(f)), budget_(budget) {}
    Status append(std::string_view d) override {
      if (d.size() > *budget_) return io_error("disk full");
      *budget_ -= d.size();
      return f_->append(d);
    }
    Status sync() override { return f_->sync(); }
    Status close() override { return f_->close(); }
    std::unique_ptr<WritableFile> f_;
    size_t* budget_;
  };
  Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& p, bool a) override {
    auto f = FRAGUA_TRY(Env::posix().new_writable_file(p, a));
    return std::unique_ptr<WritableFile>(new File(std::move(f), &budget_));
  }
  Result<std::string> read_file(const std::string& p) override { return Env::posix().read_file(p); }
  Status rename_file(const std::string& a, const std::string& b) override { return Env::posix().rename_file(a, b); }
  Status remove_file(const std::string& p) override { return Env::posix().remove_file(p); }
  bool file_exists(const std::string& p) override { return Env::posix().file_exists(p); }
  Result<uint64_t> file_size(const std::string& p) override { return Env::posix().file_size(p); }
  Status create_dirs(const std::string& p) override { return Env::posix().create_dirs(p); }
  Result<std::vector<DirEntry>> list_dir(const std::string& p) override { return Env::posix().list_dir(p); }
  bool is_directory(const std::string& p) override { return Env::posix().is_directory(p); }
  Status remove_dir(const std::string& p) override { return Env::posix().remove_dir(p); }
  size_t budget_;
};

// An Env over the POSIX one that fails chosen operations, for fault-injection tests. Each
// `fail_*` pattern, when not empty, fails that operation on every path containing it (for a
// rename: either path) with an io error "injected <op> failure: <path>"; appends fail with "disk
// full" once `write_budget` bytes have been written. `failures` counts the injected failures, so a
// test can assert that the fault was reached.
class FaultEnv : public Env {
 public:
  size_t write_budget = SIZE_MAX;
  std::string fail_create, fail_rename, fail_read, fail_list, fail_remove, fail_mkdir;
  int failures = 0;

  Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& p, bool a) override {
    FRAGUA_TRY(check("create", fail_create, p));
    auto f = FRAGUA_TRY(Env::posix().new_writable_file(p, a));
    return std::unique_ptr<WritableFile>(new FullDiskEnv::File(std::move(f), &write_budget));
  }
  Result<std::unique_ptr<WritableFile>> new_exclusive_file(const std::string& p, int mode) override {
    FRAGUA_TRY(check("create", fail_create, p));
    auto f = FRAGUA_TRY(Env::posix().new_exclusive_file(p, mode));
    return std::unique_ptr<WritableFile>(new FullDiskEnv::File(std::move(f), &write_budget));
  }
  Result<std::string> read_file(const std::string& p) override {
    FRAGUA_TRY(check("read", fail_read, p));
    return Env::posix().read_file(p);
  }
  Status rename_file(const std::string& a, const std::string& b) override {
    FRAGUA_TRY(check("rename", fail_rename, a));
    FRAGUA_TRY(check("rename", fail_rename, b));
    return Env::posix().rename_file(a, b);
  }
  Status remove_file(const std::string& p) override {
    FRAGUA_TRY(check("remove", fail_remove, p));
    return Env::posix().remove_file(p);
  }
  bool file_exists(const std::string& p) override { return Env::posix().file_exists(p); }
  Result<uint64_t> file_size(const std::string& p) override { return Env::posix().file_size(p); }
  Status create_dirs(const std::string& p) override {
    FRAGUA_TRY(check("mkdir", fail_mkdir, p));
    return Env::posix().create_dirs(p);
  }
  Result<std::vector<DirEntry>> list_dir(const std::string& p) override {
    FRAGUA_TRY(check("list", fail_list, p));
    return Env::posix().list_dir(p);
  }
  bool is_directory(const std::string& p) override { return Env::posix().is_directory(p); }
  Status remove_dir(const std::string& p) override {
    FRAGUA_TRY(check("remove", fail_remove, p));
    return Env::posix().remove_dir(p);
  }

 private:
  Status check(const char* op, const std::string& pattern, const std::string& path) {
    if (pattern.empty() || path.find(pattern) == std::string::npos) return {};
    ++failures;
    return io_error("injected {} failure: {}", op, path);
  }
};

// gzip (RFC 1952) of s, for tests of readers of .gz inputs.
inline std::string gzip(const std::string& s) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(static_cast<uLong>(s.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  zs.avail_in = static_cast<uInt>(s.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace fragua::test

// Skips the current test with a message when ../shared data is missing.
#define FRAGUA_REQUIRE_SHARED(var, rel)               \
  std::string var = ::fragua::test::shared_path(rel); \
  if (var.empty()) GTEST_SKIP() << "../shared/" << (rel) << " is absent (fresh clone): skipped"
