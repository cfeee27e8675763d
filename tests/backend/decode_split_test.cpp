// SPDX-License-Identifier: Apache-2.0
// The row chunks the threads take at decode (cpu::decode_chunk_rows): whole panels, at most
// kDecodeChunkBytes of a large matrix such as a 256k-token output head, and the same bits as one
// thread when the cap splits a matrix finer than four chunks per thread.
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "backend/cpu/cpu_matmul.h"
#include "fragua/tensor/blocks.h"
#include "fragua/tensor/half.h"

namespace fragua::cpu {
namespace {

TEST(DecodeChunks, WholePanelsAndBoundedBytes) {
  // The 3B-256k head (256,000 rows of 3072 Q6_K values, 2520 bytes each), a 3B layer matrix and
  // small matrices, on 1 to 8 threads.
  const struct {
    int64_t m;
    size_t row_bytes;
  } shapes[] = {{256000, 2520}, {8192, 1728}, {3072, 1728}, {48, 3264}, {16, 100}, {1, 100}, {100000, 1 << 22}};
  for (const auto& s : shapes)
    for (int nth : {1, 2, 3, 8}) {
      const int64_t c = decode_chunk_rows(s.m, s.row_bytes, nth);
      EXPECT_EQ(c % 16, 0) << s.m << " rows, " << nth << " threads";
      EXPECT_GE(c, 16);
      // At most the byte cap unless one panel is larger; never more than about m / (4 nth).
      if (16 * s.row_bytes <= kDecodeChunkBytes) {
        EXPECT_LE(static_cast<size_t>(c) * s.row_bytes, kDecodeChunkBytes) << s.m << " rows, " << nth;
      }
      EXPECT_LE(c, std::max<int64_t>(16, (s.m / (4 * nth) + 15) / 16 * 16));
    }
  // The head is split into hundreds of chunks, so both threads stream until its end.
  EXPECT_GE(256000 / decode_chunk_rows(256000, 2520, 2), 200);
  // Below the cap the split is the former one: about four chunks per thread.
  EXPECT_EQ(decode_chunk_rows(3072, 1728, 2), 384);
}

TEST(DecodeChunks, CappedSplitGivesTheBitsOfOneThread) {
  // A Q8_0 matrix of 17.8 MB, over 8 chunks of the cap: 2 threads take byte-capped chunks (and a
  // shorter last one), 3 threads the quarter-per-thread ones; packed and in the file's rows.
  const int64_t m = 4096, k = 4096;
  const size_t ws = row_size(DType::q8_0, k);
  ASSERT_GT(static_cast<size_t>(m) * ws, 8 * kDecodeChunkBytes);
  ASSERT_LT(decode_chunk_rows(m, ws, 2), m / 8);
  std::mt19937 rng(131);
  std::vector<uint8_t> w(ws * static_cast<size_t>(m));
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : w) b = static_cast<uint8_t>(byte(rng));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (size_t off = 0; off < w.size(); off += sizeof(tensor::BlockQ8_0)) {
    const uint16_t h = fp32_to_fp16(nd(rng) * 0.01f);
    std::memcpy(&w[off], &h, 2);
  }
  std::vector<uint8_t> packed(w.size());
  pack_weights(DType::q8_0, w.data(), m, k, packed.data());
  std::vector<float> x(static_cast<size_t>(k));
  for (auto& v : x) v = nd(rng);
  ThreadPool pool1(1), pool2(2), pool3(3);
  std::vector<float> want(static_cast<size_t>(m));
  matmul(w.data(), DType::q8_0, m, k, x.data(), 1, want.data(), pool1);
  for (ThreadPool* pool : {&pool2, &pool3}) {
    std::vector<float> got(want.size(), -1.0f), got_packed(want.size(), -1.0f);
    matmul(w.data(), DType::q8_0, m, k, x.data(), 1, got.data(), *pool);
    matmul(packed.data(), DType::q8_0, m, k, x.data(), 1, got_packed.data(), *pool, kPanels16);
    EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * 4)) << pool->size() << " threads";
    EXPECT_EQ(0, std::memcmp(got_packed.data(), want.data(), want.size() * 4)) << pool->size() << " threads, packed";
  }
}

// cpu::matvecs: the chunks of several products in one parallel region give each the bits of
// matmul on one thread, whatever the thread count, including three products of one input in the
// same form (a layer's q, k and v), which share one conversion of it; a job of three rows, and a
// call of more than eight jobs, go through matmul, with the same bits.
TEST(DecodeChunks, MatvecsGiveEachProductTheBitsOfOneThread) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t k = 512;
  const struct {
    DType t;
    int64_t m, n;
    int x;
  } specs[] = {{DType::q4_0, 272, 1, 0}, {DType::q8_0, 96, 1, 0}, {DType::q6_k, 64, 2, 1},
               {DType::q8_0, 48, 3, 2},  {DType::q4_0, 64, 1, 0},  {DType::q8_0, 32, 1, 0}};  // three share x0's Q8_0 form
  std::vector<std::vector<uint8_t>> packed;
  std::vector<std::vector<float>> xs(3);
  for (const auto& sp : specs) {
    const size_t ws = row_size(sp.t, k);
    std::vector<uint8_t> w(ws * static_cast<size_t>(sp.m));
    for (auto& b : w) b = static_cast<uint8_t>(byte(rng));
    const DTypeTraits* tr = dtype_traits(sp.t);
    std::vector<float> f(static_cast<size_t>(k));
    for (int64_t r = 0; r < sp.m; ++r) {  // finite scales: the rows of real quantization
      for (auto& v : f) v = nd(rng);
      tr->from_float_ref(f.data(), w.data() + r * ws, k);
    }
    packed.emplace_back(w.size());
    pack_weights(sp.t, w.data(), sp.m, k, packed.back().data());
    auto& x = xs[static_cast<size_t>(sp.x)];
    if (x.empty()) {
      x.resize(static_cast<size_t>(sp.n * k));
      for (auto& v : x) v = nd(rng);
    }
  }
  ThreadPool pool1(1), pool2(2), pool3(3);
  std::vector<std::vector<float>> want;
  for (size_t i = 0; i < std::size(specs); ++i) {
    want.emplace_back(static_cast<size_t>(specs[i].n * specs[i].m));
    matmul(packed[i].data(), specs[i].t, specs[i].m, k, xs[static_cast<size_t>(specs[i].x)].data(), specs[i].n,
           want.back().data(), pool1, kPanels16);
  }
  for (size_t copies : {size_t{1}, size_t{2}}) {  // 6 jobs, then 12
    for (ThreadPool* pool : {&pool1, &pool2, &pool3}) {
      std::vector<std::vector<float>> got;
      std::vector<MatvecJob> jobs;
      for (size_t c = 0; c < copies; ++c)
        for (size_t i = 0; i < std::size(specs); ++i) got.emplace_back(want[i].size(), std::nanf(""));
      for (size_t c = 0; c < copies; ++c)
        for (size_t i = 0; i < std::size(specs); ++i)
          jobs.push_back({packed[i].data(), specs[i].t, specs[i].m, k, xs[static_cast<size_t>(specs[i].x)].data(),
                          specs[i].n, got[c * std::size(specs) + i].data(), kPanels16});
      matvecs(jobs, *pool);
      for (size_t j = 0; j < jobs.size(); ++j) {
        const auto& w = want[j % std::size(specs)];
        EXPECT_EQ(0, std::memcmp(got[j].data(), w.data(), w.size() * 4))
            << "job " << j << " of " << jobs.size() << ", " << pool->size() << " threads";
      }
    }
  }
}

}  // namespace
}  // namespace fragua::cpu
