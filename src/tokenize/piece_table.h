// SPDX-License-Identifier: Apache-2.0
// A read-mostly hash table from byte strings to token ids: open addressing with linear probing
// over a power-of-two array, keyed by XXH3 of the bytes. Encoding looks up every candidate
// merge, so this lookup is the inner loop; it takes string_views into the caller's buffer and
// never allocates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <xxhash.h>

namespace fragua::tokenize {

class PieceTable {
 public:
  // Adds `text` with `id` unless present; returns the id stored for it.
  int32_t insert(std::string_view text, int32_t id) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    return insert_slot(text, id);
  }
  int32_t find(std::string_view text) const {
    if (slots_.empty()) return -1;
    uint64_t h = XXH3_64bits(text.data(), text.size());
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.hash == h && keys_[static_cast<size_t>(s.key)] == text) return s.id;
    }
  }
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    int32_t id = -1;
    int32_t key = -1;
  };
  int32_t insert_slot(std::string_view text, int32_t id) {
    uint64_t h = XXH3_64bits(text.data(), text.size());
    size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        keys_.emplace_back(text);
        s = Slot{h, id, static_cast<int32_t>(keys_.size() - 1)};
        ++size_;
        return id;
      }
      if (s.hash == h && keys_[static_cast<size_t>(s.key)] == text) return s.id;
    }
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    std::vector<std::string> keys = std::move(keys_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    keys_.clear();
    keys_.reserve(keys.size());
    size_ = 0;
    // Re-insert in key order so ids stay attached to the same strings.
    std::vector<int32_t> id_of_key(keys.size(), -1);
    for (const Slot& s : old)
      if (s.id >= 0) id_of_key[static_cast<size_t>(s.key)] = s.id;
    for (size_t k = 0; k < keys.size(); ++k) insert_slot(keys[k], id_of_key[k]);
  }
  std::vector<Slot> slots_;
  std::vector<std::string> keys_;
  size_t size_ = 0;
};

}  // namespace fragua::tokenize
