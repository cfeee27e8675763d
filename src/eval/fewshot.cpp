// SPDX-License-Identifier: Apache-2.0
#include "fragua/eval/fewshot.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <set>

namespace fragua::eval {

namespace {

// MT19937 (Matsumoto & Nishimura 1998), as CPython's _randommodule.c.
void init_genrand(std::array<uint32_t, 624>& mt, uint32_t s) {
  mt[0] = s;
  for (uint32_t i = 1; i < 624; ++i) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i;
}

void init_by_array(std::array<uint32_t, 624>& mt, const std::vector<uint32_t>& key) {
  init_genrand(mt, 19650218u);
  size_t i = 1, j = 0;
  for (size_t k = std::max<size_t>(624, key.size()); k; --k) {
    mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + static_cast<uint32_t>(j);
    if (++i >= 624) mt[0] = mt[623], i = 1;
    if (++j >= key.size()) j = 0;
  }
  for (size_t k = 623; k; --k) {
    mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - static_cast<uint32_t>(i);
    if (++i >= 624) mt[0] = mt[623], i = 1;
  }
  mt[0] = 0x80000000u;
}

}  // namespace

PyRandom::PyRandom(uint64_t seed) {
  // random_seed(): the absolute value's 32-bit words, least significant first; 0 is the key [0].
  std::vector<uint32_t> key;
  for (uint64_t s = seed; s; s >>= 32) key.push_back(static_cast<uint32_t>(s));
  if (key.empty()) key.push_back(0);
  init_by_array(mt_, key);
  index_ = 624;
}

uint32_t PyRandom::next_u32() {
  if (index_ >= 624) {
    for (size_t k = 0; k < 624; ++k) {
      const uint32_t y = (mt_[k] & 0x80000000u) | (mt_[(k + 1) % 624] & 0x7fffffffu);
      mt_[k] = mt_[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
    index_ = 0;
  }
  uint32_t y = mt_[index_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

double PyRandom::random() {
  const uint32_t a = next_u32() >> 5, b = next_u32() >> 6;
  return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

std::vector<size_t> PyRandom::choices(size_t n, size_t k) {
  std::vector<size_t> out(k);
  for (auto& i : out) i = static_cast<size_t>(std::floor(random() * static_cast<double>(n)));
  return out;
}

uint64_t PyRandom::getrandbits(int k) {
  // CPython fills 32-bit words from the least significant end; the last word keeps its top bits.
  if (k <= 32) return next_u32() >> (32 - k);
  const uint64_t lo = next_u32();
  const uint64_t hi = next_u32() >> (64 - k);
  return lo | (hi << 32);
}

uint64_t PyRandom::randbelow(uint64_t n) {
  if (n == 0) return 0;
  const int k = std::bit_width(n);
  uint64_t r = getrandbits(k);
  while (r >= n) r = getrandbits(k);
  return r;
}

std::vector<size_t> PyRandom::sample(size_t n, size_t k) {
  // Random.sample: a pool swap for small populations, rejection from a set for large ones; the
  // threshold decides which draws are made, so it is kept exactly.
  std::vector<size_t> out(k);
  size_t setsize = 21;
  if (k > 5) setsize += static_cast<size_t>(std::pow(4.0, std::ceil(std::log(static_cast<double>(k) * 3) / std::log(4.0))));
  if (n <= setsize) {
    std::vector<size_t> pool(n);
    for (size_t i = 0; i < n; ++i) pool[i] = i;
    for (size_t i = 0; i < k; ++i) {
      const auto j = static_cast<size_t>(randbelow(n - i));
      out[i] = pool[j];
      pool[j] = pool[n - i - 1];
    }
  } else {
    std::set<size_t> selected;
    for (size_t i = 0; i < k; ++i) {
      auto j = static_cast<size_t>(randbelow(n));
      while (selected.count(j)) j = static_cast<size_t>(randbelow(n));
      selected.insert(j);
      out[i] = j;
    }
  }
  return out;
}

std::vector<size_t> sample_fewshot(PyRandom& rnd, size_t n_fewshot_docs, size_t k, bool same_split, size_t doc) {
  const size_t draw = std::min(n_fewshot_docs, same_split ? k + 1 : k);
  std::vector<size_t> picked = rnd.sample(n_fewshot_docs, draw);
  if (same_split) picked.erase(std::remove(picked.begin(), picked.end(), doc), picked.end());
  if (picked.size() > k) picked.resize(k);
  return picked;
}

}  // namespace fragua::eval
