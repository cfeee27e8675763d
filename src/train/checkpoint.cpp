// SPDX-License-Identifier: Apache-2.0
#include "train/checkpoint.h"

#include <xxhash.h>

#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/base/utf8.h"
#include "fragua/format/safetensors.h"
#include "fragua/train/trainer.h"

namespace fragua::train {

namespace {

std::string step_name(int64_t step) { return fmt::format("step-{:08d}", step); }

// state.json's own checksum: XXH64 of the compact dump of the document without its "xxh64" key.
// nlohmann::json dumps objects in key order and doubles in their shortest round-trip form, so the
// parsed file dumps to the same bytes as the document that was saved.
std::string state_xxh64(nlohmann::json state) {
  state.erase("xxh64");
  const std::string text = state.dump();
  return fmt::format("{:016x}", XXH64(text.data(), text.size(), 0));
}

}  // namespace

Status save_model_safetensors(const Model& model, const std::string& path, const nlohmann::json& provenance, Env& env) {
  format::SafetensorsWriter w;
  w.set_metadata("format", "fragua.model");
  w.set_metadata("fragua.config", model.config().to_json().dump());
  w.set_metadata("fragua.provenance", provenance.dump());
  FRAGUA_TRY(model.param_store().add_safetensors(w, "", model.params().data()));
  return w.write(path, env);
}

Result<Model> load_model_safetensors(const std::string& path) {
  auto f = FRAGUA_TRY(format::SafetensorsFile::open(path));
  auto it = f.metadata().find("fragua.config");
  if (it == f.metadata().end())
    return corruption_error("{}: no \"fragua.config\" metadata (not a Fragua checkpoint)", path);
  nlohmann::json cj = FRAGUA_TRY(parse_json(it->second, path + ": metadata \"fragua.config\""));
  auto cfg = ModelConfig::from_json(cj);
  if (!cfg.ok()) return std::move(cfg).error().with_context(path);
  // The weights are F32 tensors of this file: a config claiming more parameters than its bytes
  // hold is refused before Model::create allocates (and zero-fills) them twice over.
  uint64_t held = 0;
  for (const auto& t : f.tensors()) held += t.n_bytes;  // each lies inside the file: no overflow
  if (static_cast<uint64_t>(cfg->n_params()) > held / 4)
    return corruption_error(
        "{}: metadata \"fragua.config\" describes {} parameters but the file's tensors hold {} bytes", path,
        cfg->n_params(), held);
  auto model = FRAGUA_TRY(Model::create(*cfg));
  FRAGUA_TRY(model.param_store().read_safetensors(f, "", model.params().data()));
  return model;
}

Status save_checkpoint(const std::string& out_dir, int64_t step, const Model& model, AdamW& opt, nlohmann::json state,
                       int keep, Env& env) {
  std::string dir = out_dir + "/checkpoints/" + step_name(step);
  FRAGUA_TRY(env.create_dirs(dir));
  nlohmann::json prov = state.value("provenance", nlohmann::json::object());
  FRAGUA_TRY(save_model_safetensors(model, dir + "/model.safetensors", prov, env));
  format::SafetensorsWriter w;
  w.set_metadata("format", "fragua.adamw");
  w.set_metadata("t", std::to_string(opt.t()));
  FRAGUA_TRY(model.param_store().add_safetensors(w, "m/", opt.m().data()));
  FRAGUA_TRY(model.param_store().add_safetensors(w, "v/", opt.v().data()));
  FRAGUA_TRY(w.write(dir + "/optimizer.safetensors", env));
  state["format"] = "fragua.train_state";
  state["version"] = 1;
  state["step"] = step;
  state["adam_t"] = opt.t();
  state["xxh64"] = state_xxh64(state);
  FRAGUA_TRY(write_file_atomic(dir + "/state.json", state.dump(1) + "\n", env));
  FRAGUA_TRY(write_file_atomic(out_dir + "/latest", step_name(step) + "\n", env));
  // Older checkpoints beyond `keep` go only after the new one is complete and named. A failed
  // removal costs disk space, not the run: the next save retries it.
  if (auto pruned = prune_checkpoints(out_dir, keep, step, env); !pruned.ok())
    log_warn("could not remove an old checkpoint: {}", pruned.error().message());
  return ok_status();
}

Status prune_checkpoints(const std::string& out_dir, int keep, int64_t newest, Env& env) {
  if (keep <= 0) return ok_status();
  const std::string root = out_dir + "/checkpoints";
  std::vector<std::string> all;
  for (const auto& e : FRAGUA_TRY(env.list_dir(root)))  // sorted by name: oldest step first
    if (e.is_directory && e.name.starts_with("step-") && e.name != step_name(newest)) all.push_back(e.name);
  // The newest is never a candidate, so `keep` counts it among the kept.
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size() + 1; ++i)
    FRAGUA_TRY(remove_tree(root + "/" + all[i], env));
  return ok_status();
}

Result<std::string> latest_checkpoint(const std::string& out_dir, Env& env) {
  std::string latest = out_dir + "/latest";
  if (!env.file_exists(latest)) return not_found_error("{}: no checkpoint to resume from", latest);
  std::string name = FRAGUA_TRY(read_file(latest, env));
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  if (!name.starts_with("step-") || name.find('/') != std::string::npos)
    return corruption_error("{}: does not name a checkpoint ('{}')", latest, name);
  std::string dir = out_dir + "/checkpoints/" + name;
  if (!env.file_exists(dir + "/state.json")) return not_found_error("{}: checkpoint has no state.json", dir);
  return dir;
}

Result<TrainState> parse_train_state(const nlohmann::json& state, const std::string& origin) {
  if (!state.is_object()) return corruption_error("{}: not a Fragua training state ({})", origin, json_preview(state));
  const auto* format = state.contains("format") ? state["format"].get_ptr<const std::string*>() : nullptr;
  if (!format || *format != "fragua.train_state")
    return corruption_error("{}: not a Fragua training state (\"format\" is {})", origin,
                            state.contains("format") ? json_preview(state["format"]) : "missing");
  auto field = [&](const char* key) { return fmt::format("{}: \"{}\"", origin, key); };
  auto integer = [&](const char* key, int64_t lo, int64_t hi) -> Result<int64_t> {
    if (!state.contains(key)) return corruption_error("{} is missing", field(key));
    return json_integer(state[key], field(key), lo, hi);
  };
  if (!state.contains("version") || !state["version"].is_number_integer())
    return corruption_error("{} must be an integer", field("version"));
  if (state["version"] != 1)
    return unsupported_error("{}: state version {} (this Fragua reads 1): resume it with the Fragua that wrote it",
                             origin, json_preview(state["version"]));
  TrainState t;
  t.step = FRAGUA_TRY(integer("step", 0, kMaxTrainSteps));
  t.adam_t = FRAGUA_TRY(integer("adam_t", 0, kMaxTrainSteps));
  if (state.contains("tokenizer_fingerprint")) {
    if (!state["tokenizer_fingerprint"].is_string())
      return corruption_error("{} is {}, expected a string", field("tokenizer_fingerprint"),
                              json_preview(state["tokenizer_fingerprint"]));
    t.tokenizer_fingerprint = state["tokenizer_fingerprint"].get<std::string>();
  }
  if (state.contains("world_size")) t.world_size = FRAGUA_TRY(integer("world_size", 1, kMaxStateRanks));
  if (state.contains("batch")) t.batch = FRAGUA_TRY(integer("batch", 1, kMaxStateRanks));
  if (state.contains("grad_accum")) t.grad_accum = FRAGUA_TRY(integer("grad_accum", 1, kMaxStateRanks));
  if (state.contains("seq_len")) t.seq_len = FRAGUA_TRY(integer("seq_len", 1, kMaxStateRanks));
  if (!state.contains("data")) return corruption_error("{} is missing", field("data"));
  FRAGUA_TRY(parse_data_state(state["data"], origin));
  t.data = state["data"];
  t.raw = state;
  return t;
}

Result<TrainState> load_checkpoint(const std::string& dir, Model& model, AdamW& opt, Env& env) {
  const std::string path = dir + "/state.json";
  std::string text = FRAGUA_TRY(read_file(path, env));
  TrainState state = FRAGUA_TRY(parse_train_state(FRAGUA_TRY(parse_json(text, path)), path));
  // After the field checks, whose messages are more specific; checkpoints written before the
  // checksum was recorded have none.
  if (state.raw.contains("xxh64")) {
    const auto* want = state.raw["xxh64"].get_ptr<const std::string*>();
    if (!want) return corruption_error("{}: \"xxh64\" is {}, expected a string", path, json_preview(state.raw["xxh64"]));
    const std::string got = state_xxh64(state.raw);
    if (got != *want)
      return corruption_error(
          "{}: fails its checksum (XXH64 {}, saved as {}): the file is damaged; resume from an earlier checkpoint",
          path, got, terminal_safe(*want));
  }
  auto mf = FRAGUA_TRY(format::SafetensorsFile::open(dir + "/model.safetensors"));
  FRAGUA_TRY(model.param_store().read_safetensors(mf, "", model.params().data()));
  auto of = FRAGUA_TRY(format::SafetensorsFile::open(dir + "/optimizer.safetensors"));
  FRAGUA_TRY(model.param_store().read_safetensors(of, "m/", opt.m().data()));
  FRAGUA_TRY(model.param_store().read_safetensors(of, "v/", opt.v().data()));
  opt.set_t(state.adam_t);
  return state;
}

}  // namespace fragua::train
