// SPDX-License-Identifier: Apache-2.0
// What every property model shares: turning ensemble members into a prediction with an
// uncertainty, the zero gate's mixture, and the cross-validation driver.
#include <algorithm>
#include <cmath>

#include "fragua/base/progress.h"
#include "fragua/materials/calibration.h"
#include "fragua/materials/model.h"
#include "fragua/materials/validation.h"

namespace fragua::materials {

Prediction ensemble_prediction(const std::vector<std::vector<float>>& members, bool log_target) {
  Prediction p;
  if (members.empty()) return p;
  const size_t n = members[0].size();
  const double k = static_cast<double>(members.size());
  p.mean.assign(n, 0.0);
  p.std.assign(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    double s = 0, s2 = 0;
    for (auto& v : members) s += v[i];
    const double mean = s / k;
    const double point = log_target ? std::max(0.0, std::expm1(mean)) : mean;
    for (auto& v : members) {
      double d = (log_target ? std::expm1(static_cast<double>(v[i])) : v[i]) - point;
      s2 += d * d;
    }
    p.mean[i] = point;
    p.std[i] = members.size() > 1 ? std::sqrt(s2 / (k - 1)) : 0.0;
  }
  return p;
}

void apply_zero_gate(Prediction& p, const std::vector<std::vector<float>>& gate) {
  const size_t n = p.mean.size();
  p.p_zero.assign(n, 0.0);
  p.value = p.mean;
  p.value_std = p.std;
  for (size_t i = 0; i < n; ++i) {
    double pz = 0;
    for (auto& v : gate) pz += v[i] / static_cast<double>(gate.size());
    p.p_zero[i] = pz;
  }
  gate_mixture(p);
}

void gate_mixture(Prediction& p) {
  for (size_t i = 0; i < p.mean.size(); ++i) {
    const double pz = p.p_zero[i], r = p.value[i], sd = p.value_std[i], q = 1 - pz;
    p.mean[i] = pz >= 0.5 ? 0.0 : r;
    // Variance of p delta(0) + q N(r, sd^2): q (sd^2 + r^2) - (q r)^2.
    p.std[i] = std::sqrt(std::max(0.0, q * (sd * sd + r * r) - q * q * r * r));
  }
}

namespace {
// The standard normal's q quantile for 0 < q <= 1/2, by bisection on std::erfc (exact to double
// precision; a few thousand rows per call, so speed does not matter).
double mixture_normal_quantile(double q) {
  double lo = -40, hi = 0;
  for (int it = 0; it < 200 && hi - lo > 1e-13; ++it) {
    const double mid = 0.5 * (lo + hi);
    (0.5 * std::erfc(-mid / std::sqrt(2.0)) < q ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}
}  // namespace

double gate_mixture_median(double p_zero, double value, double log_spread) {
  if (!(p_zero < 0.5)) return 0.0;
  const double v = std::max(0.0, value);
  if (log_spread <= 0) return v;
  const double q = (0.5 - p_zero) / (1 - p_zero);
  return std::max(0.0, std::expm1(std::log1p(v) + log_spread * mixture_normal_quantile(q)));
}

void apply_mixture_median(Prediction& p, double log_spread) {
  if (p.p_zero.size() != p.mean.size() || p.value.size() != p.mean.size()) return;
  for (size_t i = 0; i < p.mean.size(); ++i) p.mean[i] = gate_mixture_median(p.p_zero[i], p.value[i], log_spread);
}

double fit_mixture_log_spread(const std::vector<double>& y, const Prediction& p, const std::vector<size_t>& rows) {
  const size_t n = p.mean.size();
  if (p.p_zero.size() != n || p.value.size() != n || y.size() != n) return 0;
  std::vector<size_t> use = rows;
  if (use.empty())
    for (size_t i = 0; i < n; ++i) use.push_back(i);
  // Rows the gate predicts 0 are 0 at every spread; the others need their quantile's z once.
  std::vector<double> z, lv, yy;
  for (size_t i : use) {
    if (!(p.p_zero[i] < 0.5) || std::isnan(p.value[i])) continue;
    z.push_back(mixture_normal_quantile((0.5 - p.p_zero[i]) / (1 - p.p_zero[i])));
    lv.push_back(std::log1p(std::max(0.0, p.value[i])));
    yy.push_back(y[i]);
  }
  double best = 0, best_err = 0;
  for (int k = 0; k <= 60; ++k) {
    const double s = 0.01 * k;
    double err = 0;
    for (size_t j = 0; j < z.size(); ++j) err += std::fabs(yy[j] - std::max(0.0, std::expm1(lv[j] + s * z[j])));
    if (k == 0 || err < best_err - 1e-12 * (1 + best_err)) {
      best_err = err;
      best = s;
    }
  }
  return best;
}

namespace {
std::vector<double> is_zero(const std::vector<double>& y) {
  std::vector<double> z;
  for (double v : y) z.push_back(v == 0 ? 1.0 : 0.0);
  return z;
}

}  // namespace

void scatter_fold_prediction(const Prediction& pred, const std::vector<size_t>& test_rows, size_t n, Prediction& oof) {
  auto put = [&](const std::vector<double>& src, std::vector<double>& dst) {
    if (src.size() != test_rows.size()) return;
    if (dst.empty()) dst.assign(n, std::nan(""));
    for (size_t k = 0; k < test_rows.size(); ++k) dst[test_rows[k]] = src[k];
  };
  put(pred.mean, oof.mean);
  put(pred.std, oof.std);
  put(pred.p_zero, oof.p_zero);
  put(pred.value, oof.value);
  put(pred.value_std, oof.value_std);
}

Result<CvResult> run_cross_validation(const std::vector<double>& y, Task task, int n_splits, uint32_t seed,
                                      MetricsWriter* metrics, const FoldFit& fit, const CrossFitStep& cross_fit) {
  CvResult r;
  r.fold = FRAGUA_TRY(kfold_assignment(y.size(), n_splits, true, seed));
  r.oof.mean.assign(y.size(), 0);
  r.oof.std.assign(y.size(), 0);
  ProgressBar bar("cv folds", static_cast<uint64_t>(n_splits), "fold");
  for (int f = 0; f < n_splits; ++f) {
    std::vector<size_t> train_rows, test_rows;
    std::vector<double> yte;
    for (size_t i = 0; i < y.size(); ++i) {
      (r.fold[i] == f ? test_rows : train_rows).push_back(i);
      if (r.fold[i] == f) yte.push_back(y[i]);
    }
    FoldOutput out = FRAGUA_TRY(fit(train_rows, test_rows));
    const Prediction& pred = out.pred;
    if (pred.mean.size() != test_rows.size() || pred.std.size() != test_rows.size())
      return invalid_argument_error("fold {}: {} predictions for {} test rows", f, pred.mean.size(), test_rows.size());
    scatter_fold_prediction(pred, test_rows, y.size(), r.oof);
    if (f == 0)
      for (const auto& [name, part] : out.parts) r.parts.emplace_back(name, Prediction{});
    if (out.parts.size() != r.parts.size())
      return invalid_argument_error("fold {}: {} model parts, fold 0 had {}", f, out.parts.size(), r.parts.size());
    for (size_t k = 0; k < out.parts.size(); ++k) {
      if (out.parts[k].second.mean.size() != test_rows.size() || out.parts[k].second.std.size() != test_rows.size())
        return invalid_argument_error("fold {}: part {}: {} predictions for {} test rows", f, out.parts[k].first,
                                      out.parts[k].second.mean.size(), test_rows.size());
      scatter_fold_prediction(out.parts[k].second, test_rows, y.size(), r.parts[k].second);
    }
    nlohmann::json line = {{"event", "cv_fold"},
                           {"fold", f},
                           {"n_train", train_rows.size()},
                           {"n_test", test_rows.size()},
                           {"mae", mean_absolute_error(yte, pred.mean)},
                           {"rmse", root_mean_squared_error(yte, pred.mean)}};
    if (out.info.is_object())
      for (auto& [key, v] : out.info.items()) line[key] = v;
    if (task == Task::classification) line["roc_auc"] = roc_auc(yte, pred.mean);
    if (!pred.p_zero.empty()) line["gate_auc"] = roc_auc(is_zero(yte), pred.p_zero);
    r.per_fold.push_back(line);
    if (!cross_fit && metrics && metrics->is_open()) FRAGUA_TRY(metrics->write(line));
    bar.add(1);
  }
  if (cross_fit) {
    cross_fit(y, r, n_splits);
    if (metrics && metrics->is_open())
      for (const auto& line : r.per_fold) FRAGUA_TRY(metrics->write(line));
  }
  for (const auto& [name, part] : r.parts) r.part_mae.push_back(mean_absolute_error(y, part.mean));
  r.mae = mean_absolute_error(y, r.oof.mean);
  r.rmse = root_mean_squared_error(y, r.oof.mean);
  r.auc = task == Task::classification ? roc_auc(y, r.oof.mean) : std::nan("");
  // Folds may resolve "auto" differently; the gate AUC covers the rows that had a gate.
  std::vector<double> gy, gp;
  for (size_t i = 0; i < r.oof.p_zero.size(); ++i)
    if (!std::isnan(r.oof.p_zero[i])) {
      gy.push_back(y[i] == 0 ? 1.0 : 0.0);
      gp.push_back(r.oof.p_zero[i]);
    }
  r.gate_auc = gy.empty() ? std::nan("") : roc_auc(gy, gp);
  r.raw_within_1sd = r.raw_within_2sd = r.calibrated_within_1sd = r.calibrated_within_2sd = std::nan("");
  r.calibrated_within_95 = std::nan("");
  if (task == Task::regression) {
    r.raw_within_1sd = share_within(y, r.oof.mean, r.oof.std, 1);
    r.raw_within_2sd = share_within(y, r.oof.mean, r.oof.std, 2);
    // Cross-fitted: each fold's rows are calibrated on the other folds' errors, so the coverage
    // is measured on rows the calibration never saw.
    CoverageReport cov = cross_fitted_coverage(y, r.oof, r.fold, n_splits);
    r.calibrated_std = std::move(cov.calibrated_std);
    r.calibrated_halfwidth95 = std::move(cov.halfwidth95);
    r.calibrated_within_1sd = cov.all.within_1sd;
    r.calibrated_within_2sd = cov.all.within_2sd;
    r.calibrated_within_95 = cov.all.within_95;
    r.calibrated_nonzero = cov.nonzero;
    r.calibrated_zero = cov.zero;
  }
  return r;
}

}  // namespace fragua::materials
