// SPDX-License-Identifier: Apache-2.0
#include <xxhash.h>

#include <algorithm>
#include <unordered_set>

#include "fragua/data/dedup.h"

namespace fragua::data {
namespace {

// Normalized words: ASCII lower-cased, punctuation dropped (so "Hola, mundo." == "hola mundo").
std::vector<std::string> norm_words(std::string_view t) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : t) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 'A' && u <= 'Z') c = static_cast<char>(u + 32);
    bool word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || u >= 0x80;
    if (word) {
      cur.push_back(c);
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::vector<uint64_t> shingles(const std::vector<std::string>& w, int k) {
  std::vector<uint64_t> out;
  size_t n = static_cast<size_t>(k);
  if (w.empty()) return out;
  if (w.size() < n) n = w.size();
  for (size_t i = 0; i + n <= w.size(); ++i) {
    uint64_t h = 0x51ed270b27ull;
    for (size_t j = 0; j < n; ++j) h = XXH3_64bits_withSeed(w[i + j].data(), w[i + j].size(), h);
    out.push_back(h);
  }
  return out;
}

uint64_t mix(uint64_t x) {  // splitmix64 finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Open-addressing set of non-zero 64-bit keys with a fixed capacity.
struct FixedSet {
  std::vector<uint64_t> slots;
  size_t used = 0;
  explicit FixedSet(size_t cap) : slots(std::max<size_t>(16, cap), 0) {}
  bool contains(uint64_t k) const {
    k |= 1;
    size_t m = slots.size();
    for (size_t i = mix(k) % m, probes = 0; probes < m; i = (i + 1) % m, ++probes) {
      if (slots[i] == 0) return false;
      if (slots[i] == k) return true;
    }
    return false;
  }
  bool can_insert() const { return used * 10 < slots.size() * 7; }  // load factor 0.7
  void insert(uint64_t k) {
    k |= 1;
    size_t m = slots.size();
    for (size_t i = mix(k) % m;; i = (i + 1) % m) {
      if (slots[i] == k) return;
      if (slots[i] == 0) {
        slots[i] = k;
        ++used;
        return;
      }
    }
  }
};

}  // namespace

DedupKey dedup_key(std::string_view text, const DedupOptions& o) {
  DedupKey k;
  auto words = norm_words(text);
  std::string joined;
  for (const auto& w : words) {
    joined += w;
    joined.push_back(' ');
  }
  XXH128_hash_t h = XXH3_128bits(joined.data(), joined.size());
  k.exact_lo = h.low64;
  k.exact_hi = h.high64;
  if (!o.near) return k;
  auto sh = shingles(words, o.shingle_words);
  int perms = o.bands * o.rows;
  std::vector<uint64_t> sig(static_cast<size_t>(perms), ~uint64_t{0});
  // Permutation p of a shingle hash: mix(h ^ seed_p) (a fresh hash per permutation).
  for (uint64_t s : sh)
    for (int p = 0; p < perms; ++p)
      sig[static_cast<size_t>(p)] =
          std::min(sig[static_cast<size_t>(p)], mix(s ^ (0x9E3779B97F4A7C15ull * static_cast<uint64_t>(p + 1))));
  if (sh.empty()) {  // no words: only exact duplicates may collide
    for (int b = 0; b < o.bands; ++b) k.bands.push_back(mix(k.exact_lo + static_cast<uint64_t>(b)));
    return k;
  }
  for (int b = 0; b < o.bands; ++b) {
    uint64_t bh = XXH3_64bits_withSeed(&sig[static_cast<size_t>(b * o.rows)],
                                       sizeof(uint64_t) * static_cast<size_t>(o.rows), static_cast<uint64_t>(b));
    k.bands.push_back(bh);
  }
  return k;
}

struct DedupIndex::Impl {
  DedupOptions opts;
  FixedSet exact;
  std::vector<FixedSet> bands;
  size_t n = 0;
  Impl(const DedupOptions& o, size_t per_set)
      : opts(o), exact(per_set), bands(static_cast<size_t>(o.bands), FixedSet(per_set)) {}
};

DedupIndex::DedupIndex(const DedupOptions& o) {
  size_t sets = 1 + static_cast<size_t>(o.near ? o.bands : 0);
  size_t per_set = o.memory_mb * 1024 * 1024 / 8 / sets;
  impl_ = std::make_unique<Impl>(o, per_set);
}
DedupIndex::~DedupIndex() = default;
DedupIndex::DedupIndex(DedupIndex&&) noexcept = default;
DedupIndex& DedupIndex::operator=(DedupIndex&&) noexcept = default;

DedupVerdict DedupIndex::check_and_insert(const DedupKey& k) {
  auto& im = *impl_;
  uint64_t ex = k.exact_lo ^ mix(k.exact_hi);
  if (im.opts.exact && im.exact.contains(ex)) return DedupVerdict::exact_duplicate;
  if (im.opts.near)
    for (size_t b = 0; b < k.bands.size() && b < im.bands.size(); ++b)
      if (im.bands[b].contains(k.bands[b])) return DedupVerdict::near_duplicate;
  if (!full()) {
    im.exact.insert(ex);
    if (im.opts.near)
      for (size_t b = 0; b < k.bands.size() && b < im.bands.size(); ++b) im.bands[b].insert(k.bands[b]);
    ++im.n;
  }
  return DedupVerdict::unique;
}

bool DedupIndex::full() const {
  if (!impl_->exact.can_insert()) return true;
  for (const auto& b : impl_->bands)
    if (!b.can_insert()) return true;
  return false;
}
size_t DedupIndex::size() const { return impl_->n; }
size_t DedupIndex::memory_bytes() const {
  size_t m = impl_->exact.slots.size() * 8;
  for (const auto& b : impl_->bands) m += b.slots.size() * 8;
  return m;
}

double shingle_jaccard(std::string_view a, std::string_view b, int k) {
  auto sa = shingles(norm_words(a), k), sb = shingles(norm_words(b), k);
  std::unordered_set<uint64_t> A(sa.begin(), sa.end()), B(sb.begin(), sb.end());
  if (A.empty() && B.empty()) return 1;
  size_t inter = 0;
  for (uint64_t x : A) inter += B.count(x);
  return static_cast<double>(inter) / static_cast<double>(A.size() + B.size() - inter);
}

}  // namespace fragua::data
