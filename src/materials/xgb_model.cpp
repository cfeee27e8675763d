// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/json.h"
#include "fragua/materials/model.h"

#include <xgboost/c_api.h>

#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/base/progress.h"
#include "fragua/base/thread_pool.h"
#include "fragua/materials/validation.h"
#include "materials/ubj_check.h"

namespace fragua::materials {

namespace {

constexpr const char* kMagicPrefix = "FRAGUA_MATERIALS_MODEL ";
constexpr const char* kMagic = "FRAGUA_MATERIALS_MODEL 2\n";
constexpr int kFormatVersion = 2;
// Members of an ensemble (the CLI trains 5 to 10): bounds what a model file can make us build.
constexpr int64_t kMaxMembers = 1000;
// Features per row (the Magpie-style set has about 280).
constexpr int64_t kMaxFeatures = int64_t{1} << 20;
// Boosting rounds and tree depth read from a model file (the CLI trains 100s of rounds, depth 6-8).
constexpr int64_t kMaxRounds = 1000000;
constexpr int64_t kMaxTreeDepth = 64;

Error xgb_error(const char* what) { return io_error("xgboost: {}: {}", what, XGBGetLastError()); }
#define FRAGUA_XGB(call, what)               \
  do {                                       \
    if ((call) != 0) return xgb_error(what); \
  } while (0)

void quiet_xgboost() {
  static std::once_flag once;
  std::call_once(once, [] { XGBSetGlobalConfig(R"({"verbosity": 0})"); });
}

struct DMatrix {
  DMatrixHandle h = nullptr;
  ~DMatrix() {
    if (h) XGDMatrixFree(h);
  }
};

struct Booster {
  BoosterHandle h = nullptr;
  Booster() = default;
  Booster(Booster&& o) noexcept : h(o.h) { o.h = nullptr; }
  Booster& operator=(Booster&& o) noexcept {
    std::swap(h, o.h);
    return *this;
  }
  ~Booster() {
    if (h) XGBoosterFree(h);
  }
};

Status make_dmatrix(const std::vector<float>& x, size_t n_features, DMatrix& m) {
  if (n_features == 0 || x.size() % n_features != 0)
    return invalid_argument_error("feature matrix of {} values is not a multiple of {} features", x.size(), n_features);
  FRAGUA_XGB(XGDMatrixCreateFromMat(x.data(), x.size() / n_features, n_features, std::nanf(""), &m.h),
             "creating a DMatrix");
  return ok_status();
}

int thread_count(int t) { return t > 0 ? t : ThreadPool::default_threads(); }

Status train_member(const std::vector<float>& x, size_t n_features, const std::vector<double>& y,
                    const TrainConfig& cfg, const std::string& objective, uint32_t seed, Booster& b, ProgressBar* bar) {
  DMatrix dm;
  FRAGUA_TRY(make_dmatrix(x, n_features, dm));
  std::vector<float> labels(y.begin(), y.end());
  FRAGUA_XGB(XGDMatrixSetFloatInfo(dm.h, "label", labels.data(), labels.size()), "setting labels");
  if (cfg.bootstrap) {  // a bootstrap resample, as integer row weights
    std::vector<float> w(y.size(), 0.0f);
    Mt19937 rng(seed);
    for (size_t i = 0; i < y.size(); ++i) w[rng.next_u32() % y.size()] += 1.0f;
    FRAGUA_XGB(XGDMatrixSetFloatInfo(dm.h, "weight", w.data(), w.size()), "setting weights");
  }
  FRAGUA_XGB(XGBoosterCreate(&dm.h, 1, &b.h), "creating a booster");
  const std::pair<const char*, std::string> params[] = {{"objective", objective},
                                                        {"eta", fmt::format("{}", cfg.eta)},
                                                        {"max_depth", std::to_string(cfg.max_depth)},
                                                        {"subsample", fmt::format("{}", cfg.subsample)},
                                                        {"colsample_bytree", fmt::format("{}", cfg.colsample)},
                                                        {"min_child_weight", fmt::format("{}", cfg.min_child_weight)},
                                                        {"lambda", fmt::format("{}", cfg.lambda)},
                                                        {"tree_method", "hist"},
                                                        {"seed", std::to_string(seed)},
                                                        {"nthread", "1"},
                                                        {"verbosity", "0"}};
  for (auto& [k, v] : params) FRAGUA_XGB(XGBoosterSetParam(b.h, k, v.c_str()), k);
  for (int it = 0; it < cfg.n_rounds; ++it) {
    FRAGUA_XGB(XGBoosterUpdateOneIter(b.h, it, dm.h), "training");
    if (bar) bar->add(1);
  }
  return ok_status();
}

// The training sets of a regression with a zero gate: the gate sees every row with label
// (y == 0); the regressor only the rows with y != 0, on log1p(y) when log_target is on.
struct Problem {
  std::vector<float> x_own;  // empty: the rows are the caller's x
  std::vector<double> y;
  std::string objective;
  const std::vector<float>& rows(const std::vector<float>& x) const { return x_own.empty() ? x : x_own; }
};

std::vector<Problem> split_problems(const std::vector<float>& x, size_t n_features, const std::vector<double>& y,
                                    const TrainConfig& cfg) {
  std::vector<Problem> out;
  bool gate = cfg.task == Task::regression && cfg.zero_gate == "on";
  bool log = cfg.task == Task::regression && cfg.log_target == "on";
  Problem main{{},
               {},
               !cfg.objective.empty()         ? cfg.objective
               : cfg.task == Task::regression ? "reg:squarederror"
                                              : "binary:logistic"};
  for (size_t i = 0; i < y.size(); ++i) {
    if (gate && y[i] == 0) continue;
    main.y.push_back(log ? std::log1p(y[i]) : y[i]);
    if (gate)
      main.x_own.insert(main.x_own.end(), x.begin() + static_cast<long>(i * n_features),
                        x.begin() + static_cast<long>((i + 1) * n_features));
  }
  out.push_back(std::move(main));
  if (gate) {
    Problem g{{}, {}, "binary:logistic"};
    for (double v : y) g.y.push_back(v == 0 ? 1.0 : 0.0);
    out.push_back(std::move(g));
  }
  return out;
}

Status check_switch(const std::string& name, const std::string& v) {
  if (v == "auto" || v == "on" || v == "off") return ok_status();
  return invalid_argument_error("{} must be auto, on or off, got '{}'", name, v);
}

}  // namespace

Result<TrainConfig> resolve_target_options(TrainConfig cfg, const std::vector<double>& y) {
  FRAGUA_TRY(check_switch("zero_gate", cfg.zero_gate));
  FRAGUA_TRY(check_switch("log_target", cfg.log_target));
  if (cfg.task != Task::regression) {
    cfg.zero_gate = cfg.log_target = "off";
    return cfg;
  }
  size_t zeros = 0, negative = 0;
  for (double v : y) {
    zeros += v == 0 ? 1 : 0;
    negative += v < 0 ? 1 : 0;
  }
  if (cfg.log_target == "auto") cfg.log_target = negative == 0 ? "on" : "off";
  if (cfg.log_target == "on" && negative > 0)
    return invalid_argument_error("log_target needs targets >= 0; {} of {} are negative", negative, y.size());
  if (cfg.zero_gate == "auto")
    cfg.zero_gate = negative == 0 && zeros < y.size() && 10 * zeros >= y.size() ? "on" : "off";
  if (cfg.zero_gate == "on" && (zeros == 0 || zeros == y.size()))
    return invalid_argument_error("zero_gate needs both zero and non-zero targets ({} of {} are zero)", zeros,
                                  y.size());
  return cfg;
}

Result<Task> parse_task(std::string_view name) {
  if (name == "regression") return Task::regression;
  if (name == "classification") return Task::classification;
  return invalid_argument_error("unknown task '{}' (regression, classification)", name);
}
const char* task_name(Task t) { return t == Task::regression ? "regression" : "classification"; }

nlohmann::json config_to_json(const TrainConfig& c) {
  return {{"task", task_name(c.task)},
          {"objective", c.objective},
          {"n_models", c.n_models},
          {"n_rounds", c.n_rounds},
          {"eta", c.eta},
          {"max_depth", c.max_depth},
          {"subsample", c.subsample},
          {"colsample", c.colsample},
          {"min_child_weight", c.min_child_weight},
          {"lambda", c.lambda},
          {"bootstrap", c.bootstrap},
          {"seed", c.seed},
          {"zero_gate", c.zero_gate},
          {"log_target", c.log_target}};
}

Result<TrainConfig> config_from_json(const nlohmann::json& j) {
  // Every field checked for its type and range: a float such as 1e300 read into an int is
  // undefined behaviour, and a raw JSON-library exception names no field.
  if (!j.is_object()) return corruption_error("model config: expected an object, found {}", json_preview(j));
  auto field = [&j](const char* key) -> Result<const nlohmann::json*> {
    auto it = j.find(key);
    if (it == j.end()) return corruption_error("model config: \"{}\" is missing", key);
    return &*it;
  };
  auto integer = [&](const char* key, int64_t lo, int64_t hi) -> Result<int64_t> {
    return json_integer(*FRAGUA_TRY(field(key)), fmt::format("model config: \"{}\"", key), lo, hi);
  };
  auto number = [&](const char* key) -> Result<double> {
    const nlohmann::json& v = *FRAGUA_TRY(field(key));
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      return corruption_error("model config: \"{}\": expected a finite number, found {}", key, json_preview(v));
    return v.get<double>();
  };
  auto text = [&](const char* key, std::string fallback) -> Result<std::string> {
    auto it = j.find(key);
    if (it == j.end()) return fallback;
    if (!it->is_string())
      return corruption_error("model config: \"{}\": expected a string, found {}", key, json_preview(*it));
    return it->get<std::string>();
  };
  TrainConfig c;
  const nlohmann::json& task = *FRAGUA_TRY(field("task"));
  if (!task.is_string())
    return corruption_error("model config: \"task\": expected a string, found {}", json_preview(task));
  c.task = FRAGUA_TRY(parse_task(task.get<std::string>()));
  const nlohmann::json& objective = *FRAGUA_TRY(field("objective"));
  if (!objective.is_string())
    return corruption_error("model config: \"objective\": expected a string, found {}", json_preview(objective));
  c.objective = objective.get<std::string>();
  c.n_models = static_cast<int>(FRAGUA_TRY(integer("n_models", 1, kMaxMembers)));
  c.n_rounds = static_cast<int>(FRAGUA_TRY(integer("n_rounds", 0, kMaxRounds)));
  c.eta = FRAGUA_TRY(number("eta"));
  c.max_depth = static_cast<int>(FRAGUA_TRY(integer("max_depth", 0, kMaxTreeDepth)));
  c.subsample = FRAGUA_TRY(number("subsample"));
  c.colsample = FRAGUA_TRY(number("colsample"));
  c.min_child_weight = FRAGUA_TRY(number("min_child_weight"));
  c.lambda = FRAGUA_TRY(number("lambda"));
  const nlohmann::json& bootstrap = *FRAGUA_TRY(field("bootstrap"));
  if (!bootstrap.is_boolean()) return corruption_error("model config: \"bootstrap\": expected true or false");
  c.bootstrap = bootstrap.get<bool>();
  c.seed = static_cast<uint32_t>(FRAGUA_TRY(integer("seed", 0, UINT32_MAX)));
  c.zero_gate = FRAGUA_TRY(text("zero_gate", "off"));  // absent in version 1 files
  c.log_target = FRAGUA_TRY(text("log_target", "off"));
  for (auto* v : {&c.zero_gate, &c.log_target})
    if (*v != "on" && *v != "off")
      return corruption_error("model config: zero_gate/log_target '{}' is not on or off", v->substr(0, 40));
  return c;
}

struct Model::Impl {
  TrainConfig cfg;
  std::string signature;
  nlohmann::json provenance;
  size_t n_features = 0;
  std::vector<Booster> members;       // regressors (or classifiers for Task::classification)
  std::vector<Booster> gate_members;  // p(y == 0), with a zero gate
};

Model::Model() : impl_(std::make_unique<Impl>()) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;
const TrainConfig& Model::config() const { return impl_->cfg; }
const nlohmann::json& Model::provenance() const { return impl_->provenance; }
const std::string& Model::feature_signature() const { return impl_->signature; }
size_t Model::n_features() const { return impl_->n_features; }

Result<Model> Model::train(const std::vector<float>& x, size_t n_features, const std::vector<double>& y,
                           const TrainConfig& cfg, std::string feature_signature) {
  quiet_xgboost();
  if (cfg.n_models < 1 || cfg.n_rounds < 1) return invalid_argument_error("need at least one model and one round");
  if (y.empty() || x.size() != y.size() * n_features)
    return invalid_argument_error("{} feature rows for {} targets", n_features ? x.size() / n_features : 0, y.size());
  if (cfg.task == Task::classification)
    for (size_t i = 0; i < y.size(); ++i)
      if (y[i] != 0 && y[i] != 1)
        return invalid_argument_error("row {}: classification labels must be 0 or 1, got {}", i, y[i]);
  Model model;
  model.impl_->cfg = FRAGUA_TRY(resolve_target_options(cfg, y));
  model.impl_->signature = std::move(feature_signature);
  model.impl_->n_features = n_features;
  auto problems = split_problems(x, n_features, y, model.impl_->cfg);
  size_t k = static_cast<size_t>(cfg.n_models);
  model.impl_->members.resize(k);
  if (problems.size() > 1) model.impl_->gate_members.resize(k);
  // Members train in parallel, one XGBoost thread each: OpenMP's spinning barriers collapse on
  // a shared, oversubscribed machine (measured 20x slower with nthread=2 than 1 under load),
  // while independent members scale cleanly. Each thread owns its DMatrix (XGBoost caches
  // quantile sketches inside it). Job j trains member j % k of problem j / k.
  size_t jobs = k * problems.size();
  std::vector<std::optional<Error>> errors(jobs);
  ThreadPool pool(std::min(thread_count(cfg.threads), static_cast<int>(jobs)));
  ProgressBar bar("xgboost members", jobs * static_cast<uint64_t>(cfg.n_rounds), "round");
  pool.parallel_for_dynamic(jobs, 1, [&](size_t b, size_t e) {
    for (size_t j = b; j < e; ++j) {
      const Problem& pr = problems[j / k];
      auto& dst = j / k == 0 ? model.impl_->members[j % k] : model.impl_->gate_members[j % k];
      uint32_t seed = cfg.seed + 7919u * static_cast<uint32_t>(j % k);
      auto st = train_member(pr.rows(x), n_features, pr.y, model.impl_->cfg, pr.objective, seed, dst, &bar);
      if (!st.ok()) errors[j] = st.error();
    }
  });
  for (auto& err : errors)
    if (err) return *err;
  return model;
}

namespace {
Result<std::vector<std::vector<float>>> member_outputs(const std::vector<Booster>& members, const DMatrix& dm,
                                                       size_t n) {
  std::vector<std::vector<float>> all;
  for (auto& b : members) {
    bst_ulong len = 0;
    const float* out = nullptr;
    FRAGUA_XGB(XGBoosterPredict(b.h, dm.h, 0, 0, 0, &len, &out), "predicting");
    if (len != n) return io_error("xgboost returned {} predictions for {} rows", len, n);
    all.emplace_back(out, out + len);
  }
  return all;
}
}  // namespace

Result<Prediction> Model::predict(const std::vector<float>& x, size_t n_features) const {
  quiet_xgboost();
  if (n_features != impl_->n_features)
    return invalid_argument_error("model expects {} features, got {}", impl_->n_features, n_features);
  size_t n = n_features ? x.size() / n_features : 0;
  if (n == 0) return Prediction{};
  DMatrix dm;
  FRAGUA_TRY(make_dmatrix(x, n_features, dm));
  auto all = FRAGUA_TRY(member_outputs(impl_->members, dm, n));
  Prediction p = ensemble_prediction(all, impl_->cfg.log_target == "on");
  if (impl_->gate_members.empty()) return p;
  auto gate = FRAGUA_TRY(member_outputs(impl_->gate_members, dm, n));
  apply_zero_gate(p, gate);
  return p;
}

Status Model::save(const std::string& path, const nlohmann::json& provenance) const {
  auto bytes = FRAGUA_TRY(to_bytes(provenance));
  return write_file_atomic(path, bytes);
}

Result<std::string> Model::to_bytes(const nlohmann::json& provenance) const {
  std::vector<std::string> blobs;
  for (auto* set : {&impl_->members, &impl_->gate_members})
    for (auto& b : *set) {
      bst_ulong len = 0;
      const char* buf = nullptr;
      FRAGUA_XGB(XGBoosterSaveModelToBuffer(b.h, R"({"format": "ubj"})", &len, &buf), "serialising");
      blobs.emplace_back(buf, len);
    }
  nlohmann::json header = {{"format_version", kFormatVersion},
                           {"config", config_to_json(impl_->cfg)},
                           {"feature_signature", impl_->signature},
                           {"n_features", impl_->n_features},
                           {"provenance", provenance},
                           {"xgboost", "ubj"}};
  header["member_bytes"] = nlohmann::json::array();
  header["gate_member_bytes"] = nlohmann::json::array();
  for (size_t i = 0; i < blobs.size(); ++i)
    header[i < impl_->members.size() ? "member_bytes" : "gate_member_bytes"].push_back(blobs[i].size());
  std::string out = kMagic;
  out += header.dump() + "\n";
  for (auto& b : blobs) out += b;
  return out;
}

Result<Model> Model::load(const std::string& path) {
  auto data = FRAGUA_TRY(read_file(path));
  return parse(data, path);
}

Result<Model> Model::parse(std::string_view data, const std::string& path) {
  quiet_xgboost();
  size_t magic_len = std::strlen(kMagic);
  bool v1 = data.rfind("FRAGUA_MATERIALS_MODEL 1\n", 0) == 0;  // before the zero gate; same layout
  if (!v1 && data.compare(0, magic_len, kMagic) != 0) {
    if (data.rfind(kMagicPrefix, 0) == 0)
      return unsupported_error("{}: model format version '{}' is not supported (this build reads 1 and 2)", path,
                               data.substr(23, std::min<size_t>(data.find('\n'), 43) - 23));
    return corruption_error("{}: not a fragua materials model (bad magic at offset 0)", path);
  }
  size_t eol = data.find('\n', magic_len);
  if (eol == std::string::npos) return corruption_error("{}: header line truncated at offset {}", path, magic_len);
  nlohmann::json h = FRAGUA_TRY(parse_json(std::string_view(data).substr(magic_len, eol - magic_len), path, magic_len));
  Model m;
  try {
    auto cfg = config_from_json(h.at("config"));
    if (!cfg.ok()) return std::move(cfg).error().with_context(path);
    m.impl_->cfg = std::move(*cfg);
    m.impl_->signature = h.at("feature_signature").get<std::string>();
    if (h.contains("provenance")) m.impl_->provenance = h.at("provenance");
    m.impl_->n_features =
        static_cast<size_t>(FRAGUA_TRY(json_integer(h.at("n_features"), path + ": n_features", 1, kMaxFeatures)));
    size_t off = eol + 1;  // <= data.size(): eol is an index into data
    for (const char* key : {"member_bytes", "gate_member_bytes"}) {
      if (!h.contains(key) && v1) continue;
      auto& dst = key[0] == 'm' ? m.impl_->members : m.impl_->gate_members;
      const auto& sizes = h.at(key);
      if (!sizes.is_array() || sizes.size() > static_cast<size_t>(kMaxMembers))
        return corruption_error("{}: {}: expected an array of at most {} sizes, found {}", path, key, kMaxMembers,
                                json_preview(sizes));
      for (auto& nb : sizes) {
        size_t bytes =
            static_cast<size_t>(FRAGUA_TRY(json_integer(nb, fmt::format("{}: {}", path, key), 0, INT64_MAX)));
        if (bytes > data.size() - off)
          return corruption_error("{}: member at offset {} ({} bytes) runs past the end ({} bytes)", path, off, bytes,
                                  data.size());
        FRAGUA_TRY(
            check_ubjson(std::string_view(data).substr(off, bytes), fmt::format("{}: member at offset {}", path, off)));
        FRAGUA_TRY(check_xgboost_trees(std::string_view(data).substr(off, bytes),
                                       fmt::format("{}: member at offset {}", path, off), m.impl_->n_features));
        Booster b;
        FRAGUA_XGB(XGBoosterCreate(nullptr, 0, &b.h), "creating a booster");
        FRAGUA_XGB(XGBoosterLoadModelFromBuffer(b.h, data.data() + off, bytes), "loading a member");
        FRAGUA_XGB(XGBoosterSetParam(b.h, "nthread", "1"), "nthread");
        dst.push_back(std::move(b));
        off += bytes;
      }
    }
    if (m.impl_->members.empty()) return corruption_error("{}: no ensemble members", path);
    if ((m.impl_->cfg.zero_gate == "on") != !m.impl_->gate_members.empty())
      return corruption_error("{}: zero_gate is '{}' but the file holds {} gate members", path, m.impl_->cfg.zero_gate,
                              m.impl_->gate_members.size());
  } catch (const nlohmann::json::exception& e) {
    return corruption_error("{}: bad header: {}", path, e.what());
  }
  return m;
}

Result<CvResult> cross_validate(const std::vector<float>& x, size_t n_features, const std::vector<double>& y,
                                const TrainConfig& cfg, int n_splits, uint32_t seed, MetricsWriter* metrics) {
  auto fit = [&](const std::vector<size_t>& train, const std::vector<size_t>& test) -> Result<FoldOutput> {
    auto rows = [&](const std::vector<size_t>& idx) {
      std::vector<float> out;
      out.reserve(idx.size() * n_features);
      for (size_t i : idx)
        out.insert(out.end(), x.begin() + static_cast<long>(i * n_features),
                   x.begin() + static_cast<long>((i + 1) * n_features));
      return out;
    };
    std::vector<double> ytr;
    for (size_t i : train) ytr.push_back(y[i]);
    auto model = FRAGUA_TRY(Model::train(rows(train), n_features, ytr, cfg, ""));
    FoldOutput o;
    o.pred = FRAGUA_TRY(model.predict(rows(test), n_features));
    o.info = {{"zero_gate", model.config().zero_gate}, {"log_target", model.config().log_target}};
    return o;
  };
  return run_cross_validation(y, cfg.task, n_splits, seed, metrics, fit);
}

}  // namespace fragua::materials
