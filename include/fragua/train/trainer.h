// SPDX-License-Identifier: Apache-2.0
// `fragua train`: pretraining loop with gradient accumulation, AdamW, schedules, validation with
// bits per byte per language, JSON-lines metrics, checkpoints with exact resume, and MPI data
// parallelism (rank r takes micro-batches r, r + world, ... of one global sample stream, so N
// ranks with micro-batch B reproduce 1 process with N accumulation steps).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/train/dataset.h"
#include "fragua/train/model.h"
#include "fragua/train/optim.h"

namespace fragua::train {

struct TrainConfig {
  ModelConfig model;      // n_vocab 0: the shards' tokenizer vocabulary size
  DataConfig data;        // dir, mix, val_fraction, seq_len, seed
  std::string out_dir;    // checkpoints/, latest, metrics.jsonl, config.json
  std::string tokenizer;  // optional tokenizer GGUF: must match the shards' fingerprint
  int batch = 8;          // micro-batch rows per process
  int grad_accum = 1;
  int64_t steps = 1000;
  Schedule schedule;  // total is set to `steps`
  AdamWConfig adamw;
  uint64_t seed = 1;           // weight initialisation (data.seed drives sampling)
  int64_t eval_every = 100;    // 0: only at the end
  int64_t val_tokens = 16384;  // per language and evaluation
  int64_t save_every = 0;      // 0: only at the end
  int keep_checkpoints = 2;
  int threads = 0;
  bool use_blas = true;
  // BF16 mixed precision (`--precision bf16`): the matmuls take BF16-rounded inputs and sum in
  // F32, master weights, gradients and AdamW stay F32. Needs AVX512-BF16 (CPUID); elsewhere the
  // run warns and trains in F32.
  bool bf16 = false;
  bool resume = false;
  // Time each kernel, the optimizer and the data loader over the steps of this call; the table
  // goes to TrainResult::profile and <out>/profile.json (`fragua train --profile`).
  bool profile = false;
  uint64_t max_memory = 0;                       // bytes; 0: the machine's available memory
  int64_t stop_after = -1;                       // stop (checkpointed) after this many steps, as if killed
  const std::atomic<bool>* stop_flag = nullptr;  // set by a signal handler: checkpoint and stop
  Env* env = nullptr;                            // file access of the run (nullptr: Env::posix())

  nlohmann::json to_json() const;
  // Applies the keys present in j over the current values; unknown keys are errors.
  Status merge_json(const nlohmann::json& j);
};

struct TrainResult {
  int64_t step = 0;           // steps completed
  std::vector<float> losses;  // training loss of each step run in this call
  bool stopped = false;       // stopped early (stop_after / stop_flag)
  nlohmann::json last_eval;   // the last validation record (val_loss, val_bpb per language)
  // With TrainConfig::profile: {"steps", "seconds", "tokens_per_s", "matmul_gflops_per_s",
  // "parts": [{"part", "seconds", "share", "calls"}...]} in ProfilePart order, then "other".
  nlohmann::json profile;
};

Result<TrainResult> train(const TrainConfig& config);

// Checkpoint directory of the latest checkpoint under out_dir ("<out>/checkpoints/step-N").
Result<std::string> latest_checkpoint(const std::string& out_dir, Env& env = Env::posix());

}  // namespace fragua::train
