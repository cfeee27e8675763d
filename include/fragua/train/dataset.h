// SPDX-License-Identifier: Apache-2.0
// The training data loader over a directory of token shards (*.fts): one token stream per
// language (documents in shard-name order), the last documents of each held out for
// validation, and a sampler that draws each batch row's language by mixture weight and takes
// the next window of that language's stream. Its whole position (RNG state, a cursor per
// language) is JSON, so a resumed run draws exactly the batches an uninterrupted run would.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/train/shard.h"

namespace fragua::train {

struct MixEntry {
  std::string lang;
  double weight = 0;
};
// "es=0.35,ca=0.25,gl=0.2,eu=0.2" (weights are normalised; they need not sum to 1).
Result<std::vector<MixEntry>> parse_mix(const std::string& spec);

struct DataConfig {
  std::string dir;
  std::vector<MixEntry> mix;   // empty: proportional to each language's training tokens
  double val_fraction = 0.05;  // of each language's tokens, whole documents from the end
  int seq_len = 256;
  uint64_t seed = 1;
};

struct LanguageSplit {
  std::string lang;
  double weight = 0;  // normalised sampling weight
  uint64_t train_tokens = 0, val_tokens = 0;
  uint64_t train_bytes = 0, val_bytes = 0;
};

// A loader position as Dataset::state() writes it, each field checked on the way in: the RNG
// words (decimal strings, not all zero: xoshiro256** never leaves the all-zero state), the batch
// count and each language's cursor and epoch (integers in [0, 2^62]). Errors name `origin` (the
// state.json) and the field.
struct DataState {
  std::array<uint64_t, 4> rng{};
  uint64_t batches = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> languages;  // lang -> (cursor, epoch)
};
Result<DataState> parse_data_state(const nlohmann::json& state, std::string_view origin);

class Dataset {
 public:
  // Errors (before any training): missing directory, no shards, a corrupt shard, shards made
  // with different tokenizers, a --mix language absent from the shards, too little text.
  static Result<Dataset> open(const DataConfig& config, Env& env = Env::posix());
  Dataset(Dataset&&) noexcept;
  Dataset& operator=(Dataset&&) noexcept;
  ~Dataset();

  const ShardTokenizer& tokenizer() const;
  const std::vector<LanguageSplit>& languages() const;
  const std::vector<std::string>& shard_paths() const;

  // Draws B training windows of T+1 tokens: tokens (B,T) and targets (B,T) (shifted by one).
  void next_batch(int B, int T, int32_t* tokens, int32_t* targets);
  // Advances exactly as next_batch would, without copying (other ranks' micro-batches).
  void skip_batch(int B, int T);

  // Validation: the i-th window of T+1 tokens of language li's held-out stream; windows
  // available: n_val_windows (0 when the held-out text is shorter than T+1 tokens).
  uint64_t n_val_windows(size_t li, int T) const;
  void val_window(size_t li, uint64_t i, int T, int32_t* tokens, int32_t* targets) const;

  nlohmann::json state() const;
  // parse_data_state, then the cursors checked against these shards.
  Status restore(const nlohmann::json& state, std::string_view origin = "data state");

 private:
  Dataset();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fragua::train
