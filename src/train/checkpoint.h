// SPDX-License-Identifier: Apache-2.0
// Checkpoints: <out>/checkpoints/step-<N>/{model.safetensors, optimizer.safetensors, state.json}
// and <out>/latest naming the newest complete one. Every file goes through AtomicFile and
// `latest` is replaced last, so a run killed while saving resumes from the previous checkpoint.
// Integrity: every tensor's XXH64 is in its safetensors file's metadata (ParamStore) and state.json
// carries the XXH64 of its own content ("xxh64"); load_checkpoint verifies both, so a damaged
// weight, moment or loader position is an error naming the file (and tensor), not a resumed run.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/train/model.h"
#include "fragua/train/optim.h"

namespace fragua::train {

// Weights in safetensors with GGUF tensor names, PyTorch shape order, config in metadata.
Status save_model_safetensors(const Model& model, const std::string& path, const nlohmann::json& provenance,
                              Env& env = Env::posix());
Result<Model> load_model_safetensors(const std::string& path);

// A failure to prune older checkpoints is logged, not returned: the new one is complete by then.
Status save_checkpoint(const std::string& out_dir, int64_t step, const Model& model, AdamW& opt, nlohmann::json state,
                       int keep, Env& env = Env::posix());

// Removes the oldest <out>/checkpoints/step-* directories until `keep` remain (keep <= 0: none
// removed), never the one of step `newest`. Stops at the first failed listing or removal and
// returns it; `latest` is never touched.
Status prune_checkpoints(const std::string& out_dir, int keep, int64_t newest, Env& env = Env::posix());

// Steps of one run: a trillion, far past any real run, and small enough that step x tokens per
// step and the schedule's arithmetic stay exact.
inline constexpr int64_t kMaxTrainSteps = int64_t{1} << 40;
// MPI ranks and sequences per micro-batch recorded in a state: 2^20, past any cluster, small
// enough that their product is exact in int64.
inline constexpr int64_t kMaxStateRanks = int64_t{1} << 20;

// What resuming reads from state.json, each field validated: format and version, step and
// adam_t in [0, kMaxTrainSteps], world_size, batch, grad_accum and seq_len (optional; older
// checkpoints lack the last two) in [1, kMaxStateRanks], the tokenizer
// fingerprint a string, and "data" (checked by parse_data_state). Errors name `origin` and the
// field.
struct TrainState {
  int64_t step = 0;
  int64_t adam_t = 0;
  std::string tokenizer_fingerprint;
  int64_t world_size = 1;
  int64_t batch = 0;       // 0: not recorded
  int64_t grad_accum = 0;  // 0: not recorded
  int64_t seq_len = 0;     // 0: not recorded
  nlohmann::json data;
  nlohmann::json raw;  // the whole document
};
Result<TrainState> parse_train_state(const nlohmann::json& state, const std::string& origin);

// Validates state.json, then loads weights and moments into model/opt (shapes must match).
// state.json is read through env; the weights and moments are memory-mapped (docs/architecture.md,
// "Files and Env": a checkpoint may hold gigabytes).
Result<TrainState> load_checkpoint(const std::string& ckpt_dir, Model& model, AdamW& opt, Env& env = Env::posix());

}  // namespace fragua::train
