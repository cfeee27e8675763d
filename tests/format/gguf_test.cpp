#include "fragua/format/gguf.h"

#include <cstring>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace fragua::format {
namespace {

GgufWriter sample_writer(std::vector<float>& w, std::vector<uint16_t>& h) {
  GgufWriter g;
  g.set("general.architecture", GgufValue::of_string("llama"));
  g.set("llama.block_count", GgufValue::of_u32(2));
  g.set("llama.rope.freq_base", GgufValue::of_f32(10000.0f));
  g.set("x.i32", GgufValue::of_i32(-7));
  g.set("x.u64", GgufValue::of_u64(uint64_t{1} << 40));
  g.set("x.bool", GgufValue::of_bool(true));
  g.set("tokenizer.ggml.tokens", GgufValue::of_strings({"<unk>", "<s>", "</s>", "▁hola", "ñ"}));
  g.set("tokenizer.ggml.scores", GgufValue::of_f32s({0.f, 0.f, 0.f, -1.5f, -2.25f}));
  g.set("tokenizer.ggml.token_type", GgufValue::of_i32s({2, 3, 3, 1, 1}));
  GgufValue nested;
  nested.type = GgufType::array;
  nested.elem_type = GgufType::array;
  nested.values = {GgufValue::of_i32s({1, 2}), GgufValue::of_i32s({3})};
  g.set("x.nested", nested);
  w.resize(4 * 3);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.5f * static_cast<float>(i) - 2.0f;
  h.assign(64, 0x3C00);  // f16 1.0
  EXPECT_TRUE(g.add_tensor("a.weight", {4, 3}, DType::f32, w.data(), w.size() * 4).ok());
  EXPECT_TRUE(g.add_tensor("b.weight", {64}, DType::f16, h.data(), h.size() * 2).ok());
  return g;
}

TEST(Gguf, WriteThenReadRoundTrip) {
  std::vector<float> w;
  std::vector<uint16_t> h;
  auto g = sample_writer(w, h);
  test::TempDir dir;
  auto path = dir.file("m.gguf");
  ASSERT_TRUE(g.write(path).ok());
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(*f->get_string("general.architecture"), "llama");
  EXPECT_EQ(*f->get_uint("llama.block_count"), 2u);
  EXPECT_DOUBLE_EQ(*f->get_float("llama.rope.freq_base"), 10000.0);
  EXPECT_EQ(*f->get_int("x.i32"), -7);
  EXPECT_EQ(*f->get_uint("x.u64"), uint64_t{1} << 40);
  EXPECT_TRUE(*f->get_bool("x.bool"));
  auto toks = f->get_strings("tokenizer.ggml.tokens");
  ASSERT_TRUE(toks.ok());
  EXPECT_EQ((**toks)[3], "▁hola");
  EXPECT_EQ((**f->get_floats("tokenizer.ggml.scores"))[4], -2.25);
  EXPECT_EQ((**f->get_ints("tokenizer.ggml.token_type"))[0], 2);
  ASSERT_NE(f->find("x.nested"), nullptr);
  EXPECT_EQ(f->find("x.nested")->values[1].ints[0], 3);
  ASSERT_EQ(f->tensors().size(), 2u);
  const auto* a = f->find_tensor("a.weight");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->ne, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(a->n_bytes, 48u);
  EXPECT_EQ(0, std::memcmp(a->data, w.data(), 48));
  EXPECT_EQ((f->data_offset() + f->find_tensor("b.weight")->offset) % 32, 0u);
  // Typed getters explain what is wrong.
  auto bad = f->get_string("llama.block_count");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("is u32 but a string was expected"), std::string::npos);
  auto miss = f->get_uint("llama.nope");
  ASSERT_FALSE(miss.ok());
  EXPECT_EQ(miss.error().code(), ErrorCode::not_found);
  EXPECT_EQ(*f->get_uint_or("llama.nope", 9), 9u);
}

TEST(Gguf, EveryTruncationIsAnErrorNotACrash) {
  std::vector<float> w;
  std::vector<uint16_t> h;
  std::string bytes = sample_writer(w, h).to_bytes();
  ASSERT_TRUE(GgufFile::parse(bytes).ok());
  for (size_t n = 0; n < bytes.size(); ++n) {
    // Copy into an exact-size heap buffer so ASan catches any read past the end.
    std::unique_ptr<char[]> buf(new char[n + 1]);
    std::memcpy(buf.get(), bytes.data(), n);
    auto f = GgufFile::parse(std::string_view(buf.get(), n), "cut.gguf");
    EXPECT_FALSE(f.ok()) << "accepted a file cut at " << n << " bytes";
    if (!f.ok()) {
      EXPECT_EQ(f.error().message().rfind("cut.gguf", 0), 0u);
    }
  }
}

template <typename T>
void poke(std::string& s, size_t at, T v) {
  std::memcpy(&s[at], &v, sizeof v);
}

TEST(Gguf, LyingHeadersAreRejectedWithOffsets) {
  std::vector<float> w;
  std::vector<uint16_t> h;
  const std::string good = sample_writer(w, h).to_bytes();
  {
    std::string s = good;
    s[0] = 'X';
    auto f = GgufFile::parse(s, "m.gguf");
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message().find("not a GGUF file"), std::string::npos);
  }
  {
    std::string s = good;
    poke<uint32_t>(s, 4, 99);
    auto f = GgufFile::parse(s);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().code(), ErrorCode::unsupported);
  }
  {
    std::string s = good;
    poke<uint64_t>(s, 16, uint64_t{1} << 60);  // metadata count
    auto f = GgufFile::parse(s);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message().find("metadata count"), std::string::npos);
  }
  {
    std::string s = good;
    poke<uint64_t>(s, 8, 1000000);  // tensor count
    EXPECT_FALSE(GgufFile::parse(s).ok());
  }
  {
    // First key length claims more bytes than the file has.
    std::string s = good;
    poke<uint64_t>(s, 24, uint64_t{1} << 50);
    auto f = GgufFile::parse(s);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message().find("byte offset 24"), std::string::npos);
  }
  {
    // Drop the last data bytes: the second tensor runs past the end.
    std::string s = good.substr(0, good.size() - 100);
    auto f = GgufFile::parse(s);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message().find("runs past the end"), std::string::npos);
  }
}

TEST(Gguf, WriterRejectsInconsistentTensors) {
  GgufWriter g;
  float x[8] = {};
  EXPECT_FALSE(g.add_tensor("t", {8}, DType::f32, x, 16).ok());
  EXPECT_FALSE(g.add_tensor("q", {8}, DType::q8_0, x, 32).ok());  // 8 is not a multiple of 32
  EXPECT_TRUE(g.add_tensor("t", {8}, DType::f32, x, 32).ok());
  EXPECT_FALSE(g.add_tensor("t", {8}, DType::f32, x, 32).ok());
}

// Independent check: a GGUF parser written in Python from the specification reads what our
// writer wrote and reports the same metadata and tensor table.
TEST(Gguf, IndependentPythonReaderAgrees) {
  if (test::run_command(test::python() + " -c 'import numpy'") != 0) GTEST_SKIP() << "python3 with numpy not available";
  std::vector<float> w;
  std::vector<uint16_t> h;
  test::TempDir dir;
  auto path = dir.file("m.gguf");
  ASSERT_TRUE(sample_writer(w, h).write(path).ok());
  std::string out;
  ASSERT_EQ(test::run_command(test::python() + " " + test::source_dir() + "/tests/reference/format/gguf_dump.py " + path, &out), 0)
      << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["metadata"]["general.architecture"], "llama");
  EXPECT_EQ(j["metadata"]["x.i32"], -7);
  EXPECT_EQ(j["metadata"]["tokenizer.ggml.tokens"][3], "▁hola");
  EXPECT_EQ(j["tensors"]["a.weight"]["shape"], nlohmann::json::array({4, 3}));
  EXPECT_EQ(j["tensors"]["a.weight"]["sum"].get<double>(), 9.0);  // sum of 0.5 i - 2 for i < 12
  EXPECT_EQ(j["tensors"]["b.weight"]["sum"].get<double>(), 64.0);
}

}  // namespace
}  // namespace fragua::format
