// SPDX-License-Identifier: Apache-2.0
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "fragua/base/progress.h"
#include "test_util.h"

namespace fragua::test {

TempDir::TempDir() {
  std::random_device rd;
  auto base = std::filesystem::temp_directory_path();
  for (;;) {
    auto p = base / ("fragua-test-" + std::to_string(rd()));
    if (std::filesystem::create_directory(p)) {
      path_ = p.string();
      break;
    }
  }
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string source_dir() {
  if (const char* s = std::getenv("FRAGUA_SOURCE_DIR")) return s;
  return FRAGUA_SOURCE_DIR;
}

void write_test_file(const std::string& path, const std::string& data) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  std::ofstream f(path, std::ios::binary);
  f << data;
}

std::string shared_path(const std::string& rel) {
  std::string root = std::getenv("FRAGUA_SHARED_DIR") ? std::getenv("FRAGUA_SHARED_DIR") : source_dir() + "/../shared";
  std::string p = root + "/" + rel;
  return std::filesystem::exists(p) ? p : "";
}

std::string cli_path() {
  if (const char* s = std::getenv("FRAGUA_CLI")) return s;
  return source_dir() + "/build/release/fragua";
}

std::string python() {
  if (const char* p = std::getenv("FRAGUA_PYTHON")) return p;
  if (std::filesystem::exists("/usr/bin/python3")) return "/usr/bin/python3";
  return "python3";
}

int run_command(const std::string& cmd, std::string* output) {
  std::string full = cmd + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf;
  std::string out;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  if (output) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool python_has_torch() {
  static const bool has = run_command(python() + " -c 'import torch, numpy'") == 0;
  return has;
}

}  // namespace fragua::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  fragua::ProgressBar::set_enabled(false);
  return RUN_ALL_TESTS();
}
