// SPDX-License-Identifier: Apache-2.0
#include "fragua/format/gguf.h"

#include <cstring>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "bounded_run.h"
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
  ASSERT_EQ(test::run_command(
                test::python() + " " + test::source_dir() + "/tests/reference/format/gguf_dump.py " + path, &out),
            0)
      << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["metadata"]["general.architecture"], "llama");
  EXPECT_EQ(j["metadata"]["x.i32"], -7);
  EXPECT_EQ(j["metadata"]["tokenizer.ggml.tokens"][3], "▁hola");
  EXPECT_EQ(j["tensors"]["a.weight"]["shape"], nlohmann::json::array({4, 3}));
  EXPECT_EQ(j["tensors"]["a.weight"]["sum"].get<double>(), 9.0);  // sum of 0.5 i - 2 for i < 12
  EXPECT_EQ(j["tensors"]["b.weight"]["sum"].get<double>(), 64.0);
}

// ---- hardening (issue 12, defects 9, 10, 11) ------------------------------------------------------

// Hand-made GGUF bytes, for files our writer would never produce.
struct RawGguf {
  std::string kvs, tensors;
  uint64_t n_kv = 0, n_tensors = 0;
  template <typename T>
  static void put(std::string& out, T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  static void put_str(std::string& out, std::string_view s) {
    put<uint64_t>(out, s.size());
    out.append(s);
  }
  template <typename T>
  void kv(std::string_view key, GgufType type, T v) {
    put_str(kvs, key);
    put<uint32_t>(kvs, static_cast<uint32_t>(type));
    put<T>(kvs, v);
    ++n_kv;
  }
  void tensor(std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    put_str(tensors, name);
    put<uint32_t>(tensors, static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) put<uint64_t>(tensors, d);
    put<uint32_t>(tensors, type);
    put<uint64_t>(tensors, offset);
    ++n_tensors;
  }
  std::string bytes(uint64_t alignment = 32, std::string_view data = {}) const {
    std::string out = "GGUF";
    put<uint32_t>(out, 3);
    put<uint64_t>(out, n_tensors);
    put<uint64_t>(out, n_kv);
    out += kvs + tensors;
    out.resize((out.size() + alignment - 1) / alignment * alignment, '\0');
    return out.append(data);
  }
};

// f32 [2^40, 2^22] is 2^64 bytes: the unchecked row_size x rows wrapped to 0, so the tensor was
// listed as 0 bytes and passed the end-of-file check.
TEST(GgufHardening, TensorByteSizeOverflowIsAnError) {
  RawGguf g;
  g.kv("general.architecture", GgufType::u32, uint32_t{0});
  g.tensor("w", {uint64_t{1} << 40, uint64_t{1} << 22}, 0, 0);
  auto f = GgufFile::parse(g.bytes(), "wrap.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().code(), ErrorCode::corruption);
  const std::string m = f.error().message();
  EXPECT_NE(m.find("wrap.gguf: tensor 'w': f32 [1099511627776, 4194304] holds more than 2^64 bytes"), std::string::npos)
      << m;
  EXPECT_NE(m.find("(byte offset 60)"), std::string::npos) << m;
  // q8_0 [2^40, 2^22, ...]: the same through the block arithmetic.
  RawGguf q;
  q.tensor("q", {uint64_t{1} << 40, uint64_t{1} << 21, 2}, static_cast<uint32_t>(DType::q8_0), 0);
  EXPECT_FALSE(GgufFile::parse(q.bytes(), "q.gguf").ok());
  EXPECT_FALSE(tensor_bytes(DType::f32, std::vector<int64_t>{int64_t{1} << 40, int64_t{1} << 22}).has_value());
  EXPECT_EQ(tensor_bytes(DType::q8_0, std::vector<int64_t>{64, 3}), uint64_t{2 * 34 * 3});
  // The writer computed the same wrapped 0 and accepted 0 bytes of data for it.
  GgufWriter w;
  float x = 0;
  EXPECT_FALSE(w.add_tensor("w", {int64_t{1} << 40, int64_t{1} << 22}, DType::f32, &x, 0).ok());
}

std::string nested_empty_arrays(uint64_t n) {
  // key "x": an array of n arrays, each an empty array of u8 (12 bytes apiece in the file).
  std::string kv;
  RawGguf::put_str(kv, "x");
  RawGguf::put<uint32_t>(kv, static_cast<uint32_t>(GgufType::array));
  RawGguf::put<uint32_t>(kv, static_cast<uint32_t>(GgufType::array));
  RawGguf::put<uint64_t>(kv, n);
  for (uint64_t i = 0; i < n; ++i) {
    RawGguf::put<uint32_t>(kv, 0);
    RawGguf::put<uint64_t>(kv, 0);
  }
  RawGguf g;
  g.kvs = kv;
  g.n_kv = 1;
  return g.bytes();
}

// 48 MB of nested empty arrays took 690 MB (a GgufValue of ~170 bytes per 12 file bytes). The
// reader now charges every element's in-memory size against a 256 MiB budget before reserving.
TEST(GgufHardening, NestedEmptyArraysAreRefusedBeforeAllocating) {
  auto f = GgufFile::parse(nested_empty_arrays(4'000'000), "nested.gguf");
  ASSERT_FALSE(f.ok());
  const std::string m = f.error().message();
  EXPECT_NE(m.find("nested.gguf: key 'x': array of 4000000 array elements would take more than the 256 MiB"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("(byte offset 37)"), std::string::npos) << m;  // the array, after its key and type
  // A small nested array still reads, and deeper nesting than arrays of arrays is refused.
  ASSERT_TRUE(GgufFile::parse(nested_empty_arrays(3), "ok.gguf").ok());
  std::string deep;
  RawGguf::put_str(deep, "d");
  for (int i = 0; i < 3; ++i) {
    RawGguf::put<uint32_t>(deep, static_cast<uint32_t>(GgufType::array));
    if (i > 0) RawGguf::put<uint64_t>(deep, 1);
  }
  RawGguf::put<uint32_t>(deep, 0);  // u8 elements
  RawGguf::put<uint64_t>(deep, 1);
  RawGguf::put<uint64_t>(deep, 1);
  deep.push_back('\x07');
  RawGguf g;
  g.kvs = deep;
  g.n_kv = 1;
  auto d = GgufFile::parse(g.bytes(), "deep.gguf");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message().find("arrays nested too deeply"), std::string::npos) << d.error().message();
}

// Through the CLI: a clean error in bounded time and memory (before: 9.8 s, 804 MB peak, exit 0
// under ASan, the metadata listed as loaded).
TEST(GgufHardening, NestedArraysFileThroughTheCliIsBounded) {
  test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("nested.gguf"), nested_empty_arrays(4'000'000)).ok());
  auto r = test::run_bounded(test::cli_path() + " info " + dir.file("nested.gguf"), 60);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("nested.gguf: key 'x': array of 4000000 array elements"), std::string::npos) << r.output;
  // Measured 0.33 s and 58 MB peak (ASan): refused before the first element is read.
  EXPECT_LT(r.peak_rss_mb, 250);
}

// A count the file could hold (13 bytes per key/value at least) is still charged at its in-memory
// size (about 256 bytes with the index) before anything is reserved.
TEST(GgufHardening, MetadataCountIsChargedBeforeReserving) {
  RawGguf g;
  g.kv("a", GgufType::u8, uint8_t{1});
  std::string bytes = g.bytes();
  const uint64_t n = 1'500'000;
  bytes.append(13 * n - bytes.size() + 24, '\0');
  std::memcpy(&bytes[16], &n, 8);
  auto f = GgufFile::parse(bytes, "many.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message().find("metadata count 1500000 would take more than the 256 MiB"), std::string::npos)
      << f.error().message();
}

// general.alignment: llama.cpp writes u32, but any integer type holding a power of two is valid
// (an i32 64 was rejected); 0, non-powers of two, negatives and bools are errors with the offset.
TEST(GgufHardening, AlignmentOfAnyIntegerType) {
  auto with_alignment = [](auto write) {
    RawGguf g;
    write(g);
    g.tensor("w", {16}, 0, 0);
    return g.bytes(64, std::string(64, '\0'));
  };
  for (const auto& bytes :
       {with_alignment([](RawGguf& g) { g.kv("general.alignment", GgufType::i32, int32_t{64}); }),
        with_alignment([](RawGguf& g) { g.kv("general.alignment", GgufType::u64, uint64_t{64}); }),
        with_alignment([](RawGguf& g) { g.kv("general.alignment", GgufType::u16, uint16_t{64}); })}) {
    auto f = GgufFile::parse(bytes, "a.gguf");
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    EXPECT_EQ(f->alignment(), 64u);
    EXPECT_EQ(f->data_offset() % 64, 0u);
  }
  struct Bad {
    GgufType type;
    int64_t value;
  };
  // 1, 2 and 4 are powers of two, but would let an F16 tensor start at an odd address (a fuzzer
  // found it: fuzz/corpus/model_loader_fuzz/regression_alignment_below_8).
  for (Bad b : {Bad{GgufType::i32, 48}, Bad{GgufType::i32, 0}, Bad{GgufType::i32, -32}, Bad{GgufType::u32, 1 << 21},
                Bad{GgufType::boolean, 1}, Bad{GgufType::u32, 1}, Bad{GgufType::u32, 2}, Bad{GgufType::i32, 4}}) {
    RawGguf g;
    g.kv("general.name", GgufType::u8, uint8_t{0});
    if (b.type == GgufType::i32)
      g.kv("general.alignment", b.type, static_cast<int32_t>(b.value));
    else if (b.type == GgufType::u32)
      g.kv("general.alignment", b.type, static_cast<uint32_t>(b.value));
    else
      g.kv("general.alignment", b.type, static_cast<uint8_t>(b.value));
    auto f = GgufFile::parse(g.bytes(), "bad.gguf");
    ASSERT_FALSE(f.ok()) << b.value;
    EXPECT_NE(f.error().message().find("general.alignment must be an integer power of two from 8 to 1048576"),
              std::string::npos)
        << f.error().message();
    EXPECT_NE(f.error().message().find("(byte offset 49)"), std::string::npos) << f.error().message();
  }
}

}  // namespace
}  // namespace fragua::format
