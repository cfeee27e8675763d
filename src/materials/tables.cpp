// SPDX-License-Identifier: Apache-2.0
// The CSV tables and JSON records of the materials workflow (tables.h).
#include "fragua/materials/tables.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "fragua/base/file.h"
#include "fragua/base/svg.h"
#include "fragua/materials/csv_writer.h"
#include "fragua/materials/property_model.h"

namespace fragua::materials {

namespace {

std::string g6(double v) { return fmt::format("{:.6g}", v); }

}  // namespace

std::string features_csv(const Dataset& d, const Featurizer& fz, int threads, std::string_view comment,
                         const std::vector<std::string>* column_names) {
  auto x = fz.featurize_all(d.comps, threads);
  CsvWriter w;
  w.comment(comment);
  w.value("id").value("composition");
  const auto& names = column_names && column_names->size() == fz.size() ? *column_names : fz.names();
  for (auto& n : names) w.text(n);
  if (!d.y.empty()) w.text(d.target_name);
  w.end_row();
  for (size_t i = 0; i < d.size(); ++i) {
    w.text(d.ids[i]).text(d.formulas[i]);
    for (size_t k = 0; k < fz.size(); ++k) {
      float v = x[i * fz.size() + k];
      if (std::isnan(v))
        w.value("");
      else
        w.num(v);
    }
    if (!d.y.empty()) w.num(d.y[i]);
    w.end_row();
  }
  return w.str();
}

std::string predictions_csv(const Dataset& d, const Prediction& p, std::string_view comment) {
  CsvWriter w;
  w.comment(comment);
  const bool gate = !p.p_zero.empty();
  const bool interval = p.lower.size() == p.mean.size() && p.upper.size() == p.mean.size();
  w.value("id").value("composition").value("prediction").value("uncertainty");
  if (gate) w.value("p_zero");
  if (interval) w.value("lower_95").value("upper_95");
  w.end_row();
  for (size_t i = 0; i < d.size(); ++i) {
    w.text(d.ids[i]).text(d.formulas[i]).value(g6(p.mean[i])).value(g6(p.std[i]));
    if (gate) w.value(g6(p.p_zero[i]));
    if (interval) w.value(g6(p.lower[i])).value(g6(p.upper[i]));
    w.end_row();
  }
  return w.str();
}

std::string cv_predictions_csv(const Dataset& d, const CvResult& r, std::string_view comment) {
  CsvWriter w;
  w.comment(comment);
  const bool gate = !r.oof.p_zero.empty();
  const bool calibrated = r.calibrated_std.size() == d.size();
  const bool value = r.oof.value.size() == d.size() && r.oof.value_std.size() == d.size();
  w.value("id").value("composition").value("fold").value("target").value("prediction").value("uncertainty");
  if (gate) w.value("p_zero");
  if (value) w.value("value").value("value_std");
  const bool interval = calibrated && r.calibrated_halfwidth95.size() == d.size();
  if (calibrated) w.value("calibrated_uncertainty");
  if (interval) w.value("lower_95").value("upper_95");
  for (const auto& [name, part] : r.parts) {
    w.value(name + "_prediction").value(name + "_uncertainty");
    if (part.p_zero.size() == d.size()) w.value(name + "_p_zero");
    if (part.value.size() == d.size()) w.value(name + "_value").value(name + "_value_std");
  }
  w.end_row();
  for (size_t i = 0; i < d.size(); ++i) {
    w.text(d.ids[i]).text(d.formulas[i]).num(r.fold[i]).num(d.y[i]);
    w.value(g6(r.oof.mean[i])).value(g6(r.oof.std[i]));
    if (gate) w.value(g6(r.oof.p_zero[i]));
    if (value) w.value(g6(r.oof.value[i])).value(g6(r.oof.value_std[i]));
    if (calibrated) w.value(g6(r.calibrated_std[i]));
    if (interval) {
      const double lo = r.oof.mean[i] - r.calibrated_halfwidth95[i];
      w.value(g6(gate ? std::max(0.0, lo) : lo)).value(g6(r.oof.mean[i] + r.calibrated_halfwidth95[i]));
    }
    for (const auto& [name, part] : r.parts) {
      w.value(g6(part.mean[i])).value(g6(part.std[i]));
      if (part.p_zero.size() == d.size()) w.value(g6(part.p_zero[i]));
      if (part.value.size() == d.size()) w.value(g6(part.value[i])).value(g6(part.value_std[i]));
    }
    w.end_row();
  }
  return w.str();
}

nlohmann::json cv_summary(const CvResult& r, const PropertyModel& model, const std::string& data, size_t rows,
                          int n_splits, uint32_t seed) {
  nlohmann::json s = {{"event", "cv_summary"},
                      {"data", data},
                      {"rows", rows},
                      {"folds", n_splits},
                      {"seed", seed},
                      {"model", std::string(model.family())},
                      {"mae", r.mae},
                      {"rmse", r.rmse},
                      {"config", model.config_json()}};
  if (model.task() == Task::classification) s["roc_auc"] = r.auc;
  if (!std::isnan(r.gate_auc)) s["gate_auc"] = r.gate_auc;
  if (!std::isnan(r.raw_within_1sd))
    s["coverage"] = {{"raw_within_1sd", r.raw_within_1sd},
                     {"raw_within_2sd", r.raw_within_2sd},
                     {"calibrated_within_1sd", r.calibrated_within_1sd},
                     {"calibrated_within_2sd", r.calibrated_within_2sd},
                     {"calibrated_within_95", r.calibrated_within_95}};
  for (size_t k = 0; k < r.parts.size() && k < r.part_mae.size(); ++k) s[r.parts[k].first + "_mae"] = r.part_mae[k];
  if (!std::isnan(r.raw_within_1sd) && !r.oof.p_zero.empty())
    for (auto [key, g] : {std::pair{"nonzero", &r.calibrated_nonzero}, std::pair{"zero", &r.calibrated_zero}})
      s["coverage"][key] = {{"rows", g->n},
                            {"within_1sd", g->within_1sd},
                            {"within_2sd", g->within_2sd},
                            {"within_95", g->within_95}};
  return s;
}

Result<EnumerationTable> enumeration_csv(const std::vector<int>& pool, int size, const ElementTable& table,
                                         const EnumerateOptions& opts, std::string_view comment,
                                         const ProgressCallback& progress) {
  CsvWriter w;
  w.comment(comment);
  w.value("composition").value("oxidation_states").end_row();
  size_t n = 0;
  auto emit = [&](const std::vector<int>& zs, const Candidate& c) {
    std::string f, ox;
    for (size_t i = 0; i < zs.size(); ++i) {
      f += table.by_z(zs[i]).symbol + (c.coeff[i] > 1 ? std::to_string(c.coeff[i]) : "");
      ox += fmt::format("{}{}{:+d}", i ? ";" : "", table.by_z(zs[i]).symbol, c.ox[i]);
    }
    w.text(f).text(ox).end_row();
    ++n;
  };
  FRAGUA_TRY(enumerate_pool(pool, size, table, opts, emit, progress));
  return EnumerationTable{w.str(), n};
}

std::string substitutions_csv(const std::vector<SubstitutionModel::Substitution>& subs,
                              const std::vector<double>& amounts, std::string_view comment) {
  CsvWriter w;
  w.comment(comment);
  w.value("composition").value("species").value("probability").end_row();
  for (auto& s : subs) {
    std::string f, names;
    for (size_t i = 0; i < s.species.size(); ++i) {
      // The model only proposes species it parsed from its own table.
      auto p = parse_species(s.species[i]);
      const double a = amounts.empty() ? 1 : amounts[i];
      f += (p.ok() ? p->first : s.species[i]) + (a != 1 ? fmt::format("{:g}", a) : "");
      names += (i ? ";" : "") + s.species[i];
    }
    w.text(f).text(names).value(g6(s.probability)).end_row();
  }
  return w.str();
}

std::string suggestions_csv(const std::vector<ScreenRow>& rows, const std::vector<Suggestion>& picks,
                            std::string_view comment) {
  CsvWriter w;
  w.comment(comment);
  for (const char* h : {"rank", "id", "composition", "prediction", "uncertainty", "expected_improvement"}) w.value(h);
  w.end_row();
  for (size_t k = 0; k < picks.size(); ++k) {
    const auto& r = rows[picks[k].row];
    w.num(k + 1).text(r.id).text(r.formula).value(g6(r.gap)).value(g6(r.gap_std));
    w.value(g6(picks[k].expected_improvement)).end_row();
  }
  return w.str();
}

Status write_parity_svg(const std::string& path, const std::vector<double>& measured, const Prediction& predicted,
                        const std::string& title) {
  const size_t n = std::min(measured.size(), predicted.mean.size());
  if (n == 0) return invalid_argument_error("{}: no measured values to plot", path);
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, abs_err = 0;
  for (size_t i = 0; i < n; ++i) {
    lo = std::min({lo, measured[i], predicted.mean[i]});
    hi = std::max({hi, measured[i], predicted.mean[i]});
    abs_err += std::fabs(measured[i] - predicted.mean[i]);
  }
  // One range for both axes, so that y = x is the diagonal, fitted as every Fragua chart is
  // (svg::fit_range): a margin so that no point sits on the frame, ends on round ticks, and not
  // below 0 for a quantity that is not negative (band gaps).
  std::tie(lo, hi) = svg::fit_range(lo, hi, 0.05, lo >= 0 ? 0.0 : -1e300);
  const double W = 560, H = 560, L = 70, R = 20, T = 50, B = 60;
  svg::Axes a{L, T, W - L - R, H - T - B, lo, hi, lo, hi};
  svg::Canvas cv(W, H, "fragua materials parity plot v1");
  cv.text(L, 20, title, "font-size=\"14\"");
  cv.text(L, 38, fmt::format("{} compounds, MAE {:.3f}", n, abs_err / static_cast<double>(n)), "font-size=\"12\"");
  a.draw(cv, "measured", "predicted");
  cv.line(a.x(lo), a.y(lo), a.x(hi), a.y(hi), "#888888", "stroke-dasharray=\"4,3\"");
  for (size_t i = 0; i < n; ++i) {
    const double x = a.x(measured[i]), y = a.y(predicted.mean[i]);
    if (i < predicted.std.size() && predicted.std[i] > 0)
      cv.line(x, a.y(std::max(lo, predicted.mean[i] - predicted.std[i])), x,
              a.y(std::min(hi, predicted.mean[i] + predicted.std[i])), "#2e86c1", "stroke-opacity=\"0.25\"");
    cv.circle(x, y, 2.2, "#2e86c1");
  }
  return write_file_atomic(path, cv.finish());
}

}  // namespace fragua::materials
