// SPDX-License-Identifier: Apache-2.0
// serve/audit.h: JSON lines appended by the writer thread, rotation to FILE.1 ... FILE.keep, and
// failures counted rather than fatal.
#include "serve/audit.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace fragua::serve {
namespace {

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(nlohmann::json::parse(line, nullptr, false));
    EXPECT_FALSE(out.back().is_discarded()) << path << ": " << line;
  }
  return out;
}

bool exists(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0;
}

TEST(AuditLog, AppendsOneJsonObjectPerLine) {
  fragua::test::TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  {
    auto log = AuditLog::open({path, 1 << 20, 2});
    ASSERT_TRUE(log.ok()) << log.error().to_string();
    for (int i = 0; i < 50; ++i) (*log)->append(nlohmann::json{{"i", i}, {"text", "línea"}}.dump());
    (*log)->flush();
    EXPECT_EQ((*log)->lines_written(), 50u);
    EXPECT_EQ((*log)->failures(), 0u);
  }
  // Reopened: appended to, not truncated.
  {
    auto log = AuditLog::open({path, 1 << 20, 2});
    ASSERT_TRUE(log.ok());
    (*log)->append(R"({"i": 50})");
  }  // the destructor writes what is queued
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 51u);
  for (int i = 0; i <= 50; ++i) EXPECT_EQ(lines[static_cast<size_t>(i)]["i"], i);
}

TEST(AuditLog, RotatesBySizeAndKeepsNFiles) {
  fragua::test::TempDir dir;
  const std::string path = dir.file("audit.jsonl");
  auto log = AuditLog::open({path, 1000, 2});
  ASSERT_TRUE(log.ok());
  const std::string pad(90, 'x');
  for (int i = 0; i < 100; ++i) (*log)->append(nlohmann::json{{"i", i}, {"pad", pad}}.dump());
  (*log)->flush();
  EXPECT_TRUE(exists(path + ".1"));
  EXPECT_TRUE(exists(path + ".2"));
  EXPECT_FALSE(exists(path + ".3"));
  // Newest in FILE, older in FILE.1, oldest kept in FILE.2; each file under the size plus a line.
  const auto now = read_lines(path), one = read_lines(path + ".1"), two = read_lines(path + ".2");
  ASSERT_FALSE(one.empty());
  ASSERT_FALSE(two.empty());
  EXPECT_EQ(one.size(), two.size());
  EXPECT_LT(two.back()["i"].get<int>(), one.front()["i"].get<int>());
  if (!now.empty()) EXPECT_LT(one.back()["i"].get<int>(), now.front()["i"].get<int>());
  const int last = now.empty() ? one.back()["i"].get<int>() : now.back()["i"].get<int>();
  EXPECT_EQ(last, 99);
}

TEST(AuditLog, ErrorsNameTheFileAndWriteFailuresAreCounted) {
  auto bad = AuditLog::open({"/nonexistent-dir/audit.jsonl", 1 << 20, 1});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("/nonexistent-dir/audit.jsonl"), std::string::npos);
  // /dev/full accepts the open and fails every write with ENOSPC: counted, no crash.
  if (!exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  auto full = AuditLog::open({"/dev/full", 1ull << 40, 0});
  ASSERT_TRUE(full.ok());
  for (int i = 0; i < 3; ++i) (*full)->append("{}");
  (*full)->flush();
  EXPECT_EQ((*full)->failures(), 3u);
  EXPECT_EQ((*full)->lines_written(), 0u);
}

}  // namespace
}  // namespace fragua::serve
