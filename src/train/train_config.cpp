// SPDX-License-Identifier: Apache-2.0
// TrainConfig as JSON: what `fragua train --config run.json` reads and config.json records.
#include "fragua/base/json.h"
#include "fragua/base/utf8.h"
#include "fragua/train/trainer.h"
#include "train/checkpoint.h"

namespace fragua::train {

nlohmann::json TrainConfig::to_json() const {
  nlohmann::json mix = nlohmann::json::object();
  for (const auto& m : data.mix) mix[m.lang] = m.weight;
  const char* sk = schedule.kind == ScheduleKind::cosine ? "cosine"
                   : schedule.kind == ScheduleKind::wsd  ? "wsd"
                                                         : "constant";
  return {{"model", model.to_json()},
          {"data",
           {{"dir", data.dir},
            {"mix", mix},
            {"val_fraction", data.val_fraction},
            {"seq_len", data.seq_len},
            {"seed", data.seed}}},
          {"out_dir", out_dir},
          {"tokenizer", tokenizer},
          {"batch", batch},
          {"grad_accum", grad_accum},
          {"steps", steps},
          {"schedule", sk},
          {"lr", schedule.lr},
          {"min_lr_ratio", schedule.min_lr_ratio},
          {"warmup", schedule.warmup},
          {"decay_fraction", schedule.decay_fraction},
          {"beta1", adamw.beta1},
          {"beta2", adamw.beta2},
          {"eps", adamw.eps},
          {"weight_decay", adamw.weight_decay},
          {"grad_clip", adamw.grad_clip},
          {"seed", seed},
          {"eval_every", eval_every},
          {"val_tokens", val_tokens},
          {"save_every", save_every},
          {"keep_checkpoints", keep_checkpoints}};
}

namespace {

// Typed reads of one config value: the message names the key; integers are range-checked
// before narrowing and floats before conversion (a double beyond float's range would be
// undefined behaviour), so no JSON-library exception or wrapped value gets through.
Status as_error(const Error& e) { return invalid_argument_error("{}", e.message()); }

template <typename T>
Status read_int(const nlohmann::json& v, const std::string& key, T& dst, int64_t lo, int64_t hi) {
  auto x = json_integer(v, fmt::format("train config: '{}'", key), lo, hi);
  if (!x.ok()) return as_error(x.error());
  dst = static_cast<T>(*x);
  return ok_status();
}

Status read_seed(const nlohmann::json& v, const std::string& key, uint64_t& dst) {
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    return invalid_argument_error("train config: '{}' must be a non-negative integer, found {}", key, json_preview(v));
  dst = v.get<uint64_t>();
  return ok_status();
}

Status read_real(const nlohmann::json& v, const std::string& key, float& dst) {
  auto x = json_float(v, fmt::format("train config: '{}'", key));
  if (!x.ok()) return as_error(x.error());
  dst = *x;
  return ok_status();
}

Status read_real(const nlohmann::json& v, const std::string& key, double& dst) {
  if (!v.is_number())
    return invalid_argument_error("train config: '{}': expected a number, found {}", key, json_preview(v));
  dst = v.get<double>();
  return ok_status();
}

Status read_string(const nlohmann::json& v, const std::string& key, std::string& dst) {
  if (!v.is_string())
    return invalid_argument_error("train config: '{}' must be a string, found {}", key, json_preview(v));
  dst = v.get<std::string>();
  return ok_status();
}

constexpr int64_t kMaxCount = kMaxTrainSteps;  // steps, step intervals and token counts
// Sequences per micro-batch, accumulation steps, sequence length and checkpoints kept: far past
// what fits in memory (prepare_model checks that), and small enough for int arithmetic.
constexpr int kMaxBatch = 1 << 20;

}  // namespace

Status TrainConfig::merge_json(const nlohmann::json& j) {
  if (!j.is_object()) return invalid_argument_error("train config: expected a JSON object, found {}", json_preview(j));
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const auto& v = it.value();
    if (k == "model") {
      if (!v.is_object())
        return invalid_argument_error("train config: 'model' must be an object, found {}", json_preview(v));
      nlohmann::json m = model.to_json();
      for (auto mi = v.begin(); mi != v.end(); ++mi) m[mi.key()] = mi.value();
      // n_vocab 0 (from the shards) and n_ff 0 (from n_embd) are resolved at training time;
      // validate the rest with stand-ins. Their bounds are ModelConfig::finalize's.
      int want_vocab = 0, want_ff = 0;
      FRAGUA_TRY(read_int(m["n_vocab"], "model.n_vocab", want_vocab, 0, 1 << 24));
      FRAGUA_TRY(read_int(m["n_ff"], "model.n_ff", want_ff, 0, 1 << 18));
      if (want_vocab == 0) m["n_vocab"] = 1;
      auto mc = ModelConfig::from_json(m);
      if (!mc.ok()) return mc.error();
      model = *mc;
      model.n_vocab = want_vocab;
      model.n_ff = want_ff;
    } else if (k == "data") {
      if (!v.is_object())
        return invalid_argument_error("train config: 'data' must be an object, found {}", json_preview(v));
      for (auto di = v.begin(); di != v.end(); ++di) {
        const std::string dk = "data." + di.key();
        const auto& dv = di.value();
        if (di.key() == "dir")
          FRAGUA_TRY(read_string(dv, dk, data.dir));
        else if (di.key() == "mix") {
          data.mix.clear();
          if (dv.is_string()) {
            data.mix = FRAGUA_TRY(parse_mix(dv.get<std::string>()));
          } else if (dv.is_object()) {
            for (auto mi = dv.begin(); mi != dv.end(); ++mi) {
              double w = 0;
              FRAGUA_TRY(read_real(mi.value(), dk + "." + mi.key(), w));
              if (w < 0)
                return invalid_argument_error("train config: '{}.{}' is negative ({})", dk, terminal_safe(mi.key()), w);
              data.mix.push_back({mi.key(), w});
            }
          } else {
            return invalid_argument_error("train config: 'data.mix' must be a string or an object, found {}",
                                          json_preview(dv));
          }
        } else if (di.key() == "val_fraction")
          FRAGUA_TRY(read_real(dv, dk, data.val_fraction));
        else if (di.key() == "seq_len")
          FRAGUA_TRY(read_int(dv, dk, data.seq_len, 0, kMaxBatch));
        else if (di.key() == "seed")
          FRAGUA_TRY(read_seed(dv, dk, data.seed));
        else
          return invalid_argument_error("train config: unknown key '{}'", dk);
      }
    } else if (k == "out_dir")
      FRAGUA_TRY(read_string(v, k, out_dir));
    else if (k == "tokenizer")
      FRAGUA_TRY(read_string(v, k, tokenizer));
    else if (k == "batch")
      FRAGUA_TRY(read_int(v, k, batch, 0, kMaxBatch));
    else if (k == "grad_accum")
      FRAGUA_TRY(read_int(v, k, grad_accum, 0, kMaxBatch));
    else if (k == "steps")
      FRAGUA_TRY(read_int(v, k, steps, 0, kMaxCount));
    else if (k == "schedule") {
      std::string kind;
      FRAGUA_TRY(read_string(v, k, kind));
      schedule.kind = FRAGUA_TRY(parse_schedule_kind(kind));
    } else if (k == "lr")
      FRAGUA_TRY(read_real(v, k, schedule.lr));
    else if (k == "min_lr_ratio")
      FRAGUA_TRY(read_real(v, k, schedule.min_lr_ratio));
    else if (k == "warmup")
      FRAGUA_TRY(read_int(v, k, schedule.warmup, 0, kMaxCount));
    else if (k == "decay_fraction")
      FRAGUA_TRY(read_real(v, k, schedule.decay_fraction));
    else if (k == "beta1")
      FRAGUA_TRY(read_real(v, k, adamw.beta1));
    else if (k == "beta2")
      FRAGUA_TRY(read_real(v, k, adamw.beta2));
    else if (k == "eps")
      FRAGUA_TRY(read_real(v, k, adamw.eps));
    else if (k == "weight_decay")
      FRAGUA_TRY(read_real(v, k, adamw.weight_decay));
    else if (k == "grad_clip")
      FRAGUA_TRY(read_real(v, k, adamw.grad_clip));
    else if (k == "seed")
      FRAGUA_TRY(read_seed(v, k, seed));
    else if (k == "eval_every")
      FRAGUA_TRY(read_int(v, k, eval_every, 0, kMaxCount));
    else if (k == "val_tokens")
      FRAGUA_TRY(read_int(v, k, val_tokens, 0, kMaxCount));
    else if (k == "save_every")
      FRAGUA_TRY(read_int(v, k, save_every, 0, kMaxCount));
    else if (k == "keep_checkpoints")
      FRAGUA_TRY(read_int(v, k, keep_checkpoints, 0, kMaxBatch));
    else
      return invalid_argument_error("train config: unknown key '{}'", terminal_safe(k));
  }
  return ok_status();
}

}  // namespace fragua::train
