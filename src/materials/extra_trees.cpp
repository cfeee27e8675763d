// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/extra_trees.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "fragua/base/thread_pool.h"

namespace fragua::materials {

namespace {

constexpr char kMagic[8] = {'F', 'R', 'G', 'X', 'T', 'R', 'E', '1'};

// splitmix64: a small, fully specified generator, so that a forest is the same on every platform
// and standard library.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

// Column-major training data with missing values imputed.
struct Columns {
  size_t n = 0, d = 0;
  std::vector<float> v;  // v[j * n + i]
  const float* col(size_t j) const { return v.data() + j * n; }
};

ExtraTreesClassifier::Tree grow(const Columns& c, const std::vector<uint8_t>& y, int k_features,
                                int min_samples_split, uint64_t seed) {
  ExtraTreesClassifier::Tree t;
  Rng rng{seed};
  std::vector<uint32_t> idx(c.n);
  std::iota(idx.begin(), idx.end(), 0u);
  std::vector<uint32_t> feats(c.d);
  std::iota(feats.begin(), feats.end(), 0u);
  auto add_node = [&] {
    t.feature.push_back(-1);
    t.left.push_back(-1);
    t.right.push_back(-1);
    t.threshold.push_back(0);
    t.value.push_back(0);
    return static_cast<int32_t>(t.feature.size() - 1);
  };
  struct Job {
    int32_t node;
    size_t lo, hi;
  };
  std::vector<Job> stack{{add_node(), 0, c.n}};
  while (!stack.empty()) {
    const Job j = stack.back();
    stack.pop_back();
    const size_t n = j.hi - j.lo;
    size_t ones = 0;
    for (size_t i = j.lo; i < j.hi; ++i) ones += y[idx[i]];
    t.value[j.node] = static_cast<float>(static_cast<double>(ones) / static_cast<double>(n));
    if (ones == 0 || ones == n || n < static_cast<size_t>(min_samples_split)) continue;
    // Draw features without replacement until k non-constant ones were tried or none are left.
    double best_score = -1;
    int32_t best_f = -1;
    float best_t = 0;
    int tried = 0;
    for (size_t drawn = 0; drawn < c.d && tried < k_features; ++drawn) {
      std::swap(feats[drawn], feats[drawn + rng.below(c.d - drawn)]);
      const float* col = c.col(feats[drawn]);
      float lo = col[idx[j.lo]], hi = lo;
      for (size_t i = j.lo + 1; i < j.hi; ++i) {
        lo = std::min(lo, col[idx[i]]);
        hi = std::max(hi, col[idx[i]]);
      }
      if (!(hi > lo)) continue;  // constant in this node
      ++tried;
      float thr = static_cast<float>(lo + rng.uniform() * (static_cast<double>(hi) - lo));
      if (!(thr < hi)) thr = lo;  // rounding reached the maximum: keep both sides non-empty
      size_t nl = 0, ol = 0;
      for (size_t i = j.lo; i < j.hi; ++i)
        if (col[idx[i]] <= thr) ++nl, ol += y[idx[i]];
      const size_t nr = n - nl, orr = ones - ol;
      // Least weighted Gini impurity <=> largest sum over the sides of (ones^2 + zeros^2) / size.
      const auto side = [](double m, double o) { return (o * o + (m - o) * (m - o)) / m; };
      const double score = side(static_cast<double>(nl), static_cast<double>(ol)) +
                           side(static_cast<double>(nr), static_cast<double>(orr));
      if (score > best_score) best_score = score, best_f = static_cast<int32_t>(feats[drawn]), best_t = thr;
    }
    if (best_f < 0) continue;  // every feature constant here: a leaf
    const float* col = c.col(static_cast<size_t>(best_f));
    const auto mid = std::partition(idx.begin() + static_cast<std::ptrdiff_t>(j.lo),
                                    idx.begin() + static_cast<std::ptrdiff_t>(j.hi),
                                    [&](uint32_t r) { return col[r] <= best_t; });
    const size_t m = static_cast<size_t>(mid - idx.begin());
    t.feature[j.node] = best_f;
    t.threshold[j.node] = best_t;
    const int32_t l = add_node(), r = add_node();
    t.left[j.node] = l;
    t.right[j.node] = r;
    stack.push_back({r, m, j.hi});
    stack.push_back({l, j.lo, m});
  }
  return t;
}

template <typename T>
void put(std::string& out, const T* p, size_t n) {
  out.append(reinterpret_cast<const char*>(p), n * sizeof(T));
}

struct Reader {
  std::string_view data;
  size_t pos = 0;
  const std::string& name;
  template <typename T>
  Status get(T* p, size_t n, const char* what) {
    if (n > (data.size() - pos) / sizeof(T))
      return corruption_error("{}: truncated at byte {} (reading {})", name, pos, what);
    std::memcpy(p, data.data() + pos, n * sizeof(T));
    pos += n * sizeof(T);
    return ok_status();
  }
};

}  // namespace

Result<ExtraTreesClassifier> ExtraTreesClassifier::train(const std::vector<float>& x, size_t n_features,
                                                         const std::vector<double>& labels,
                                                         const ExtraTreesConfig& cfg) {
  const size_t n = labels.size();
  if (n == 0 || n_features == 0) return invalid_argument_error("extra trees: no rows or no features");
  if (n > UINT32_MAX) return invalid_argument_error("extra trees: {} rows (at most 2^32 - 1)", n);
  if (x.size() != n * n_features)
    return invalid_argument_error("extra trees: {} values for {} rows of {} features", x.size(), n, n_features);
  if (cfg.n_trees < 1 || !(cfg.max_features > 0 && cfg.max_features <= 1) || cfg.min_samples_split < 2)
    return invalid_argument_error(
        "extra trees: need at least one tree, max_features in (0, 1] and min_samples_split >= 2 (got {}, {}, {})",
        cfg.n_trees, cfg.max_features, cfg.min_samples_split);
  std::vector<uint8_t> y(n);
  for (size_t i = 0; i < n; ++i) {
    if (labels[i] != 0 && labels[i] != 1)
      return invalid_argument_error("extra trees: labels must be 0 or 1 (row {} has {})", i, labels[i]);
    y[i] = labels[i] == 1;
  }
  ExtraTreesClassifier m;
  m.means_.assign(n_features, 0.0f);
  Columns c;
  c.n = n, c.d = n_features;
  c.v.resize(n * n_features);
  for (size_t j = 0; j < n_features; ++j) {
    double sum = 0;
    size_t cnt = 0;
    for (size_t i = 0; i < n; ++i) {
      const float v = x[i * n_features + j];
      if (std::isnan(v)) continue;
      if (!std::isfinite(v)) return invalid_argument_error("extra trees: row {} feature {} is {}", i, j, v);
      sum += v, ++cnt;
    }
    m.means_[j] = cnt ? static_cast<float>(sum / static_cast<double>(cnt)) : 0.0f;
    for (size_t i = 0; i < n; ++i) {
      const float v = x[i * n_features + j];
      c.v[j * n + i] = std::isnan(v) ? m.means_[j] : v;
    }
  }
  const int k = std::max(1, static_cast<int>(std::floor(cfg.max_features * static_cast<double>(n_features))));
  m.trees_.resize(static_cast<size_t>(cfg.n_trees));
  ThreadPool pool(cfg.threads);
  pool.parallel_for_dynamic(m.trees_.size(), 1, [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t)
      m.trees_[t] = grow(c, y, k, cfg.min_samples_split, (static_cast<uint64_t>(cfg.seed) << 32) ^ (t * 7919 + 1));
  });
  return m;
}

Result<std::vector<double>> ExtraTreesClassifier::predict_proba(const std::vector<float>& x, size_t n_features,
                                                                int threads) const {
  if (n_features != means_.size())
    return invalid_argument_error("extra trees: rows have {} features, the model was trained on {}", n_features,
                                  means_.size());
  if (n_features == 0 || x.size() % n_features != 0)
    return invalid_argument_error("extra trees: {} values are not rows of {} features", x.size(), n_features);
  const size_t rows = x.size() / n_features;
  std::vector<double> p(rows, 0.0);
  ThreadPool pool(threads);
  pool.parallel_for(rows, [&](size_t b, size_t e) {
    std::vector<float> r(n_features);
    for (size_t i = b; i < e; ++i) {
      for (size_t j = 0; j < n_features; ++j) {
        const float v = x[i * n_features + j];
        r[j] = std::isnan(v) ? means_[j] : v;
      }
      double s = 0;
      for (const Tree& t : trees_) {
        int32_t node = 0;
        while (t.feature[node] >= 0) node = r[t.feature[node]] <= t.threshold[node] ? t.left[node] : t.right[node];
        s += t.value[node];
      }
      p[i] = s / static_cast<double>(trees_.size());
    }
  });
  return p;
}

size_t ExtraTreesClassifier::n_nodes() const {
  size_t n = 0;
  for (const Tree& t : trees_) n += t.feature.size();
  return n;
}

std::string ExtraTreesClassifier::to_bytes() const {
  std::string out(kMagic, sizeof kMagic);
  const uint32_t d = static_cast<uint32_t>(means_.size()), nt = static_cast<uint32_t>(trees_.size());
  put(out, &d, 1);
  put(out, &nt, 1);
  put(out, means_.data(), means_.size());
  for (const Tree& t : trees_) {
    const uint32_t nn = static_cast<uint32_t>(t.feature.size());
    put(out, &nn, 1);
    put(out, t.feature.data(), nn);
    put(out, t.left.data(), nn);
    put(out, t.right.data(), nn);
    put(out, t.threshold.data(), nn);
    put(out, t.value.data(), nn);
  }
  return out;
}

Result<ExtraTreesClassifier> ExtraTreesClassifier::parse(std::string_view data, const std::string& name) {
  if (data.size() < sizeof kMagic || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    return corruption_error("{}: not an extra-trees model (no FRGXTRE1 header)", name);
  Reader rd{data, sizeof kMagic, name};
  uint32_t d = 0, nt = 0;
  FRAGUA_TRY(rd.get(&d, 1, "the feature count"));
  FRAGUA_TRY(rd.get(&nt, 1, "the tree count"));
  if (d == 0 || nt == 0) return corruption_error("{}: {} features and {} trees", name, d, nt);
  ExtraTreesClassifier m;
  if (d > (data.size() - rd.pos) / sizeof(float)) return corruption_error("{}: truncated in the means", name);
  m.means_.resize(d);
  FRAGUA_TRY(rd.get(m.means_.data(), d, "the means"));
  for (uint32_t j = 0; j < d; ++j)
    if (!std::isfinite(m.means_[j])) return corruption_error("{}: mean of feature {} is not finite", name, j);
  for (uint32_t ti = 0; ti < nt; ++ti) {
    uint32_t nn = 0;
    FRAGUA_TRY(rd.get(&nn, 1, "a node count"));
    // 20 bytes a node: refuse a count the rest of the file cannot hold before allocating it.
    if (nn == 0 || nn > (data.size() - rd.pos) / 20)
      return corruption_error("{}: tree {} claims {} nodes, more than the {} bytes left hold", name, ti, nn,
                              data.size() - rd.pos);
    Tree t;
    t.feature.resize(nn), t.left.resize(nn), t.right.resize(nn), t.threshold.resize(nn), t.value.resize(nn);
    FRAGUA_TRY(rd.get(t.feature.data(), nn, "features"));
    FRAGUA_TRY(rd.get(t.left.data(), nn, "left children"));
    FRAGUA_TRY(rd.get(t.right.data(), nn, "right children"));
    FRAGUA_TRY(rd.get(t.threshold.data(), nn, "thresholds"));
    FRAGUA_TRY(rd.get(t.value.data(), nn, "values"));
    for (uint32_t i = 0; i < nn; ++i) {
      const bool leaf = t.feature[i] < 0;
      if (!(t.value[i] >= 0 && t.value[i] <= 1))
        return corruption_error("{}: tree {} node {} has value {} outside [0, 1]", name, ti, i, t.value[i]);
      if (leaf) continue;
      const auto in = [&](int32_t c) { return c > static_cast<int32_t>(i) && c < static_cast<int32_t>(nn); };
      if (static_cast<uint32_t>(t.feature[i]) >= d || !in(t.left[i]) || !in(t.right[i]) ||
          !std::isfinite(t.threshold[i]))
        return corruption_error("{}: tree {} node {} is malformed (feature {}, children {} and {})", name, ti, i,
                                t.feature[i], t.left[i], t.right[i]);
    }
    m.trees_.push_back(std::move(t));
  }
  if (rd.pos != data.size()) return corruption_error("{}: {} bytes after the last tree", name, data.size() - rd.pos);
  return m;
}

}  // namespace fragua::materials
