// SPDX-License-Identifier: Apache-2.0
// Split GGUF models (gguf-split's layout): names, opening every part from the first, and the
// errors for a missing, foreign or mislabelled part.
#include <filesystem>
#include <optional>

#include <gtest/gtest.h>

#include "format/gguf_split_fixture.h"
#include "fragua/format/gguf.h"
#include "test_util.h"

namespace fragua::format {
namespace {

TEST(GgufSplitName, FormatsAndParsesLlamaCppNames) {
  EXPECT_EQ(gguf_split_path("d/m-q4", 2, 3), "d/m-q4-00002-of-00003.gguf");
  auto n = parse_gguf_split_name("d/m-q4-00002-of-00003.gguf");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->prefix, "d/m-q4");
  EXPECT_EQ(n->no, 2);
  EXPECT_EQ(n->count, 3);
  for (const char* bad : {"m-00004-of-00003.gguf", "m-00000-of-00003.gguf", "m-0001-of-00003.gguf",
                          "m-00001-of-00003.bin", "m-00001_of-00003.gguf", "-00001-of-00003.gguf", "m.gguf",
                          "m-0000a-of-00003.gguf"})
    EXPECT_FALSE(parse_gguf_split_name(bad).has_value()) << bad;
}

// Seven tensors of four types and odd sizes (padding between them matters), plus metadata.
std::string write_whole(const test::TempDir& dir, std::vector<std::string>& keep) {
  GgufWriter w;
  w.set("general.architecture", GgufValue::of_string("llama"));
  w.set("llama.block_count", GgufValue::of_u32(3));
  const DType types[] = {DType::f32, DType::f16, DType::q8_0, DType::bf16};
  keep.clear();
  keep.reserve(7);
  for (int i = 0; i < 7; ++i) {
    const DType t = types[i % 4];
    const std::vector<int64_t> ne = {t == DType::q8_0 ? 64 : 5 + i, 2};
    const uint64_t n = row_size(t, ne[0]) * 2;
    std::string bytes(n, '\0');
    for (uint64_t k = 0; k < n; ++k) bytes[k] = static_cast<char>(31 * i + k);
    keep.push_back(std::move(bytes));
    EXPECT_TRUE(w.add_tensor("t" + std::to_string(i), ne, t, keep.back().data(), n).ok());
  }
  const std::string path = dir.file("whole.gguf");
  EXPECT_TRUE(w.write(path).ok());
  return path;
}

class GgufSplit : public ::testing::Test {
 protected:
  void SetUp() override {
    auto f = GgufFile::open(write_whole(dir_, keep_));
    ASSERT_TRUE(f.ok()) << f.error().message();
    whole_.emplace(std::move(*f));
  }
  std::vector<std::string> split(int n, const std::function<void(int, GgufWriter&)>& edit = {}) {
    auto paths = test::write_gguf_split(*whole_, dir_.file("m"), n, edit);
    EXPECT_TRUE(paths.ok()) << paths.error().message();
    return paths.ok() ? *paths : std::vector<std::string>{};
  }
  test::TempDir dir_;
  std::vector<std::string> keep_;
  std::optional<GgufFile> whole_;
};

TEST_F(GgufSplit, TheFirstPartOpensTheWholeModel) {
  const auto paths = split(3);
  ASSERT_EQ(paths.size(), 3u);
  EXPECT_EQ(paths[0], dir_.file("m-00001-of-00003.gguf"));
  auto f = GgufFile::open(paths[0]);
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_EQ(f->part_paths(), paths);
  EXPECT_EQ(*f->get_uint("llama.block_count"), 3u);
  ASSERT_EQ(f->tensors().size(), whole_->tensors().size());
  for (size_t i = 0; i < whole_->tensors().size(); ++i) {
    const auto& want = whole_->tensors()[i];
    const GgufTensorInfo* got = f->find_tensor(want.name);
    ASSERT_NE(got, nullptr) << want.name;
    EXPECT_EQ(got->ne, want.ne);
    EXPECT_EQ(got->dtype, want.dtype);
    ASSERT_EQ(got->n_bytes, want.n_bytes);
    EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(got->data), got->n_bytes),
              std::string_view(reinterpret_cast<const char*>(want.data), want.n_bytes))
        << want.name;
  }
  // A split of one part is an ordinary file.
  const auto one = split(1);
  auto g = GgufFile::open(one.at(0));
  ASSERT_TRUE(g.ok()) << g.error().message();
  EXPECT_EQ(g->tensors().size(), whole_->tensors().size());
  EXPECT_EQ(g->part_paths().size(), 1u);
}

TEST_F(GgufSplit, AMissingPartIsNamed) {
  const auto paths = split(3);
  std::filesystem::remove(paths[2]);
  auto f = GgufFile::open(paths[0]);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message().find("part 3 of 3 of the split model " + paths[0]), std::string::npos)
      << f.error().message();
  EXPECT_NE(f.error().message().find(paths[2]), std::string::npos) << f.error().message();
}

TEST_F(GgufSplit, APartOtherThanTheFirstPointsToTheFirst) {
  const auto paths = split(3);
  auto f = GgufFile::open(paths[1]);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code(), ErrorCode::invalid_argument);
  EXPECT_NE(f.error().message().find("part 2 of 3"), std::string::npos) << f.error().message();
  EXPECT_NE(f.error().message().find("m-00001-of-00003.gguf"), std::string::npos) << f.error().message();
}

TEST_F(GgufSplit, APartOfAnotherSplitIsRefused) {
  const auto paths = split(3, [](int part, GgufWriter& w) {
    if (part == 2) w.set("split.count", test::gguf_u16(4));
  });
  auto f = GgufFile::open(paths[0]);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code(), ErrorCode::corruption);
  EXPECT_NE(f.error().message().find(paths[2] + ": split.no 2 and split.count 4"), std::string::npos)
      << f.error().message();

  const auto renumbered = split(3, [](int part, GgufWriter& w) {
    if (part == 1) w.set("split.no", test::gguf_u16(2));
  });
  auto g = GgufFile::open(renumbered[0]);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message().find(renumbered[1] + ": split.no 2"), std::string::npos) << g.error().message();
}

TEST_F(GgufSplit, ARepeatedTensorOrAWrongTotalIsCorruption) {
  const auto paths = split(3, [this](int part, GgufWriter& w) {
    if (part == 2) {
      const auto& t = whole_->tensors()[0];
      EXPECT_TRUE(w.add_tensor(t.name, t.ne, t.dtype, t.data, t.n_bytes).ok());
    }
  });
  auto f = GgufFile::open(paths[0]);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message().find(paths[2] + ": tensor 't0' is also in an earlier part"), std::string::npos)
      << f.error().message();

  const auto counted = split(3, [](int part, GgufWriter& w) {
    if (part == 0) w.set("split.tensors.count", GgufValue::of_i32(8));
  });
  auto g = GgufFile::open(counted[0]);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().message().find("split.tensors.count is 8 but the 3 parts hold 7 tensors"), std::string::npos)
      << g.error().message();
}

TEST_F(GgufSplit, AFirstPartUnderAnotherNameCannotFindTheRest) {
  const auto paths = split(2);
  const std::string renamed = dir_.file("renamed.gguf");
  std::filesystem::rename(paths[0], renamed);
  auto f = GgufFile::open(renamed);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message().find("should end in -00001-of-00002.gguf"), std::string::npos)
      << f.error().message();
}

}  // namespace
}  // namespace fragua::format
