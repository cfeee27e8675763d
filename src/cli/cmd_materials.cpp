// SPDX-License-Identifier: Apache-2.0
// fragua materials parse|featurize|train|predict|cv: formulas, features and property models.
#include <cmath>

#include <nlohmann/json.hpp>

#include "cli/materials_common.h"
#include "fragua/base/file.h"
#include "fragua/base/log.h"
#include "fragua/materials/csv_writer.h"
#include "fragua/materials/dataset.h"
#include "fragua/materials/features.h"
#include "fragua/materials/property_model.h"
#include "fragua/materials/tables.h"
#include "fragua/materials/validation.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

using namespace fragua::materials;

struct ModelOpts {
  std::string data, out, model, target, formula_col, metrics, task = "regression", preds, family{kDefaultPropertyModel};
  int folds = 5;
  bool csv_comment = false, skip_invalid = false;
  std::string feature_names = "fragua", parity;
  uint32_t cv_seed = kMatbenchSeed;
  PropertyModelOptions mo;
};

std::string command_line_provenance() { return fmt::format("fragua {} materials", FRAGUA_VERSION); }

Result<const ElementTable*> elements() { return ElementTable::builtin(); }

Result<Dataset> load(const ModelOpts& o, bool require_target) {
  const ElementTable* t = FRAGUA_TRY(elements());
  DatasetOptions d;
  d.target_column = o.target;
  d.formula_column = o.formula_col;
  d.require_target = require_target;
  d.skip_invalid = !require_target && o.skip_invalid;
  auto data = FRAGUA_TRY(read_dataset(o.data, *t, d));
  report_skipped_rows(data);
  return data;
}

struct MaterialsParseOpts {
  std::vector<std::string> formulas;
  std::string format = "text";
};

// One row per formula: its reduced formula, molar mass (g/mol of the formula as written) and
// atomic fractions, or the error; CSV and JSON go to standard output in input order, and a bad
// formula does not stop the others (the exit status says whether any failed).
Status run_parse(const MaterialsParseOpts& o) {
  const ElementTable* t = FRAGUA_TRY(elements());
  size_t n_bad = 0;
  nlohmann::json rows = nlohmann::json::array();
  std::string csv = "formula,reduced_formula,molar_mass,fractions,hhi_p,hhi_r,error\n";
  for (auto& f : o.formulas) {
    auto c = parse_formula(f, *t);
    if (!c.ok()) {
      ++n_bad;
      if (o.format == "text") return c.error();
      rows.push_back({{"formula", f}, {"error", c.error().message()}});
      csv += fmt::format("{},,,,,,{}\n", csv_text(f), csv_text(c.error().message()));
      continue;
    }
    double mass = 0;
    for (auto& [z, a] : c->amounts()) mass += a * t->by_z(z).get(Prop::mass);
    const auto fr = c->fractions();
    nlohmann::json fractions = nlohmann::json::object();
    std::string fr_text, amounts;
    for (size_t k = 0; k < fr.size(); ++k) {
      const std::string& sym = t->by_z(c->amounts()[k].first).symbol;
      fractions[sym] = fr[k];
      fr_text += fmt::format("{}{}:{:.6g}", k ? ";" : "", sym, fr[k]);
      amounts += fmt::format(" {}={:.6g}", sym, c->amounts()[k].second);
    }
    auto h = compound_hhi(*c, *t);
    if (o.format == "text") {
      std::string hhi = h.ok() ? fmt::format(" hhi_p={:.0f} hhi_r={:.0f}", h->production, h->reserve) : "";
      fmt::print("{}\treduced={}{}{}\n", f, c->reduced_formula(*t), amounts, hhi);
      continue;
    }
    nlohmann::json row = {{"formula", f},
                          {"reduced_formula", c->reduced_formula(*t)},
                          {"molar_mass", mass},
                          {"fractions", fractions}};
    if (h.ok()) {
      row["hhi_p"] = h->production;
      row["hhi_r"] = h->reserve;
    }
    rows.push_back(row);
    csv += fmt::format("{},{},{:.6g},{},{},{},\n", csv_text(f), csv_text(c->reduced_formula(*t)), mass,
                       csv_text(fr_text), h.ok() ? fmt::format("{:.0f}", h->production) : "",
                       h.ok() ? fmt::format("{:.0f}", h->reserve) : "");
  }
  if (o.format == "json") fmt::print("{}\n", rows.dump(2));
  if (o.format == "csv") fmt::print("{}", csv);
  if (n_bad) return invalid_argument_error("{} of {} formulas did not parse (see their rows)", n_bad, o.formulas.size());
  return ok_status();
}

Status run_featurize(const ModelOpts& o) {
  auto d = FRAGUA_TRY(load(o, false));
  const ElementTable* t = FRAGUA_TRY(elements());
  Featurizer fz(*t);
  std::string comment =
      fmt::format("fragua materials featurize: {} ({}), features {}", o.data, d.size(), fz.signature());
  const auto matminer = fz.matminer_names();
  return write_materials_csv(
      o.out, features_csv(d, fz, o.mo.trees.threads, comment, o.feature_names == "matminer" ? &matminer : nullptr),
      o.csv_comment);
}

Status run_train(ModelOpts o) {
  o.mo.trees.task = FRAGUA_TRY(parse_task(o.task));
  auto d = FRAGUA_TRY(load(o, true));
  if (o.mo.trees.task == Task::classification) FRAGUA_TRY(check_binary_labels(d));
  const ElementTable* t = FRAGUA_TRY(elements());
  auto model = FRAGUA_TRY(make_property_model(o.family, o.mo));
  FRAGUA_TRY(model->train(d, *t, o.metrics));
  std::string flags = o.family == kDefaultPropertyModel ? "" : " --family " + o.family;
  nlohmann::json prov = {{"command", command_line_provenance() + " train" + flags},
                         {"data", o.data},
                         {"rows", d.size()},
                         {"target", d.target_name}};
  FRAGUA_TRY(model->save(o.out, prov));
  fmt::print("wrote {} ({}, target '{}')\n", o.out, model->describe(), d.target_name);
  return ok_status();
}

Status run_predict(const ModelOpts& o) {
  auto model = FRAGUA_TRY(load_property_model(o.model));
  const ElementTable* t = FRAGUA_TRY(elements());
  DatasetOptions dopt;
  dopt.formula_column = o.formula_col;
  // With --parity the input's target column (the last one, or --target) holds measured values.
  dopt.ignore_target = o.parity.empty();
  dopt.require_target = !o.parity.empty();
  dopt.target_column = o.parity.empty() ? "" : o.target;
  dopt.skip_invalid = o.skip_invalid;
  auto d = FRAGUA_TRY(read_dataset(o.data, *t, dopt));
  report_skipped_rows(d);
  auto pr = model->predict(d.comps, *t, o.mo.trees.threads);
  if (!pr.ok()) return pr.error().with_context(o.model);
  std::string csv =
      predictions_csv(d, *pr, fmt::format("fragua materials predict: model {}, input {}", o.model, o.data));
  if (!o.parity.empty())
    FRAGUA_TRY(write_parity_svg(o.parity, d.y, *pr, fmt::format("{} on {} ({})", o.model, o.data, d.target_name)));
  if (o.out.empty()) {
    print_materials_csv(csv, o.csv_comment);
    return ok_status();
  }
  return write_materials_csv(o.out, csv, o.csv_comment);
}

Status run_cv(ModelOpts o) {
  o.mo.trees.task = FRAGUA_TRY(parse_task(o.task));
  auto d = FRAGUA_TRY(load(o, true));
  if (o.mo.trees.task == Task::classification) FRAGUA_TRY(check_binary_labels(d));
  const ElementTable* t = FRAGUA_TRY(elements());
  auto model = FRAGUA_TRY(make_property_model(o.family, o.mo));
  MetricsWriter mw;
  if (!o.metrics.empty()) mw = FRAGUA_TRY(MetricsWriter::open(o.metrics));
  CvResult r = FRAGUA_TRY(model->cross_validate(d, *t, o.folds, o.cv_seed, &mw));
  if (mw.is_open()) FRAGUA_TRY(mw.write(cv_summary(r, *model, o.data, d.size(), o.folds, o.cv_seed)));
  if (!o.preds.empty()) {
    std::string comment = fmt::format("fragua materials cv: {} folds seed {} on {}", o.folds, o.cv_seed, o.data);
    FRAGUA_TRY(write_materials_csv(o.preds, cv_predictions_csv(d, r, comment), o.csv_comment));
  }
  if (!o.parity.empty() && model->task() == Task::regression)
    FRAGUA_TRY(write_parity_svg(o.parity, d.y, r.oof,
                                fmt::format("{} {}-fold CV on {} (out-of-fold)", o.family, o.folds, o.data)));
  for (auto& f : r.per_fold) fmt::print("fold {}: {}\n", f["fold"].get<int>(), f.dump());
  if (model->task() == Task::classification)
    fmt::print("cv {} folds (seed {}): roc_auc {:.4f}\n", o.folds, o.cv_seed, r.auc);
  else
  {
    fmt::print("cv {} folds (seed {}): mae {:.4f} rmse {:.4f}{}\n", o.folds, o.cv_seed, r.mae, r.rmse,
               std::isnan(r.gate_auc) ? "" : fmt::format(" zero-gate roc_auc {:.4f}", r.gate_auc));
    for (size_t k = 0; k < r.parts.size() && k < r.part_mae.size(); ++k)
      fmt::print("  its {} part alone (same folds and members): mae {:.4f}\n", r.parts[k].first, r.part_mae[k]);
    fmt::print("errors within 1/2 std: raw {:.1f}% / {:.1f}%, calibrated on the other folds {:.1f}% / {:.1f}% "
               "(normal: 68.3% / 95.4%); within the calibrated 95% interval {:.1f}%\n",
               100 * r.raw_within_1sd, 100 * r.raw_within_2sd, 100 * r.calibrated_within_1sd,
               100 * r.calibrated_within_2sd, 100 * r.calibrated_within_95);
    if (!r.oof.p_zero.empty())
      for (auto [name, g] : {std::pair{"gate predicts > 0", &r.calibrated_nonzero},
                             std::pair{"gate predicts 0", &r.calibrated_zero}})
        fmt::print("  {} ({} rows): within 1 std {:.1f}%, 2 std {:.1f}%, 95% interval {:.1f}%\n", name, g->n,
                   100 * g->within_1sd, 100 * g->within_2sd, 100 * g->within_95);
  }
  return ok_status();
}

void add_data_flags(CLI::App* sub, ModelOpts& o) {
  sub->add_option("--data", o.data, "Dataset: CSV (composition + target) or Matbench JSON (.json, .gz, .bz2)")
      ->required();
  sub->add_option("--target", o.target, "Target column (default: the last one)");
  sub->add_option("--formula-column", o.formula_col, "Formula column (default: composition or formula)");
}

void setup(CLI::App& root) {
  auto* cmd = materials_app(root);
  auto po = std::make_shared<MaterialsParseOpts>();
  auto* parse = cmd->add_subcommand("parse", "Parse formulas: reduced formula, molar mass, fractions, HHI");
  parse->add_option("formulas", po->formulas, "Formulas")->required();
  parse->add_option("--format", po->format, "text, csv or json (one row per formula, errors in their row)")
      ->check(CLI::IsMember({"text", "csv", "json"}))
      ->capture_default_str();
  parse->callback([po] { check(run_parse(*po)); });

  auto o = std::make_shared<ModelOpts>();
  auto* fe = cmd->add_subcommand("featurize", "Write Magpie-style features of a dataset as CSV");
  add_data_flags(fe, *o);
  add_output_flag(*fe, o->out, "Output CSV (required)");
  add_threads_flag(*fe, o->mo.trees.threads);
  add_csv_comment_flag(fe, o->csv_comment);
  add_skip_invalid_flag(fe, o->skip_invalid);
  fe->add_option("--feature-names", o->feature_names,
                 "Column names: fragua (mean_pauling_en, ...) or matminer (MagpieData mean Electronegativity, ...)")
      ->check(CLI::IsMember({"fragua", "matminer"}))
      ->capture_default_str();
  fe->callback([o] {
    require_output(o->out);
    check(run_featurize(*o));
  });

  auto* tr = cmd->add_subcommand("train", "Train a property model ensemble (XGBoost or attention) on a dataset");
  add_data_flags(tr, *o);
  add_output_flag(*tr, o->out, "Model file to write (required)");
  tr->add_option("--metrics", o->metrics, "JSON-lines metrics file (attention: loss per member and epoch)");
  add_train_flags(tr, o->mo.trees, o->task);
  add_attention_flags(tr, o->mo.attention, o->family);
  tr->add_option("--calibration-folds", o->mo.calibration_folds,
                 "Ensemble: folds of the out-of-fold run its std is calibrated on (0 = none)")
      ->capture_default_str();
  add_extra_trees_flag(tr, o->mo.extra_trees);
  tr->callback([o] {
    require_output(o->out);
    check(run_train(*o));
  });

  auto* pr = cmd->add_subcommand("predict", "Predict with uncertainty for the formulas in a CSV");
  pr->add_option("--model", o->model, "Model file")->required();
  pr->add_option("-i,--input", o->data, "CSV with a composition (or formula) column")->required();
  pr->add_option("--formula-column", o->formula_col, "Formula column");
  add_output_flag(*pr, o->out, "Output CSV (default: stdout)");
  add_threads_flag(*pr, o->mo.trees.threads);
  add_csv_comment_flag(pr, o->csv_comment);
  add_skip_invalid_flag(pr, o->skip_invalid);
  pr->add_option("--target", o->target, "With --parity: the measured-value column (default: the last one)");
  pr->add_option("--parity", o->parity, "Parity plot (SVG) of the predictions against the measured values in the input's target column");
  pr->callback([o] { check(run_predict(*o)); });

  auto* cv =
      cmd->add_subcommand("cv", "Cross-validate with the Matbench protocol (5-fold KFold, shuffled, seed 18012019)");
  add_data_flags(cv, *o);
  cv->add_option("--folds", o->folds, "Number of folds");
  cv->add_option("--cv-seed", o->cv_seed, "KFold shuffle seed");
  cv->add_option("--metrics", o->metrics, "JSON-lines metrics file");
  cv->add_option("--predictions", o->preds, "Write out-of-fold predictions (CSV)");
  add_train_flags(cv, o->mo.trees, o->task);
  add_attention_flags(cv, o->mo.attention, o->family);
  add_extra_trees_flag(cv, o->mo.extra_trees);
  add_csv_comment_flag(cv, o->csv_comment);
  cv->add_option("--parity", o->parity, "Parity plot (SVG) of the out-of-fold predictions against the measured values");
  cv->callback([o] { check(run_cv(*o)); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
