// TrainConfig as JSON: what `fragua train --config run.json` reads and config.json records.
#include "fragua/train/trainer.h"

namespace fragua::train {

nlohmann::json TrainConfig::to_json() const {
  nlohmann::json mix = nlohmann::json::object();
  for (const auto& m : data.mix) mix[m.lang] = m.weight;
  const char* sk = schedule.kind == ScheduleKind::cosine ? "cosine" : schedule.kind == ScheduleKind::wsd ? "wsd" : "constant";
  return {{"model", model.to_json()},
          {"data", {{"dir", data.dir}, {"mix", mix}, {"val_fraction", data.val_fraction}, {"seq_len", data.seq_len},
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

Status TrainConfig::merge_json(const nlohmann::json& j) {
  if (!j.is_object()) return invalid_argument_error("train config: expected a JSON object");
  try {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      const auto& v = it.value();
      if (k == "model") {
        nlohmann::json m = model.to_json();
        for (auto mi = v.begin(); mi != v.end(); ++mi) m[mi.key()] = mi.value();
        // n_vocab 0 (from the shards) and n_ff 0 (from n_embd) are resolved at training time;
        // validate the rest with stand-ins.
        if (!m["n_vocab"].is_number_integer() || !m["n_ff"].is_number_integer())
          return invalid_argument_error("train config: model.n_vocab and model.n_ff must be integers");
        int want_vocab = m["n_vocab"].get<int>(), want_ff = m["n_ff"].get<int>();
        if (want_vocab == 0) m["n_vocab"] = 1;
        auto mc = ModelConfig::from_json(m);
        if (!mc.ok()) return mc.error();
        model = *mc;
        model.n_vocab = want_vocab;
        model.n_ff = want_ff;
      } else if (k == "data") {
        for (auto di = v.begin(); di != v.end(); ++di) {
          const std::string& dk = di.key();
          if (dk == "dir") data.dir = di.value().get<std::string>();
          else if (dk == "mix") {
            data.mix.clear();
            if (di.value().is_string()) data.mix = FRAGUA_TRY(parse_mix(di.value().get<std::string>()));
            else
              for (auto mi = di.value().begin(); mi != di.value().end(); ++mi) data.mix.push_back({mi.key(), mi.value().get<double>()});
          } else if (dk == "val_fraction") data.val_fraction = di.value().get<double>();
          else if (dk == "seq_len") data.seq_len = di.value().get<int>();
          else if (dk == "seed") data.seed = di.value().get<uint64_t>();
          else return invalid_argument_error("train config: unknown key 'data.{}'", dk);
        }
      } else if (k == "out_dir") out_dir = v.get<std::string>();
      else if (k == "tokenizer") tokenizer = v.get<std::string>();
      else if (k == "batch") batch = v.get<int>();
      else if (k == "grad_accum") grad_accum = v.get<int>();
      else if (k == "steps") steps = v.get<int64_t>();
      else if (k == "schedule") schedule.kind = FRAGUA_TRY(parse_schedule_kind(v.get<std::string>()));
      else if (k == "lr") schedule.lr = v.get<float>();
      else if (k == "min_lr_ratio") schedule.min_lr_ratio = v.get<float>();
      else if (k == "warmup") schedule.warmup = v.get<int64_t>();
      else if (k == "decay_fraction") schedule.decay_fraction = v.get<float>();
      else if (k == "beta1") adamw.beta1 = v.get<float>();
      else if (k == "beta2") adamw.beta2 = v.get<float>();
      else if (k == "eps") adamw.eps = v.get<float>();
      else if (k == "weight_decay") adamw.weight_decay = v.get<float>();
      else if (k == "grad_clip") adamw.grad_clip = v.get<float>();
      else if (k == "seed") seed = v.get<uint64_t>();
      else if (k == "eval_every") eval_every = v.get<int64_t>();
      else if (k == "val_tokens") val_tokens = v.get<int64_t>();
      else if (k == "save_every") save_every = v.get<int64_t>();
      else if (k == "keep_checkpoints") keep_checkpoints = v.get<int>();
      else return invalid_argument_error("train config: unknown key '{}'", k);
    }
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument_error("train config: wrong type: {}", e.what());
  }
  return ok_status();
}

}  // namespace fragua::train
