#include "train/checkpoint.h"

#include <algorithm>
#include <filesystem>

#include "fragua/base/json.h"
#include "fragua/format/safetensors.h"
#include "fragua/train/trainer.h"

namespace fragua::train {

namespace fs = std::filesystem;

namespace {

std::vector<int64_t> torch_shape(const ParamInfo& p) { return {p.ne.rbegin(), p.ne.rend()}; }

Status add_all(format::SafetensorsWriter& w, const Model& model, const std::string& prefix, const float* base) {
  for (const auto& p : model.param_infos())
    FRAGUA_TRY(w.add_tensor(prefix + p.name, "F32", torch_shape(p), base + p.offset, p.size * 4));
  return ok_status();
}

Status read_all(const format::SafetensorsFile& f, const Model& model, const std::string& prefix, float* base) {
  for (const auto& p : model.param_infos()) {
    const auto* t = f.find(prefix + p.name);
    if (!t) return corruption_error("{}: missing tensor '{}'", f.path(), prefix + p.name);
    if (t->shape != torch_shape(p))
      return corruption_error("{}: tensor '{}' has shape [{}], the model needs [{}]", f.path(), prefix + p.name,
                              fmt::join(t->shape, ", "), fmt::join(torch_shape(p), ", "));
    FRAGUA_TRY(f.read_f32(prefix + p.name, base + p.offset, static_cast<int64_t>(p.size)));
  }
  return ok_status();
}

std::string step_name(int64_t step) { return fmt::format("step-{:08d}", step); }

}  // namespace

Status save_model_safetensors(const Model& model, const std::string& path, const nlohmann::json& provenance, Env& env) {
  format::SafetensorsWriter w;
  w.set_metadata("format", "fragua.model");
  w.set_metadata("fragua.config", model.config().to_json().dump());
  w.set_metadata("fragua.provenance", provenance.dump());
  FRAGUA_TRY(add_all(w, model, "", model.params().data()));
  return w.write(path, env);
}

Result<Model> load_model_safetensors(const std::string& path) {
  auto f = FRAGUA_TRY(format::SafetensorsFile::open(path));
  auto it = f.metadata().find("fragua.config");
  if (it == f.metadata().end()) return corruption_error("{}: no \"fragua.config\" metadata (not a Fragua checkpoint)", path);
  nlohmann::json cj = FRAGUA_TRY(parse_json(it->second, path + ": metadata \"fragua.config\""));
  auto cfg = ModelConfig::from_json(cj);
  if (!cfg.ok()) return std::move(cfg).error().with_context(path);
  auto model = FRAGUA_TRY(Model::create(*cfg));
  FRAGUA_TRY(read_all(f, model, "", model.params().data()));
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
  FRAGUA_TRY(add_all(w, model, "m/", opt.m().data()));
  FRAGUA_TRY(add_all(w, model, "v/", opt.v().data()));
  FRAGUA_TRY(w.write(dir + "/optimizer.safetensors", env));
  state["format"] = "fragua.train_state";
  state["version"] = 1;
  state["step"] = step;
  state["adam_t"] = opt.t();
  FRAGUA_TRY(write_file_atomic(dir + "/state.json", state.dump(1) + "\n", env));
  FRAGUA_TRY(write_file_atomic(out_dir + "/latest", step_name(step) + "\n", env));
  // Older checkpoints beyond `keep` go only after the new one is complete and named.
  std::vector<std::string> all;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(out_dir + "/checkpoints", ec))
    if (e.is_directory() && e.path().filename().string().starts_with("step-")) all.push_back(e.path().string());
  std::sort(all.begin(), all.end());
  for (size_t i = 0; keep > 0 && i + static_cast<size_t>(keep) < all.size(); ++i) fs::remove_all(all[i], ec);
  return ok_status();
}

Result<std::string> latest_checkpoint(const std::string& out_dir) {
  std::string latest = out_dir + "/latest";
  if (!Env::posix().file_exists(latest)) return not_found_error("{}: no checkpoint to resume from", latest);
  std::string name = FRAGUA_TRY(read_file(latest));
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  if (!name.starts_with("step-") || name.find('/') != std::string::npos)
    return corruption_error("{}: does not name a checkpoint ('{}')", latest, name);
  std::string dir = out_dir + "/checkpoints/" + name;
  if (!Env::posix().file_exists(dir + "/state.json")) return not_found_error("{}: checkpoint has no state.json", dir);
  return dir;
}

Result<nlohmann::json> load_checkpoint(const std::string& dir, Model& model, AdamW& opt) {
  std::string text = FRAGUA_TRY(read_file(dir + "/state.json"));
  nlohmann::json state = FRAGUA_TRY(parse_json(text, dir + "/state.json"));
  if (!state.is_object() || state.value("format", "") != "fragua.train_state")
    return corruption_error("{}/state.json: not a Fragua training state", dir);
  if (state.value("version", 0) != 1)
    return unsupported_error("{}/state.json: state version {} (this Fragua reads 1)", dir, state.value("version", 0));
  auto mf = FRAGUA_TRY(format::SafetensorsFile::open(dir + "/model.safetensors"));
  FRAGUA_TRY(read_all(mf, model, "", model.params().data()));
  auto of = FRAGUA_TRY(format::SafetensorsFile::open(dir + "/optimizer.safetensors"));
  FRAGUA_TRY(read_all(of, model, "m/", opt.m().data()));
  FRAGUA_TRY(read_all(of, model, "v/", opt.v().data()));
  opt.set_t(state.value("adam_t", int64_t{0}));
  return state;
}

}  // namespace fragua::train
