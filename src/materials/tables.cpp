// The CSV tables and JSON records of the materials workflow (tables.h).
#include "fragua/materials/tables.h"

#include <cmath>

#include "fragua/materials/csv_writer.h"
#include "fragua/materials/property_model.h"

namespace fragua::materials {

namespace {

std::string g6(double v) { return fmt::format("{:.6g}", v); }

}  // namespace

std::string features_csv(const Dataset& d, const Featurizer& fz, int threads, std::string_view comment) {
  auto x = fz.featurize_all(d.comps, threads);
  CsvWriter w;
  w.comment(comment);
  w.value("id").value("composition");
  for (auto& n : fz.names()) w.text(n);
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
  w.value("id").value("composition").value("prediction").value("uncertainty");
  if (gate) w.value("p_zero");
  w.end_row();
  for (size_t i = 0; i < d.size(); ++i) {
    w.text(d.ids[i]).text(d.formulas[i]).value(g6(p.mean[i])).value(g6(p.std[i]));
    if (gate) w.value(g6(p.p_zero[i]));
    w.end_row();
  }
  return w.str();
}

std::string cv_predictions_csv(const Dataset& d, const CvResult& r, std::string_view comment) {
  CsvWriter w;
  w.comment(comment);
  const bool gate = !r.oof.p_zero.empty();
  w.value("id").value("composition").value("fold").value("target").value("prediction").value("uncertainty");
  if (gate) w.value("p_zero");
  w.end_row();
  for (size_t i = 0; i < d.size(); ++i) {
    w.text(d.ids[i]).text(d.formulas[i]).num(r.fold[i]).num(d.y[i]);
    w.value(g6(r.oof.mean[i])).value(g6(r.oof.std[i]));
    if (gate) w.value(g6(r.oof.p_zero[i]));
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

}  // namespace fragua::materials
