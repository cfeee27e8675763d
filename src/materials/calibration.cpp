// SPDX-License-Identifier: Apache-2.0
// Per-regime scale calibration of a property model's std (calibration.h).
#include "fragua/materials/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "fragua/base/json.h"

namespace fragua::materials {

namespace {

constexpr double kOneSd = 0.6827, kTwoSd = 0.9545;  // normal coverage of 1 and 2 sigma
constexpr size_t kMinRegimeRows = 20;

bool calibration_predicted_zero(const Prediction& p, size_t i) { return !p.p_zero.empty() && p.p_zero[i] >= 0.5; }

struct ErrorAndSpread {
  double err, sd;
};

double share_within_scaled(const std::vector<ErrorAndSpread>& es, double a, double b, double k) {
  size_t in = 0;
  for (const auto& e : es) in += e.err <= k * (a * e.sd + b);
  return es.empty() ? 0.0 : static_cast<double>(in) / static_cast<double>(es.size());
}

// k95: the split-conformal 95% quantile of |err| / std' (the ceil((n + 1) 0.95)-th smallest ratio,
// Lei et al. 2018, so that a new row is covered with probability >= 95%). A row with std' 0 and an
// error has an infinite ratio; if the quantile lands on one, the largest finite ratio is taken
// (no scale of std' 0 covers it).
double fit_regime_k95(const std::vector<ErrorAndSpread>& es, double a, double b) {
  if (es.empty()) return 2;
  std::vector<double> ratio;
  double max_finite = 0;
  for (const auto& e : es) {
    const double sd = a * e.sd + b;
    const double r = e.err == 0 ? 0.0 : sd > 0 ? e.err / sd : std::numeric_limits<double>::infinity();
    ratio.push_back(r);
    if (std::isfinite(r)) max_finite = std::max(max_finite, r);
  }
  std::sort(ratio.begin(), ratio.end());
  const auto rank = static_cast<size_t>(std::ceil(kTwoSd * static_cast<double>(es.size() + 1)));
  const double k = ratio[std::min(es.size(), std::max<size_t>(rank, 1)) - 1];
  return std::isfinite(k) ? k : max_finite;
}

// For each floor b on a grid up to the 90th percentile of the errors, the scale a >= 0 that puts
// 68% of the errors within 1 std' (bisection: coverage grows with a), then the pair whose 2-std'
// coverage is nearest 95%. A grid, not an optimiser: the coverage is a step function.
// A regime where more than 68% of the errors are exactly 0 (metals predicted 0 by a gate that is
// right) covers more than 68% at any scale; there the pair is chosen for 95% within 2 std', the
// narrowest that reaches it.
RegimeScale fit_regime_scale(std::vector<ErrorAndSpread> es) {
  RegimeScale best;
  best.n = es.size();
  if (es.empty()) return best;
  std::vector<double> errs;
  size_t exact = 0;
  double mean_err = 0, mean_sd = 0;
  for (const auto& e : es) {
    errs.push_back(e.err);
    exact += e.err == 0;
    mean_err += e.err / static_cast<double>(es.size());
    mean_sd += e.sd / static_cast<double>(es.size());
  }
  const bool point_mass = static_cast<double>(exact) >= kOneSd * static_cast<double>(es.size());
  const double k_fit = point_mass ? 2 : 1, target = point_mass ? kTwoSd : kOneSd;
  std::sort(errs.begin(), errs.end());
  const double e90 = errs[static_cast<size_t>(0.9 * static_cast<double>(errs.size() - 1))];
  double max_ratio = 0;
  for (const auto& e : es)
    if (e.sd > 0) max_ratio = std::max(max_ratio, e.err / e.sd);
  double best_score = std::numeric_limits<double>::infinity();
  const int n_grid = 40;
  for (int k = 0; k <= n_grid; ++k) {
    const double b = (point_mass ? errs.back() : e90) * k / n_grid;
    double a = 0;
    if (share_within_scaled(es, 0, b, k_fit) < target) {
      double lo = 0, hi = std::max(1.0, 2 * max_ratio);
      if (share_within_scaled(es, hi, b, k_fit) < target) continue;  // rows with sd 0 and an error: b too small
      for (int it = 0; it < 60; ++it) {
        const double mid = 0.5 * (lo + hi);
        (share_within_scaled(es, mid, b, k_fit) >= target ? hi : lo) = mid;
      }
      a = hi;
    }
    const double c1 = share_within_scaled(es, a, b, 1), c2 = share_within_scaled(es, a, b, 2);
    const double width = (a * mean_sd + b) / std::max(mean_err, 1e-12);
    const double score = point_mass ? std::fabs(c2 - kTwoSd) + 1e-3 * width
                                    : std::fabs(c1 - kOneSd) + std::fabs(c2 - kTwoSd);
    if (score < best_score) {
      best_score = score;
      best.a = a;
      best.b = b;
    }
  }
  best.k95 = fit_regime_k95(es, best.a, best.b);
  return best;
}

nlohmann::json calibration_scale_json(const RegimeScale& s) {
  return {{"a", s.a}, {"b", s.b}, {"k95", s.k95}, {"n", s.n}};
}

}  // namespace

nlohmann::json Calibration::to_json() const {
  return {{"method",
           "std' = a std + b per regime, fitted on out-of-fold errors for 68% within 1 std' (95% within 2 std' "
           "where most errors are exactly 0); 95% interval mean -/+ k95 std' (split-conformal)"},
          {"nonzero", calibration_scale_json(nonzero)},
          {"zero", calibration_scale_json(zero)}};
}

Result<Calibration> Calibration::from_json(const nlohmann::json& j, const std::string& where) {
  Calibration c;
  if (j.is_null()) return c;
  if (!j.is_object()) return corruption_error("{}: calibration: expected an object, found {}", where, json_preview(j));
  for (auto [key, dst] : {std::pair{"nonzero", &c.nonzero}, std::pair{"zero", &c.zero}}) {
    if (!j.contains(key) || !j.at(key).is_object())
      return corruption_error("{}: calibration.{}: missing or not an object", where, key);
    const auto& s = j.at(key);
    for (auto [field, v] : {std::pair{"a", &dst->a}, std::pair{"b", &dst->b}}) {
      if (!s.contains(field) || !s.at(field).is_number() || !std::isfinite(s.at(field).get<double>()) ||
          s.at(field).get<double>() < 0)
        return corruption_error("{}: calibration.{}.{}: expected a finite number >= 0", where, key, field);
      *v = s.at(field).get<double>();
    }
    if (s.contains("k95")) {
      const auto& k = s.at("k95");
      if (!k.is_number() || !std::isfinite(k.get<double>()) || k.get<double>() < 0)
        return corruption_error("{}: calibration.{}.k95: expected a finite number >= 0", where, key);
      dst->k95 = k.get<double>();
    }
    if (s.contains("n") && s.at("n").is_number_unsigned()) dst->n = s.at("n").get<size_t>();
  }
  c.fitted = true;
  return c;
}

Calibration fit_calibration(const std::vector<double>& y, const Prediction& p, const std::vector<size_t>& rows) {
  std::vector<ErrorAndSpread> all, zero, nonzero;
  auto add = [&](size_t i) {
    ErrorAndSpread e{std::fabs(y[i] - p.mean[i]), p.std[i]};
    if (!std::isfinite(e.err) || !std::isfinite(e.sd)) return;
    all.push_back(e);
    (calibration_predicted_zero(p, i) ? zero : nonzero).push_back(e);
  };
  if (rows.empty())
    for (size_t i = 0; i < y.size(); ++i) add(i);
  else
    for (size_t i : rows) add(i);
  Calibration c;
  c.fitted = true;
  const RegimeScale pooled = fit_regime_scale(all);
  c.nonzero = nonzero.size() >= kMinRegimeRows ? fit_regime_scale(nonzero) : pooled;
  c.zero = zero.size() >= kMinRegimeRows ? fit_regime_scale(zero) : pooled;
  c.nonzero.n = nonzero.size();
  c.zero.n = zero.size();
  return c;
}

double calibrated_std(const Calibration& c, const Prediction& p, size_t i) {
  if (!c.fitted) return p.std[i];
  const RegimeScale& s = calibration_predicted_zero(p, i) ? c.zero : c.nonzero;
  return s.a * p.std[i] + s.b;
}

double calibrated_halfwidth95(const Calibration& c, const Prediction& p, size_t i) {
  if (!c.fitted) return 2 * p.std[i];
  const RegimeScale& s = calibration_predicted_zero(p, i) ? c.zero : c.nonzero;
  return s.k95 * calibrated_std(c, p, i);
}

void apply_calibration(const Calibration& c, Prediction& p) {
  const size_t n = p.mean.size();
  p.lower.assign(n, 0);
  p.upper.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const double half = calibrated_halfwidth95(c, p, i);
    p.std[i] = calibrated_std(c, p, i);
    p.lower[i] = p.mean[i] - half;
    if (!p.p_zero.empty()) p.lower[i] = std::max(0.0, p.lower[i]);
    p.upper[i] = p.mean[i] + half;
  }
}

CoverageReport cross_fitted_coverage(const std::vector<double>& y, const Prediction& oof, const std::vector<int>& fold,
                                     int n_splits) {
  CoverageReport r;
  r.calibrated_std.assign(y.size(), 0);
  r.halfwidth95.assign(y.size(), 0);
  for (int f = 0; f < n_splits; ++f) {
    std::vector<size_t> others;
    for (size_t i = 0; i < y.size(); ++i)
      if (fold[i] != f) others.push_back(i);
    const Calibration c = fit_calibration(y, oof, others);
    for (size_t i = 0; i < y.size(); ++i)
      if (fold[i] == f) {
        r.calibrated_std[i] = calibrated_std(c, oof, i);
        r.halfwidth95[i] = calibrated_halfwidth95(c, oof, i);
      }
  }
  for (size_t i = 0; i < y.size(); ++i) {
    const double err = std::fabs(y[i] - oof.mean[i]);
    if (!std::isfinite(err)) continue;
    for (RegimeCoverage* g : {&r.all, calibration_predicted_zero(oof, i) ? &r.zero : &r.nonzero}) {
      ++g->n;
      g->within_1sd += err <= r.calibrated_std[i];
      g->within_2sd += err <= 2 * r.calibrated_std[i];
      g->within_95 += err <= r.halfwidth95[i];
    }
  }
  for (RegimeCoverage* g : {&r.all, &r.nonzero, &r.zero}) {
    const double n = g->n ? static_cast<double>(g->n) : std::nan("");
    g->within_1sd /= n;
    g->within_2sd /= n;
    g->within_95 /= n;
  }
  return r;
}

double share_within(const std::vector<double>& y, const std::vector<double>& mean, const std::vector<double>& std,
                    double k) {
  size_t in = 0;
  for (size_t i = 0; i < y.size(); ++i) in += std::fabs(y[i] - mean[i]) <= k * std[i];
  return y.empty() ? 0.0 : static_cast<double>(in) / static_cast<double>(y.size());
}

}  // namespace fragua::materials
