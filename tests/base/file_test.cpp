#include "fragua/base/file.h"

#include <filesystem>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace fragua
