// SPDX-License-Identifier: Apache-2.0
// The tiled causal attention (src/train/kernels/attention.cpp) against a direct float64
// evaluation of softmax(Q K^T / sqrt(HS)) V and its gradients, at a length that spans several
// query blocks with a tail, grouped-query heads and a head size that is not a multiple of the
// AVX-512 kernel's 16 lanes; both builds of the product (AVX-512 where present, portable loops)
// and bit-identical results whatever the thread count.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "fragua/train/kernels.h"

namespace fragua::train {
namespace {

struct AttnCase {
  int B = 2, T = 150, NH = 4, NKV = 2, HS = 24;
  std::vector<float> q, k, v, dout;
  size_t qn() const { return static_cast<size_t>(B) * T * NH * HS; }
  size_t kvn() const { return static_cast<size_t>(B) * T * NKV * HS; }
};

AttnCase make_attn_case() {
  AttnCase c;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  auto fill = [&](std::vector<float>& x, size_t n) {
    x.resize(n);
    for (auto& e : x) e = nd(rng);
  };
  fill(c.q, c.qn());
  fill(c.k, c.kvn());
  fill(c.v, c.kvn());
  fill(c.dout, c.qn());
  return c;
}

struct AttnResult {
  std::vector<double> out, dq, dk, dv;
};

// The definition, in float64, one (b, h, t) at a time.
AttnResult attn_reference(const AttnCase& c) {
  AttnResult r{std::vector<double>(c.qn()), std::vector<double>(c.qn()), std::vector<double>(c.kvn()),
               std::vector<double>(c.kvn())};
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.HS));
  auto qi = [&](int b, int t, int h) { return ((static_cast<size_t>(b) * c.T + t) * c.NH + h) * c.HS; };
  auto ki = [&](int b, int t, int g) { return ((static_cast<size_t>(b) * c.T + t) * c.NKV + g) * c.HS; };
  std::vector<double> p(c.T), dp(c.T);
  for (int b = 0; b < c.B; ++b)
    for (int h = 0; h < c.NH; ++h)
      for (int t = 0; t < c.T; ++t) {
        const int g = h / (c.NH / c.NKV);
        double mx = -1e300, sum = 0;
        for (int j = 0; j <= t; ++j) {
          double s = 0;
          for (int d = 0; d < c.HS; ++d) s += static_cast<double>(c.q[qi(b, t, h) + d]) * c.k[ki(b, j, g) + d];
          p[j] = s * scale;
          mx = std::max(mx, p[j]);
        }
        for (int j = 0; j <= t; ++j) sum += (p[j] = std::exp(p[j] - mx));
        for (int j = 0; j <= t; ++j) p[j] /= sum;
        double dot = 0;
        for (int j = 0; j <= t; ++j) {
          double s = 0;
          for (int d = 0; d < c.HS; ++d) {
            r.out[qi(b, t, h) + d] += p[j] * c.v[ki(b, j, g) + d];
            s += static_cast<double>(c.dout[qi(b, t, h) + d]) * c.v[ki(b, j, g) + d];
            r.dv[ki(b, j, g) + d] += p[j] * c.dout[qi(b, t, h) + d];
          }
          dp[j] = s;
          dot += p[j] * s;
        }
        for (int j = 0; j <= t; ++j) {
          const double ds = p[j] * (dp[j] - dot) * scale;
          for (int d = 0; d < c.HS; ++d) {
            r.dq[qi(b, t, h) + d] += ds * c.k[ki(b, j, g) + d];
            r.dk[ki(b, j, g) + d] += ds * c.q[qi(b, t, h) + d];
          }
        }
      }
  return r;
}

struct AttnGot {
  std::vector<float> out, lse, dq, dk, dv;
};

AttnGot attn_run(const AttnCase& c, bool use_blas, int threads) {
  ThreadPool pool(threads);
  KernelOptions opts{&pool, use_blas};
  AttnGot g{std::vector<float>(c.qn()), std::vector<float>(static_cast<size_t>(c.B) * c.NH * c.T),
            std::vector<float>(c.qn()), std::vector<float>(c.kvn()), std::vector<float>(c.kvn())};
  kernels::attention_forward(g.out.data(), g.lse.data(), c.q.data(), c.k.data(), c.v.data(), c.B, c.T, c.NH, c.NKV,
                             c.HS, opts);
  kernels::attention_backward(g.dq.data(), g.dk.data(), g.dv.data(), c.dout.data(), g.lse.data(), c.q.data(),
                              c.k.data(), c.v.data(), c.B, c.T, c.NH, c.NKV, c.HS, opts);
  return g;
}

// Largest |got - ref| over the largest |ref|.
double attn_rel_error(const std::vector<float>& got, const std::vector<double>& ref) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    worst = std::max(worst, std::abs(got[i] - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return worst / scale;
}

void check_attention(bool use_blas) {
  const AttnCase c = make_attn_case();
  const AttnResult ref = attn_reference(c);
  const AttnGot g = attn_run(c, use_blas, 2);
  // F32 sums of at most T * HS products: a few ulp of the largest value.
  EXPECT_LE(attn_rel_error(g.out, ref.out), 2e-6) << "out, blas=" << use_blas;
  EXPECT_LE(attn_rel_error(g.dq, ref.dq), 2e-6) << "dq, blas=" << use_blas;
  EXPECT_LE(attn_rel_error(g.dk, ref.dk), 2e-6) << "dk, blas=" << use_blas;
  EXPECT_LE(attn_rel_error(g.dv, ref.dv), 2e-6) << "dv, blas=" << use_blas;
  const AttnGot one = attn_run(c, use_blas, 1), three = attn_run(c, use_blas, 3);
  EXPECT_EQ(one.out, three.out);
  EXPECT_EQ(one.dq, three.dq);
  EXPECT_EQ(one.dk, three.dk);
  EXPECT_EQ(one.dv, three.dv);
  EXPECT_EQ(one.dq, g.dq);
}

TEST(TiledAttention, MatchesTheFloat64DefinitionFastKernel) { check_attention(true); }
TEST(TiledAttention, MatchesTheFloat64DefinitionPortableLoops) { check_attention(false); }

}  // namespace
}  // namespace fragua::train
