// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/enumerate.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>

#include "fragua/base/thread_pool.h"

namespace fragua::materials {

namespace {

constexpr int kMaxElements = 6;
constexpr size_t kMaxVectors = size_t{1} << 24;

// Mixed-radix index of a coefficient vector: sum_i (c_i - 1) K^i.
struct CoeffSpace {
  int n, k;
  size_t size;
  std::vector<uint8_t> coprime;
  CoeffSpace(int n_, int k_) : n(n_), k(k_) {
    size = 1;
    for (int i = 0; i < n; ++i) size *= static_cast<size_t>(k);
    coprime.assign(size, 0);
    std::vector<int> c(static_cast<size_t>(n), 1);
    for (size_t idx = 0; idx < size; ++idx) {
      int g = 0;
      for (int x : c) g = std::gcd(g, x);
      coprime[idx] = g == 1;
      for (int i = 0; i < n; ++i) {
        if (++c[static_cast<size_t>(i)] <= k) break;
        c[static_cast<size_t>(i)] = 1;
      }
    }
  }
  uint64_t n_coprime() const { return static_cast<uint64_t>(std::count(coprime.begin(), coprime.end(), 1)); }
};

struct SetScratch {
  std::vector<uint8_t> neutral, pass;
  std::vector<int32_t> first_combo;  // passing combo index for each coefficient vector, -1 none
};

// SMACT's Pauling test: every cation strictly less electronegative than every anion. An ion
// whose element has no Pauling value fails the test (SMACT cannot order it).
bool pauling_ok(const int* ox, const double* en, int n) {
  double max_cat = -1e9, min_an = 1e9;
  for (int i = 0; i < n; ++i) {
    if (ox[i] == 0) continue;
    if (std::isnan(en[i])) return false;
    if (ox[i] > 0)
      max_cat = std::max(max_cat, en[i]);
    else
      min_an = std::min(min_an, en[i]);
  }
  return max_cat < min_an;
}

// Marks, for one element set, which coefficient vectors are charge neutral for some
// oxidation-state assignment and which also pass the electronegativity test. Walks the
// assignments (odometer) and, for each with both signs, the first n-1 coefficients; the last
// is then determined: c_n = -sum / o_n.
void mark_set(const std::vector<const std::vector<int>*>& ox, const double* en, const CoeffSpace& cs, bool en_test,
              SetScratch& s, bool want_combo) {
  int n = cs.n, k = cs.k;
  s.neutral.assign(cs.size, 0);
  s.pass.assign(cs.size, 0);
  if (want_combo) s.first_combo.assign(cs.size, -1);
  for (auto* o : ox)
    if (o->empty()) return;
  int idx[kMaxElements] = {0}, o[kMaxElements], c[kMaxElements];
  size_t stride_last = cs.size / static_cast<size_t>(k);
  int combo = 0;
  for (;; ++combo) {
    bool pos = false, neg = false;
    for (int i = 0; i < n; ++i) {
      o[i] = (*ox[static_cast<size_t>(i)])[static_cast<size_t>(idx[i])];
      pos |= o[i] > 0;
      neg |= o[i] < 0;
    }
    int on = o[n - 1];
    if (pos && neg && on != 0) {
      bool ok = !en_test || pauling_ok(o, en, n);
      for (int i = 0; i < n - 1; ++i) c[i] = 1;
      for (;;) {
        int sum = 0;
        size_t base = 0, mul = 1;
        for (int i = 0; i < n - 1; ++i) {
          sum += c[i] * o[i];
          base += static_cast<size_t>(c[i] - 1) * mul;
          mul *= static_cast<size_t>(k);
        }
        if (sum % on == 0) {
          int cn = -sum / on;
          if (cn >= 1 && cn <= k) {
            size_t at = base + static_cast<size_t>(cn - 1) * stride_last;
            s.neutral[at] = 1;
            if (ok) {
              if (want_combo && !s.pass[at]) s.first_combo[at] = combo;
              s.pass[at] = 1;
            }
          }
        }
        int i = 0;
        for (; i < n - 1; ++i) {
          if (++c[i] <= k) break;
          c[i] = 1;
        }
        if (i == n - 1) break;
      }
    }
    int i = 0;
    for (; i < n; ++i) {
      if (++idx[i] < static_cast<int>(ox[static_cast<size_t>(i)]->size())) break;
      idx[i] = 0;
    }
    if (i == n) break;
  }
}

Status check_opts(int n, const EnumerateOptions& opts) {
  if (n < 1 || n > kMaxElements) return invalid_argument_error("need 1 to {} elements, got {}", kMaxElements, n);
  if (opts.max_coeff < 1 || opts.max_coeff > 64) return invalid_argument_error("max coefficient must be 1..64");
  if (std::pow(static_cast<double>(opts.max_coeff), n) > static_cast<double>(kMaxVectors))
    return invalid_argument_error("{}^{} coefficient vectors is too many", opts.max_coeff, n);
  return ok_status();
}

}  // namespace

Result<std::vector<Candidate>> enumerate_compositions(const std::vector<int>& zs, const ElementTable& table,
                                                      const EnumerateOptions& opts) {
  int n = static_cast<int>(zs.size());
  FRAGUA_TRY(check_opts(n, opts));
  for (size_t i = 0; i < zs.size(); ++i) {
    if (zs[i] < 1 || zs[i] > table.max_z()) return invalid_argument_error("no element with Z={}", zs[i]);
    for (size_t j = 0; j < i; ++j)
      if (zs[i] == zs[j]) return invalid_argument_error("element {} given twice", table.by_z(zs[i]).symbol);
  }
  CoeffSpace cs(n, opts.max_coeff);
  std::vector<const std::vector<int>*> ox;
  std::vector<double> en;
  for (int z : zs) {
    ox.push_back(&table.by_z(z).ox(opts.ox_set));
    en.push_back(table.by_z(z).get(Prop::smact_en));
  }
  SetScratch s;
  mark_set(ox, en.data(), cs, opts.electronegativity_test, s, true);
  std::vector<Candidate> out;
  std::vector<int> c(static_cast<size_t>(n), 1);
  for (size_t at = 0; at < cs.size; ++at) {
    if (s.pass[at] && cs.coprime[at]) {
      Candidate cand{zs, c, {}};
      int combo = s.first_combo[at];  // decode the odometer index back into states
      for (int i = 0; i < n; ++i) {
        int m = static_cast<int>(ox[static_cast<size_t>(i)]->size());
        cand.ox.push_back((*ox[static_cast<size_t>(i)])[static_cast<size_t>(combo % m)]);
        combo /= m;
      }
      out.push_back(std::move(cand));
    }
    for (int i = 0; i < n; ++i) {
      if (++c[static_cast<size_t>(i)] <= opts.max_coeff) break;
      c[static_cast<size_t>(i)] = 1;
    }
  }
  return out;
}

Status enumerate_pool(const std::vector<int>& pool, int size, const ElementTable& table, const EnumerateOptions& opts,
                      const std::function<void(const std::vector<int>& zs, const Candidate& c)>& emit,
                      const ProgressCallback& progress) {
  const int n = static_cast<int>(pool.size());
  if (size < 0 || size > n) return invalid_argument_error("subset size {} is not in [0, {}]", size, n);
  // C(n, size) subsets, saturating: a progress total only.
  uint64_t total = 1;
  for (int i = 1; i <= size && total != UINT64_MAX; ++i) {
    const uint64_t f = static_cast<uint64_t>(n - size + i);  // total = C(n - size + i - 1, i - 1)
    total = total > UINT64_MAX / f ? UINT64_MAX : total * f / static_cast<uint64_t>(i);
  }
  uint64_t done = 0;
  std::vector<int> pick(static_cast<size_t>(size));
  std::iota(pick.begin(), pick.end(), 0);
  std::vector<int> zs;
  for (;;) {
    zs.clear();
    for (int i : pick) zs.push_back(pool[static_cast<size_t>(i)]);
    for (auto& c : FRAGUA_TRY(enumerate_compositions(zs, table, opts))) emit(zs, c);
    if (progress) progress(++done, total);
    // The next subset: bump the rightmost position that can move, reset the ones after it.
    int i = size - 1;
    while (i >= 0 && pick[static_cast<size_t>(i)] == n - size + i) --i;
    if (i < 0) break;
    ++pick[static_cast<size_t>(i)];
    for (int j = i + 1; j < size; ++j) pick[static_cast<size_t>(j)] = pick[static_cast<size_t>(j) - 1] + 1;
  }
  return ok_status();
}

Result<EnumerationCounts> count_all(int n_elements, int max_z, const ElementTable& table, const EnumerateOptions& opts,
                                    ProgressBar* bar) {
  FRAGUA_TRY(check_opts(n_elements, opts));
  if (max_z < n_elements || max_z > table.max_z())
    return invalid_argument_error("max Z must be {}..{}", n_elements, table.max_z());
  if (n_elements > 4) return invalid_argument_error("count_all handles up to 4 elements");
  CoeffSpace cs(n_elements, opts.max_coeff);
  // The first element of each set fixes the work unit; sets are (a < b < c ...).
  std::atomic<uint64_t> sets{0}, neutral{0}, pass{0};
  ThreadPool pool(opts.threads);
  pool.parallel_for_dynamic(static_cast<size_t>(max_z), 1, [&](size_t b, size_t e) {
    SetScratch s;
    uint64_t my_sets = 0, my_neutral = 0, my_pass = 0;
    std::vector<const std::vector<int>*> ox(static_cast<size_t>(n_elements));
    std::vector<double> en(static_cast<size_t>(n_elements));
    std::vector<int> z(static_cast<size_t>(n_elements));
    for (size_t first = b; first < e; ++first) {
      z[0] = static_cast<int>(first) + 1;
      for (int i = 1; i < n_elements; ++i) z[static_cast<size_t>(i)] = z[static_cast<size_t>(i) - 1] + 1;
      if (z.back() > max_z) continue;
      for (;;) {
        for (int i = 0; i < n_elements; ++i) {
          const Element& el = table.by_z(z[static_cast<size_t>(i)]);
          ox[static_cast<size_t>(i)] = &el.ox(opts.ox_set);
          en[static_cast<size_t>(i)] = el.get(Prop::smact_en);
        }
        mark_set(ox, en.data(), cs, opts.electronegativity_test, s, false);
        for (size_t at = 0; at < cs.size; ++at) {
          my_neutral += s.neutral[at] & cs.coprime[at];
          my_pass += s.pass[at] & cs.coprime[at];
        }
        ++my_sets;
        // next combination with the same first element
        int i = n_elements - 1;
        while (i >= 1 && z[static_cast<size_t>(i)] == max_z - (n_elements - 1 - i)) --i;
        if (i < 1) break;
        ++z[static_cast<size_t>(i)];
        for (int j = i + 1; j < n_elements; ++j) z[static_cast<size_t>(j)] = z[static_cast<size_t>(j) - 1] + 1;
      }
      if (bar) bar->add(1);
    }
    sets += my_sets;
    neutral += my_neutral;
    pass += my_pass;
  });
  EnumerationCounts r;
  r.element_sets = sets;
  r.raw = sets * cs.n_coprime();
  r.charge_neutral = neutral;
  r.pass = pass;
  return r;
}

}  // namespace fragua::materials
