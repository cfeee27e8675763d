// SPDX-License-Identifier: Apache-2.0
// The streaming mode of GgufWriter: declared tensors filled by a source, one at a time.
#include <filesystem>

#include <gtest/gtest.h>

#include "fragua/format/gguf.h"
#include "test_util.h"

namespace fragua::format {
namespace {

// Two tensors of different types and an odd size, so that padding between them matters.
void declare_two(GgufWriter& g) {
  g.set("general.architecture", GgufValue::of_string("llama"));
  ASSERT_TRUE(g.declare_tensor("a", {3, 2}, DType::f32).ok());
  ASSERT_TRUE(g.declare_tensor("b", {5}, DType::f16).ok());
}

std::string bytes_of(size_t index, uint64_t n) {
  std::string s(n, '\0');
  for (uint64_t i = 0; i < n; ++i) s[i] = static_cast<char>(17 * index + i + 1);
  return s;
}

TEST(GgufWriterStreaming, SameFileAsTheBufferedWriter) {
  test::TempDir dir;
  GgufWriter streamed;
  declare_two(streamed);
  std::vector<size_t> asked;
  ASSERT_TRUE(streamed
                  .write_streaming(dir.file("s.gguf"),
                                   [&](size_t i, const GgufTensorInfo& info, std::string& out) {
                                     asked.push_back(i);
                                     out = bytes_of(i, info.n_bytes);
                                     return ok_status();
                                   })
                  .ok());
  EXPECT_EQ(asked, (std::vector<size_t>{0, 1}));  // in file order, once each

  const std::string a = bytes_of(0, 24), b = bytes_of(1, 10);
  GgufWriter buffered;
  buffered.set("general.architecture", GgufValue::of_string("llama"));
  ASSERT_TRUE(buffered.add_tensor("a", {3, 2}, DType::f32, a.data(), a.size()).ok());
  ASSERT_TRUE(buffered.add_tensor("b", {5}, DType::f16, b.data(), b.size()).ok());
  auto want = buffered.to_bytes();
  auto got = Env::posix().read_file(dir.file("s.gguf"));
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, want);

  auto f = GgufFile::open(dir.file("s.gguf"));
  ASSERT_TRUE(f.ok()) << f.error().message();
  ASSERT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->tensors()[1].data), 10), b);
}

TEST(GgufWriterStreaming, ASourceErrorOrWrongSizeLeavesNoFile) {
  test::TempDir dir;
  GgufWriter g;
  declare_two(g);
  const std::string path = dir.file("out.gguf");
  auto st = g.write_streaming(path, [](size_t i, const GgufTensorInfo& info, std::string& out) -> Status {
    if (i == 1) return corruption_error("shard.safetensors: tensor 'x' is bad");
    out.assign(info.n_bytes, 'x');
    return ok_status();
  });
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("tensor 'x' is bad"), std::string::npos) << st.error().message();
  st = g.write_streaming(path, [](size_t, const GgufTensorInfo& info, std::string& out) {
    out.assign(info.n_bytes - 1, 'x');
    return ok_status();
  });
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("tensor 'a': 23 bytes given, 24 declared"), std::string::npos)
      << st.error().message();
  // The buffered write refuses tensors that have no data.
  st = g.write(path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("'a' was declared without data"), std::string::npos) << st.error().message();
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) ADD_FAILURE() << "left " << e.path();
}

TEST(GgufWriterStreaming, DeclarationsAreCheckedAsAddTensorChecksThem) {
  GgufWriter g;
  EXPECT_FALSE(g.declare_tensor("r", {33}, DType::q8_0).ok());  // not a multiple of the block
  EXPECT_FALSE(g.declare_tensor("z", {4, 0}, DType::f32).ok());
  EXPECT_FALSE(g.declare_tensor("e", {}, DType::f32).ok());
  ASSERT_TRUE(g.declare_tensor("d", {32}, DType::q8_0).ok());
  EXPECT_FALSE(g.declare_tensor("d", {32}, DType::q8_0).ok());  // twice
}

}  // namespace
}  // namespace fragua::format
