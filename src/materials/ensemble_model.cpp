// SPDX-License-Identifier: Apache-2.0
// The family ensemble: tree ensemble + element attention (+ a third gate of extremely randomized
// trees), combined per composition and calibrated (ensemble_model.h).
#include "fragua/materials/ensemble_model.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>

#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "fragua/materials/attention_model.h"
#include "fragua/materials/calibration.h"
#include "fragua/materials/extra_trees.h"
#include "fragua/materials/features.h"
#include "fragua/materials/property_model.h"
#include "fragua/materials/validation.h"

namespace fragua::materials {

namespace {

// Mean and spread of the equal mixture of N(m1, s1^2) and N(m2, s2^2).
void mix_two_families(double m1, double s1, double m2, double s2, double& m, double& s) {
  m = 0.5 * (m1 + m2);
  const double d = 0.5 * (m1 - m2);
  s = std::sqrt(0.5 * (s1 * s1 + s2 * s2) + d * d);
}

std::vector<float> ensemble_feature_rows(const std::vector<float>& x, size_t n_features, const std::vector<size_t>& idx) {
  std::vector<float> out;
  out.reserve(idx.size() * n_features);
  for (size_t i : idx)
    out.insert(out.end(), x.begin() + static_cast<long>(i * n_features),
               x.begin() + static_cast<long>((i + 1) * n_features));
  return out;
}

// The third gate's p(gap = 0) among a run's parts (xgboost, attention, then extra_trees when the
// ensemble has one), or nullptr.
const std::vector<double>* third_gate_of(const std::vector<std::pair<std::string, Prediction>>& parts, size_t rows) {
  return parts.size() > 2 && parts[2].second.p_zero.size() == rows ? &parts[2].second.p_zero : nullptr;
}

// Replaces the out-of-fold predictions of each fold by the parts combined with the point rule
// fitted on the other folds' rows, and updates the fold's metrics line (the equal-weight plain
// gate's MAE kept beside). Needs the families' gated out-of-fold predictions.
void cross_fit_ensemble_point_rule(const std::vector<double>& y, CvResult& r, int n_splits) {
  if (r.parts.size() < 2 || r.oof.p_zero.size() != y.size() || r.oof.value.size() != y.size()) return;
  const Prediction& a = r.parts[0].second;
  const Prediction& b = r.parts[1].second;
  const std::vector<double>* third = third_gate_of(r.parts, y.size());
  for (int f = 0; f < n_splits && static_cast<size_t>(f) < r.per_fold.size(); ++f) {
    std::vector<size_t> other;
    for (size_t i = 0; i < y.size(); ++i)
      if (r.fold[i] != f) other.push_back(i);
    const EnsemblePointRule rule = fit_ensemble_point_rule(y, a, b, other, third);
    auto combined = combine_families(a, b, rule.gate_weight, third, rule.third_weight);
    if (!combined.ok() || combined->p_zero.size() != y.size()) continue;
    std::vector<double> yte, plain, point;
    for (size_t i = 0; i < y.size(); ++i) {
      if (r.fold[i] != f) continue;
      yte.push_back(y[i]);
      plain.push_back(r.oof.mean[i]);
      r.oof.p_zero[i] = combined->p_zero[i];
      r.oof.value[i] = combined->value[i];
      if (r.oof.value_std.size() == y.size()) r.oof.value_std[i] = combined->value_std[i];
      r.oof.std[i] = combined->std[i];
      r.oof.mean[i] = gate_mixture_median(combined->p_zero[i], combined->value[i], rule.log_spread);
      point.push_back(r.oof.mean[i]);
    }
    if (yte.empty()) continue;
    auto& line = r.per_fold[static_cast<size_t>(f)];
    line["gate_weight"] = rule.gate_weight;
    if (third) line["third_weight"] = rule.third_weight;
    line["point_log_spread"] = rule.log_spread;
    line["mae_plain_gate"] = mean_absolute_error(yte, plain);
    line["mae"] = mean_absolute_error(yte, point);
    line["rmse"] = root_mean_squared_error(yte, point);
  }
}

double fold_part_mae(const Dataset& data, const std::vector<size_t>& test, const Prediction& part) {
  std::vector<double> y;
  for (size_t i : test) y.push_back(data.y[i]);
  return mean_absolute_error(y, part.mean);
}

// Both families fitted on the same rows, and the third gate when there is one.
struct FittedPair {
  Model trees;
  AttentionModel attention;
  std::optional<ExtraTreesClassifier> gate3;
};

Result<FittedPair> fit_pair(const std::vector<float>& x, size_t n_features, const std::string& signature,
                            const std::vector<Composition>& comps, const std::vector<double>& y,
                            const TrainConfig& tcfg, const AttentionConfig& acfg, int extra_trees,
                            const ElementTable& table, MetricsWriter* metrics) {
  auto trees = FRAGUA_TRY(Model::train(x, n_features, y, tcfg, signature));
  std::optional<ExtraTreesClassifier> gate3;
  if (extra_trees > 0 && trees.config().task == Task::regression && trees.config().zero_gate == "on") {
    ExtraTreesConfig ec;
    ec.n_trees = extra_trees;
    ec.seed = tcfg.seed;
    ec.threads = tcfg.threads;
    std::vector<double> zero(y.size());
    for (size_t i = 0; i < y.size(); ++i) zero[i] = y[i] == 0 ? 1 : 0;
    gate3 = FRAGUA_TRY(ExtraTreesClassifier::train(x, n_features, zero, ec));
  }
  auto attention = FRAGUA_TRY(AttentionModel::train(comps, y, table, acfg, metrics));
  return FittedPair{std::move(trees), std::move(attention), std::move(gate3)};
}

// `parts` (when given) receives each family's own prediction, named as its family.
// The third gate's part ("extra_trees") is its gate over the two families' values.
Result<Prediction> predict_pair(const FittedPair& m, const std::vector<float>& x, size_t n_features,
                                const std::vector<Composition>& comps, const ElementTable& table, int threads,
                                const EnsemblePointRule& rule,
                                std::vector<std::pair<std::string, Prediction>>* parts = nullptr) {
  auto a = FRAGUA_TRY(m.trees.predict(x, n_features));
  auto b = FRAGUA_TRY(m.attention.predict(comps, table, threads));
  std::optional<std::vector<double>> p3;
  if (m.gate3) p3 = FRAGUA_TRY(m.gate3->predict_proba(x, n_features, threads));
  const std::vector<double>* third = p3 ? &*p3 : nullptr;
  auto p = combine_families(a, b, rule.gate_weight, third, third ? rule.third_weight : 0);
  if (parts) {
    std::optional<Prediction> c;
    if (third) c = FRAGUA_TRY(combine_families(a, b, 0, third, 1));
    parts->emplace_back("xgboost", std::move(a));
    parts->emplace_back("attention", std::move(b));
    if (c) parts->emplace_back("extra_trees", std::move(*c));
  }
  return p;
}

class FamilyEnsemble final : public PropertyModel {
 public:
  explicit FamilyEnsemble(const PropertyModelOptions& o)
      : tcfg_(o.trees),
        acfg_(attention_config_of(o)),
        calibration_folds_(o.calibration_folds),
        extra_trees_(std::max(0, o.extra_trees)) {}
  FamilyEnsemble(FittedPair m, Calibration c, int calibration_folds, EnsemblePointRule rule, std::string target)
      : tcfg_(m.trees.config()),
        acfg_(m.attention.config()),
        calibration_folds_(calibration_folds),
        extra_trees_(m.gate3 ? static_cast<int>(m.gate3->n_trees()) : 0),
        model_(std::move(m)),
        calibration_(c),
        rule_(rule) {
    target_ = std::move(target);
  }

  std::string_view family() const override { return "ensemble"; }
  Task task() const override { return tcfg_.task; }
  nlohmann::json config_json() const override {
    return {{"xgboost", config_to_json(tcfg_)},
            {"attention", attention_config_to_json(acfg_)},
            {"calibration_folds", calibration_folds_},
            {"calibration", calibration_.to_json()},
            {"extra_trees", extra_trees_},
            {"gate_weight", rule_.gate_weight},
            {"third_weight", rule_.third_weight},
            {"point_log_spread", rule_.log_spread}};
  }
  std::string describe() const override {
    return fmt::format("{} tree + {} attention members{}{}", tcfg_.n_models, acfg_.n_models,
                       extra_trees_ > 0 ? fmt::format(" + a gate of {} extremely randomized trees", extra_trees_) : "",
                       calibration_.fitted ? ", calibrated" : "");
  }

  Status train(const Dataset& data, const ElementTable& table, const std::string& metrics_path) override {
    Featurizer fz(table);
    auto x = fz.featurize_all(data.comps, tcfg_.threads);
    MetricsWriter mw;
    if (!metrics_path.empty()) mw = FRAGUA_TRY(MetricsWriter::open(metrics_path));
    calibration_ = Calibration{};
    rule_ = EnsemblePointRule{};
    if (calibration_folds_ >= 2 && tcfg_.task == Task::regression) {
      log_info("calibration: {}-fold out-of-fold run of both families", calibration_folds_);
      std::vector<std::pair<std::string, Prediction>> parts;
      auto oof = FRAGUA_TRY(out_of_fold(x, fz, data, table, &mw, &parts));
      // The point rule first: the calibration is fitted on the errors of the points predict gives.
      if (parts.size() >= 2 && !oof.p_zero.empty()) {
        const std::vector<double>* third = third_gate_of(parts, data.size());
        rule_ = fit_ensemble_point_rule(data.y, parts[0].second, parts[1].second, {}, third);
        oof = FRAGUA_TRY(combine_families(parts[0].second, parts[1].second, rule_.gate_weight, third,
                                          rule_.third_weight));
        apply_mixture_median(oof, rule_.log_spread);
        log_info("point: gate weights {:.1f} on the trees, {:.1f} on the extremely randomized trees; mixture median "
                 "with log spread {:.2f}",
                 rule_.gate_weight, rule_.third_weight, rule_.log_spread);
      }
      calibration_ = fit_calibration(data.y, oof);
      log_info("calibration: non-zero std' = {:.3f} std + {:.3f} ({} rows), zero {:.3f} std + {:.3f} ({} rows)",
               calibration_.nonzero.a, calibration_.nonzero.b, calibration_.nonzero.n, calibration_.zero.a,
               calibration_.zero.b, calibration_.zero.n);
    }
    log_info("training {} tree + {} attention members on {} rows", tcfg_.n_models, acfg_.n_models, data.size());
    model_ = FRAGUA_TRY(
        fit_pair(x, fz.size(), fz.signature(), data.comps, data.y, tcfg_, acfg_, extra_trees_, table, &mw));
    tcfg_ = model_->trees.config();
    acfg_ = model_->attention.config();
    target_ = data.target_name;
    return ok_status();
  }

  Result<CvResult> cross_validate(const Dataset& data, const ElementTable& table, int n_splits, uint32_t seed,
                                  MetricsWriter* metrics) const override {
    Featurizer fz(table);
    auto x = fz.featurize_all(data.comps, tcfg_.threads);
    auto fit = [&](const std::vector<size_t>& train, const std::vector<size_t>& test) -> Result<FoldOutput> {
      FoldOutput o;
      o.pred = FRAGUA_TRY(fit_predict(x, fz, data, table, train, test, metrics, &o.parts));
      o.info = {{"model", "ensemble"}};
      for (const auto& [name, part] : o.parts) o.info[name + "_mae"] = fold_part_mae(data, test, part);
      return o;
    };
    // The point rule as train fits it, cross-fitted: each fold's log spread is chosen on the
    // other folds' out-of-fold rows, so no row's own error picks the spread it is scored with.
    CrossFitStep point_rule;
    if (calibration_folds_ >= 2 && tcfg_.task == Task::regression)
      point_rule = [](const std::vector<double>& y, CvResult& r, int n_splits) {
        cross_fit_ensemble_point_rule(y, r, n_splits);
      };
    return run_cross_validation(data.y, tcfg_.task, n_splits, seed, metrics, fit, point_rule);
  }

  Result<Prediction> predict(const std::vector<Composition>& comps, const ElementTable& table,
                             int threads) const override {
    if (!model_) return invalid_argument_error("ensemble property model: not trained (train or load it first)");
    Featurizer fz(table);
    if (fz.signature() != model_->trees.feature_signature())
      return invalid_argument_error("features of this build ({}) differ from the model's ({}): retrain the model",
                                    fz.signature(), model_->trees.feature_signature());
    auto x = fz.featurize_all(comps, threads);
    auto p = FRAGUA_TRY(predict_pair(*model_, x, fz.size(), comps, table, threads, rule_));
    if (rule_.log_spread > 0) apply_mixture_median(p, rule_.log_spread);
    if (tcfg_.task == Task::regression) apply_calibration(calibration_, p);
    return p;
  }

  Status save(const std::string& path, const nlohmann::json& provenance) const override {
    if (!model_) return invalid_argument_error("ensemble property model: not trained (train or load it first)");
    const std::string trees = FRAGUA_TRY(model_->trees.to_bytes(provenance));
    const std::string attention = FRAGUA_TRY(model_->attention.to_bytes(provenance));
    const std::string extra = model_->gate3 ? model_->gate3->to_bytes() : std::string();
    nlohmann::json header = {{"calibration_folds", calibration_folds_},
                             {"calibration", calibration_.fitted ? calibration_.to_json() : nlohmann::json()},
                             {"gate_weight", rule_.gate_weight},
                             {"point_log_spread", rule_.log_spread},
                             {"provenance", provenance},
                             {"xgboost_bytes", trees.size()},
                             {"attention_bytes", attention.size()}};
    if (model_->gate3) {
      header["extra_trees_bytes"] = extra.size();
      header["third_weight"] = rule_.third_weight;
    }
    std::string out(kFamilyEnsembleMagic);
    out += header.dump() + "\n";
    out += trees;
    out += attention;
    out += extra;
    return write_file_atomic(path, out);
  }

 private:
  // Trains both families on `train` and predicts `test` (one cross-validation fold).
  Result<Prediction> fit_predict(const std::vector<float>& x, const Featurizer& fz, const Dataset& data,
                                 const ElementTable& table, const std::vector<size_t>& train,
                                 const std::vector<size_t>& test, MetricsWriter* metrics,
                                 std::vector<std::pair<std::string, Prediction>>* parts = nullptr) const {
    std::vector<Composition> ctr, cte;
    std::vector<double> ytr;
    for (size_t i : train) {
      ctr.push_back(data.comps[i]);
      ytr.push_back(data.y[i]);
    }
    for (size_t i : test) cte.push_back(data.comps[i]);
    auto pair = FRAGUA_TRY(fit_pair(ensemble_feature_rows(x, fz.size(), train), fz.size(), fz.signature(), ctr, ytr,
                                    tcfg_, acfg_, extra_trees_, table, metrics));
    return predict_pair(pair, ensemble_feature_rows(x, fz.size(), test), fz.size(), cte, table, tcfg_.threads,
                        EnsemblePointRule{}, parts);
  }

  // Out-of-fold predictions of every row (calibration_folds_ folds, shuffled with the model seed),
  // combined with equal weights; `parts` receives each family's.
  Result<Prediction> out_of_fold(const std::vector<float>& x, const Featurizer& fz, const Dataset& data,
                                 const ElementTable& table, MetricsWriter* metrics,
                                 std::vector<std::pair<std::string, Prediction>>* parts) const {
    auto fold = FRAGUA_TRY(kfold_assignment(data.size(), calibration_folds_, true, tcfg_.seed));
    Prediction oof;
    oof.mean.assign(data.size(), 0);
    oof.std.assign(data.size(), 0);
    ProgressBar bar("calibration folds", static_cast<uint64_t>(calibration_folds_), "fold");
    for (int f = 0; f < calibration_folds_; ++f) {
      std::vector<size_t> train, test;
      for (size_t i = 0; i < data.size(); ++i) (fold[i] == f ? test : train).push_back(i);
      std::vector<std::pair<std::string, Prediction>> fold_parts;
      auto p = FRAGUA_TRY(fit_predict(x, fz, data, table, train, test, metrics, &fold_parts));
      if (f == 0) parts->assign(fold_parts.size(), {});
      for (size_t k = 0; k < fold_parts.size() && k < parts->size(); ++k) {
        (*parts)[k].first = fold_parts[k].first;
        scatter_fold_prediction(fold_parts[k].second, test, data.size(), (*parts)[k].second);
      }
      if (!p.p_zero.empty() && oof.p_zero.empty()) oof.p_zero.assign(data.size(), 0);
      if (!p.value.empty() && oof.value.empty()) oof.value.assign(data.size(), 0);
      for (size_t k = 0; k < test.size(); ++k) {
        oof.mean[test[k]] = p.mean[k];
        oof.std[test[k]] = p.std[k];
        if (!p.p_zero.empty()) oof.p_zero[test[k]] = p.p_zero[k];
        if (!p.value.empty()) oof.value[test[k]] = p.value[k];
      }
      bar.add(1);
    }
    return oof;
  }

  TrainConfig tcfg_;
  AttentionConfig acfg_;
  int calibration_folds_ = 0;
  int extra_trees_ = 0;
  std::optional<FittedPair> model_;
  Calibration calibration_;
  EnsemblePointRule rule_;  // {0.5, 0}: equal gates and the plain gated point
};

}  // namespace

Result<Prediction> combine_families(const Prediction& a, const Prediction& b, double gate_weight,
                                    const std::vector<double>* third_gate, double third_weight) {
  const size_t n = a.mean.size();
  if (b.mean.size() != n || a.std.size() != n || b.std.size() != n)
    return invalid_argument_error("combining families: {} and {} predictions", n, b.mean.size());
  if (third_gate && third_gate->size() != n)
    return invalid_argument_error("combining families: {} third-gate probabilities for {} rows", third_gate->size(), n);
  if (!(gate_weight >= 0 && third_weight >= 0 && gate_weight + third_weight <= 1 + 1e-9))
    return invalid_argument_error("combining families: gate weights {} and {} (each >= 0, at most 1 together)",
                                  gate_weight, third_weight);
  // The attention model's share; a grid's 0.3 + 0.7 may round to a hair above 1.
  const double b_weight = std::max(0.0, 1 - gate_weight - (third_gate ? third_weight : 0.0));
  Prediction p;
  p.mean.resize(n);
  p.std.resize(n);
  const bool gated = a.p_zero.size() == n && b.p_zero.size() == n && a.value.size() == n && b.value.size() == n &&
                     a.value_std.size() == n && b.value_std.size() == n;
  if (!gated) {
    for (size_t i = 0; i < n; ++i) mix_two_families(a.mean[i], a.std[i], b.mean[i], b.std[i], p.mean[i], p.std[i]);
    return p;
  }
  p.p_zero.resize(n);
  p.value.resize(n);
  p.value_std.resize(n);
  for (size_t i = 0; i < n; ++i) {
    p.p_zero[i] = gate_weight * a.p_zero[i] + b_weight * b.p_zero[i];
    if (third_gate) p.p_zero[i] += third_weight * (*third_gate)[i];
    mix_two_families(a.value[i], a.value_std[i], b.value[i], b.value_std[i], p.value[i], p.value_std[i]);
  }
  gate_mixture(p);
  return p;
}

EnsemblePointRule fit_ensemble_point_rule(const std::vector<double>& y, const Prediction& a, const Prediction& b,
                                          const std::vector<size_t>& rows, const std::vector<double>* third_gate) {
  EnsemblePointRule best;
  double best_err = 0;
  bool any = false;
  for (int k = 0; k <= 10; ++k)
    // w3 <= 0.9: the extremely randomized trees' p is exactly 0 or 1 where all their leaves
    // agree, and a gate of theirs alone would leave such rows a spread of exactly 0.
    for (int e = 0; e <= (third_gate ? std::min(9, 10 - k) : 0); ++e) {
      auto p = combine_families(a, b, 0.1 * k, third_gate, 0.1 * e);
      if (!p.ok() || p->p_zero.size() != y.size()) return EnsemblePointRule{};
      const double s = fit_mixture_log_spread(y, *p, rows);
      apply_mixture_median(*p, s);
      double err = 0;
      if (rows.empty())
        for (size_t i = 0; i < y.size(); ++i) err += std::fabs(y[i] - p->mean[i]);
      else
        for (size_t i : rows) err += std::fabs(y[i] - p->mean[i]);
      if (!any || err < best_err - 1e-12 * (1 + best_err)) {
        any = true;
        best_err = err;
        best = {0.1 * k, s, 0.1 * e};
      }
    }
  return best;
}

std::unique_ptr<PropertyModel> make_family_ensemble(const PropertyModelOptions& opts) {
  return std::make_unique<FamilyEnsemble>(opts);
}

Result<std::unique_ptr<PropertyModel>> load_family_ensemble(const std::string& path) {
  auto data = FRAGUA_TRY(read_file(path));
  if (!std::string_view(data).starts_with(kFamilyEnsembleMagic))
    return corruption_error("{}: not a two-family ensemble (bad magic at offset 0)", path);
  const size_t start = kFamilyEnsembleMagic.size();
  const size_t eol = data.find('\n', start);
  if (eol == std::string::npos) return corruption_error("{}: header line truncated at offset {}", path, start);
  nlohmann::json h = FRAGUA_TRY(parse_json(std::string_view(data).substr(start, eol - start), path, start));
  if (!h.is_object()) return corruption_error("{}: header at offset {} is not a JSON object", path, start);
  size_t sizes[3] = {0, 0, 0};
  const char* keys[3] = {"xgboost_bytes", "attention_bytes", "extra_trees_bytes"};
  for (int k = 0; k < 3; ++k) {
    if (!h.contains(keys[k])) {
      if (k < 2) return corruption_error("{}: header: no '{}'", path, keys[k]);
      continue;  // written before the third gate, or without one
    }
    sizes[k] = static_cast<size_t>(FRAGUA_TRY(json_integer(h.at(keys[k]), path + ": " + keys[k], 0, INT64_MAX)));
  }
  const size_t body = data.size() - (eol + 1);
  if (sizes[0] > body || sizes[1] > body - sizes[0] || sizes[2] != body - sizes[0] - sizes[1])
    return corruption_error(
        "{}: the header's model sizes ({} + {} + {} bytes) do not add up to the {} bytes after it", path, sizes[0],
        sizes[1], sizes[2], body);
  const std::string_view trees_bytes = std::string_view(data).substr(eol + 1, sizes[0]);
  const std::string_view attention_bytes = std::string_view(data).substr(eol + 1 + sizes[0], sizes[1]);
  auto trees = Model::parse(trees_bytes, path + " (tree ensemble at offset " + std::to_string(eol + 1) + ")");
  if (!trees.ok()) return trees.error();
  auto attention =
      AttentionModel::parse(attention_bytes, path + " (attention model at offset " + std::to_string(eol + 1 + sizes[0]) + ")");
  if (!attention.ok()) return attention.error();
  std::optional<ExtraTreesClassifier> gate3;
  if (h.contains("extra_trees_bytes")) {
    const size_t off = eol + 1 + sizes[0] + sizes[1];
    auto et = ExtraTreesClassifier::parse(std::string_view(data).substr(off),
                                          path + " (extremely randomized trees at offset " + std::to_string(off) + ")");
    if (!et.ok()) return et.error();
    if (et->n_features() != trees->n_features())
      return corruption_error("{}: the extremely randomized trees take {} features, the tree ensemble {}", path,
                              et->n_features(), trees->n_features());
    gate3 = std::move(*et);
  }
  auto cal = FRAGUA_TRY(Calibration::from_json(h.contains("calibration") ? h.at("calibration") : nlohmann::json(), path));
  int folds = 0;
  if (h.contains("calibration_folds"))
    folds = static_cast<int>(FRAGUA_TRY(json_integer(h.at("calibration_folds"), path + ": calibration_folds", 0, 100)));
  // Files written before the point rule have none: equal gates and the plain gated point.
  EnsemblePointRule rule;
  for (auto [key, field, hi] : {std::tuple{"gate_weight", &rule.gate_weight, 1.0},
                                std::tuple{"point_log_spread", &rule.log_spread, 10.0},
                                std::tuple{"third_weight", &rule.third_weight, 1.0}}) {
    if (!h.contains(key)) continue;
    const auto& v = h.at(key);
    if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() <= hi))
      return corruption_error("{}: header: {} must be a number in [0, {}]", path, key, hi);
    *field = v.get<double>();
  }
  if (rule.third_weight > 0 && !gate3)
    return corruption_error("{}: header: third_weight {} without extremely randomized trees", path, rule.third_weight);
  if (rule.gate_weight + rule.third_weight > 1 + 1e-9)
    return corruption_error("{}: header: gate_weight {} and third_weight {} add up to more than 1", path,
                            rule.gate_weight, rule.third_weight);
  std::string target;
  if (h.contains("provenance") && h.at("provenance").is_object() && h.at("provenance").contains("target") &&
      h.at("provenance").at("target").is_string())
    target = h.at("provenance").at("target").get<std::string>();
  return std::unique_ptr<PropertyModel>(
      std::make_unique<FamilyEnsemble>(FittedPair{std::move(*trees), std::move(*attention), std::move(gate3)}, cal,
                                       folds, rule, std::move(target)));
}

}  // namespace fragua::materials
