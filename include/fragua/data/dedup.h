// SPDX-License-Identifier: Apache-2.0
// De-duplication: exact (hash of the normalized text) and near-duplicate (MinHash signatures of
// word shingles, Broder 1997; locality-sensitive hashing by bands, Leskovec et al., "Mining of
// Massive Datasets" ch. 3: with b bands of r rows two documents of Jaccard similarity s collide
// in some band with probability 1 - (1 - s^r)^b). The index has a fixed capacity, so its memory
// is bounded: once full, documents are still checked but no longer added.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace fragua::data {

struct DedupOptions {
  bool exact = true, near = true;
  int shingle_words = 5;
  int bands = 14, rows = 8;  // 112 permutations (FineWeb's setting)
  size_t memory_mb = 256;    // index budget (exact + LSH tables)
};

// What the index needs of a document, computed without the index (so workers and MPI ranks can
// compute it in parallel and send it around): 8 bytes per band plus 16 for the exact hash.
struct DedupKey {
  uint64_t exact_lo = 0, exact_hi = 0;
  std::vector<uint64_t> bands;
};

DedupKey dedup_key(std::string_view text, const DedupOptions& options);

enum class DedupVerdict { unique, exact_duplicate, near_duplicate };

class DedupIndex {
 public:
  explicit DedupIndex(const DedupOptions& options);
  ~DedupIndex();
  DedupIndex(DedupIndex&&) noexcept;
  DedupIndex& operator=(DedupIndex&&) noexcept;

  // Checks the key and, if unique, inserts it.
  DedupVerdict check_and_insert(const DedupKey& key);
  bool full() const;
  size_t size() const;
  size_t memory_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Jaccard similarity of the word-shingle sets of two texts (exact; for tests and audits).
double shingle_jaccard(std::string_view a, std::string_view b, int shingle_words);

}  // namespace fragua::data
