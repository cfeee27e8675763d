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

namespace fragua::materials {

namespace {

constexpr const char* kMagic = "FRAGUA_MATERIALS_MODEL 1\n";
constexpr int kFormatVersion = 1;

Error xgb_error(const char* what) { return io_error("xgboost: {}: {}", what, XGBGetLastError()); }
#define FRAGUA_XGB(call, what) \
  do {                         \
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
                    const TrainConfig& cfg, uint32_t m, Booster& b) {
  DMatrix dm;
  FRAGUA_TRY(make_dmatrix(x, n_features, dm));
  std::vector<float> labels(y.begin(), y.end());
  FRAGUA_XGB(XGDMatrixSetFloatInfo(dm.h, "label", labels.data(), labels.size()), "setting labels");
  uint32_t seed = cfg.seed + 7919u * m;
  if (cfg.bootstrap) {  // a bootstrap resample, as integer row weights
    std::vector<float> w(y.size(), 0.0f);
    Mt19937 rng(seed);
    for (size_t i = 0; i < y.size(); ++i) w[rng.next_u32() % y.size()] += 1.0f;
    FRAGUA_XGB(XGDMatrixSetFloatInfo(dm.h, "weight", w.data(), w.size()), "setting weights");
  }
  std::string objective = !cfg.objective.empty() ? cfg.objective
                          : cfg.task == Task::regression ? "reg:squarederror" : "binary:logistic";
  FRAGUA_XGB(XGBoosterCreate(&dm.h, 1, &b.h), "creating a booster");
  const std::pair<const char*, std::string> params[] = {
      {"objective", objective}, {"eta", fmt::format("{}", cfg.eta)},
      {"max_depth", std::to_string(cfg.max_depth)}, {"subsample", fmt::format("{}", cfg.subsample)},
      {"colsample_bytree", fmt::format("{}", cfg.colsample)},
      {"min_child_weight", fmt::format("{}", cfg.min_child_weight)},
      {"lambda", fmt::format("{}", cfg.lambda)}, {"tree_method", "hist"},
      {"seed", std::to_string(seed)}, {"nthread", "1"}, {"verbosity", "0"}};
  for (auto& [k, v] : params) FRAGUA_XGB(XGBoosterSetParam(b.h, k, v.c_str()), k);
  for (int it = 0; it < cfg.n_rounds; ++it) FRAGUA_XGB(XGBoosterUpdateOneIter(b.h, it, dm.h), "training");
  return ok_status();
}

}  // namespace

Result<Task> parse_task(std::string_view name) {
  if (name == "regression") return Task::regression;
  if (name == "classification") return Task::classification;
  return invalid_argument_error("unknown task '{}' (regression, classification)", name);
}
const char* task_name(Task t) { return t == Task::regression ? "regression" : "classification"; }

nlohmann::json config_to_json(const TrainConfig& c) {
  return {{"task", task_name(c.task)}, {"objective", c.objective}, {"n_models", c.n_models},
          {"n_rounds", c.n_rounds}, {"eta", c.eta}, {"max_depth", c.max_depth},
          {"subsample", c.subsample}, {"colsample", c.colsample},
          {"min_child_weight", c.min_child_weight}, {"lambda", c.lambda},
          {"bootstrap", c.bootstrap}, {"seed", c.seed}};
}

Result<TrainConfig> config_from_json(const nlohmann::json& j) {
  TrainConfig c;
  try {
    c.task = FRAGUA_TRY(parse_task(j.at("task").get<std::string>()));
    c.objective = j.at("objective").get<std::string>();
    c.n_models = j.at("n_models").get<int>();
    c.n_rounds = j.at("n_rounds").get<int>();
    c.eta = j.at("eta").get<double>();
    c.max_depth = j.at("max_depth").get<int>();
    c.subsample = j.at("subsample").get<double>();
    c.colsample = j.at("colsample").get<double>();
    c.min_child_weight = j.at("min_child_weight").get<double>();
    c.lambda = j.at("lambda").get<double>();
    c.bootstrap = j.at("bootstrap").get<bool>();
    c.seed = j.at("seed").get<uint32_t>();
  } catch (const nlohmann::json::exception& e) {
    return corruption_error("model config: {}", e.what());
  }
  return c;
}

struct Model::Impl {
  TrainConfig cfg;
  std::string signature;
  size_t n_features = 0;
  std::vector<Booster> members;
};

Model::Model() : impl_(std::make_unique<Impl>()) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;
const TrainConfig& Model::config() const { return impl_->cfg; }
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
      if (y[i] != 0 && y[i] != 1) return invalid_argument_error("row {}: classification labels must be 0 or 1, got {}", i, y[i]);
  Model model;
  model.impl_->cfg = cfg;
  model.impl_->signature = std::move(feature_signature);
  model.impl_->n_features = n_features;
  model.impl_->members.resize(static_cast<size_t>(cfg.n_models));
  // Members train in parallel, one XGBoost thread each: OpenMP's spinning barriers collapse on
  // a shared, oversubscribed machine (measured 20x slower with nthread=2 than 1 under load),
  // while independent members scale cleanly. Each thread owns its DMatrix (XGBoost caches
  // quantile sketches inside it).
  std::vector<std::optional<Error>> errors(model.impl_->members.size());
  ThreadPool pool(std::min(thread_count(cfg.threads), cfg.n_models));
  pool.parallel_for_dynamic(model.impl_->members.size(), 1, [&](size_t b, size_t e) {
    for (size_t m = b; m < e; ++m) {
      auto st = train_member(x, n_features, y, cfg, static_cast<uint32_t>(m), model.impl_->members[m]);
      if (!st.ok()) errors[m] = st.error();
    }
  });
  for (auto& err : errors)
    if (err) return *err;
  return model;
}

Result<Prediction> Model::predict(const std::vector<float>& x, size_t n_features) const {
  quiet_xgboost();
  if (n_features != impl_->n_features)
    return invalid_argument_error("model expects {} features, got {}", impl_->n_features, n_features);
  size_t n = n_features ? x.size() / n_features : 0;
  Prediction p;
  p.mean.assign(n, 0.0);
  p.std.assign(n, 0.0);
  if (n == 0) return p;
  DMatrix dm;
  FRAGUA_TRY(make_dmatrix(x, n_features, dm));
  std::vector<std::vector<float>> all;
  for (auto& b : impl_->members) {
    bst_ulong len = 0;
    const float* out = nullptr;
    FRAGUA_XGB(XGBoosterPredict(b.h, dm.h, 0, 0, 0, &len, &out), "predicting");
    if (len != n) return io_error("xgboost returned {} predictions for {} rows", len, n);
    all.emplace_back(out, out + len);
  }
  double k = static_cast<double>(all.size());
  for (size_t i = 0; i < n; ++i) {
    double s = 0, s2 = 0;
    for (auto& v : all) s += v[i];
    double mean = s / k;
    for (auto& v : all) s2 += (v[i] - mean) * (v[i] - mean);
    p.mean[i] = mean;
    p.std[i] = all.size() > 1 ? std::sqrt(s2 / (k - 1)) : 0.0;
  }
  return p;
}

Status Model::save(const std::string& path, const nlohmann::json& provenance) const {
  std::vector<std::string> blobs;
  for (auto& b : impl_->members) {
    bst_ulong len = 0;
    const char* buf = nullptr;
    FRAGUA_XGB(XGBoosterSaveModelToBuffer(b.h, R"({"format": "ubj"})", &len, &buf), "serialising");
    blobs.emplace_back(buf, len);
  }
  nlohmann::json header = {{"format_version", kFormatVersion}, {"config", config_to_json(impl_->cfg)},
                           {"feature_signature", impl_->signature}, {"n_features", impl_->n_features},
                           {"provenance", provenance}, {"xgboost", "ubj"}};
  for (auto& b : blobs) header["member_bytes"].push_back(b.size());
  auto f = FRAGUA_TRY(AtomicFile::create(path));
  FRAGUA_TRY(f.append(kMagic));
  FRAGUA_TRY(f.append(header.dump() + "\n"));
  for (auto& b : blobs) FRAGUA_TRY(f.append(b));
  return f.commit();
}

Result<Model> Model::load(const std::string& path) {
  quiet_xgboost();
  auto data = FRAGUA_TRY(read_file(path));
  size_t magic_len = std::strlen(kMagic);
  if (data.compare(0, magic_len, kMagic) != 0) {
    if (data.rfind("FRAGUA_MATERIALS_MODEL ", 0) == 0)
      return unsupported_error("{}: model format version '{}' is not supported (this build reads 1)", path,
                               data.substr(23, data.find('\n') - 23));
    return corruption_error("{}: not a fragua materials model (bad magic at offset 0)", path);
  }
  size_t eol = data.find('\n', magic_len);
  if (eol == std::string::npos) return corruption_error("{}: header line truncated at offset {}", path, magic_len);
  nlohmann::json h = FRAGUA_TRY(parse_json(std::string_view(data).substr(magic_len, eol - magic_len), path, magic_len));
  Model m;
  try {
    m.impl_->cfg = FRAGUA_TRY(config_from_json(h.at("config")));
    m.impl_->signature = h.at("feature_signature").get<std::string>();
    m.impl_->n_features = h.at("n_features").get<size_t>();
    size_t off = eol + 1;  // <= data.size(): eol is an index into data
    for (auto& nb : h.at("member_bytes")) {
      size_t bytes = nb.get<size_t>();
      if (bytes > data.size() - off)
        return corruption_error("{}: member at offset {} ({} bytes) runs past the end ({} bytes)", path, off, bytes, data.size());
      Booster b;
      FRAGUA_XGB(XGBoosterCreate(nullptr, 0, &b.h), "creating a booster");
      FRAGUA_XGB(XGBoosterLoadModelFromBuffer(b.h, data.data() + off, bytes), "loading a member");
      FRAGUA_XGB(XGBoosterSetParam(b.h, "nthread", "1"), "nthread");
      m.impl_->members.push_back(std::move(b));
      off += bytes;
    }
    if (m.impl_->members.empty()) return corruption_error("{}: no ensemble members", path);
  } catch (const nlohmann::json::exception& e) {
    return corruption_error("{}: bad header: {}", path, e.what());
  }
  return m;
}

Result<CvResult> cross_validate(const std::vector<float>& x, size_t n_features, const std::vector<double>& y,
                                const TrainConfig& cfg, int n_splits, uint32_t seed, MetricsWriter* metrics) {
  CvResult r;
  r.fold = FRAGUA_TRY(kfold_assignment(y.size(), n_splits, true, seed));
  r.oof.mean.assign(y.size(), 0);
  r.oof.std.assign(y.size(), 0);
  ProgressBar bar("cv folds", static_cast<uint64_t>(n_splits), "fold");
  for (int f = 0; f < n_splits; ++f) {
    std::vector<float> xtr, xte;
    std::vector<double> ytr, yte;
    std::vector<size_t> test_rows;
    for (size_t i = 0; i < y.size(); ++i) {
      auto& xs = r.fold[i] == f ? xte : xtr;
      xs.insert(xs.end(), x.begin() + static_cast<long>(i * n_features), x.begin() + static_cast<long>((i + 1) * n_features));
      (r.fold[i] == f ? yte : ytr).push_back(y[i]);
      if (r.fold[i] == f) test_rows.push_back(i);
    }
    auto model = FRAGUA_TRY(Model::train(xtr, n_features, ytr, cfg, ""));
    auto pred = FRAGUA_TRY(model.predict(xte, n_features));
    for (size_t k = 0; k < test_rows.size(); ++k) {
      r.oof.mean[test_rows[k]] = pred.mean[k];
      r.oof.std[test_rows[k]] = pred.std[k];
    }
    nlohmann::json line = {{"event", "cv_fold"}, {"fold", f}, {"n_train", ytr.size()}, {"n_test", yte.size()},
                           {"mae", mean_absolute_error(yte, pred.mean)},
                           {"rmse", root_mean_squared_error(yte, pred.mean)}};
    if (cfg.task == Task::classification) line["roc_auc"] = roc_auc(yte, pred.mean);
    r.per_fold.push_back(line);
    if (metrics && metrics->is_open()) FRAGUA_TRY(metrics->write(line));
    bar.add(1);
  }
  r.mae = mean_absolute_error(y, r.oof.mean);
  r.rmse = root_mean_squared_error(y, r.oof.mean);
  r.auc = cfg.task == Task::classification ? roc_auc(y, r.oof.mean) : std::nan("");
  return r;
}

}  // namespace fragua::materials
