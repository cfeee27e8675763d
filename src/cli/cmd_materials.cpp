// fragua materials parse|featurize|train|predict|cv: formulas, features and property models.
#include <cmath>

#include <nlohmann/json.hpp>

#include "cli/materials_common.h"
#include "fragua/base/file.h"
#include "fragua/base/log.h"
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
  return read_dataset(o.data, *t, d);
}

Status run_parse(const std::vector<std::string>& formulas) {
  const ElementTable* t = FRAGUA_TRY(elements());
  for (auto& f : formulas) {
    auto c = FRAGUA_TRY(parse_formula(f, *t));
    std::string amounts;
    for (auto& [z, a] : c.amounts()) amounts += fmt::format(" {}={:.6g}", t->by_z(z).symbol, a);
    auto h = compound_hhi(c, *t);
    std::string hhi = h.ok() ? fmt::format(" hhi_p={:.0f} hhi_r={:.0f}", h->production, h->reserve) : "";
    fmt::print("{}\treduced={}{}{}\n", f, c.reduced_formula(*t), amounts, hhi);
  }
  return ok_status();
}

Status run_featurize(const ModelOpts& o) {
  auto d = FRAGUA_TRY(load(o, false));
  const ElementTable* t = FRAGUA_TRY(elements());
  Featurizer fz(*t);
  std::string comment =
      fmt::format("fragua materials featurize: {} ({}), features {}", o.data, d.size(), fz.signature());
  return write_file_atomic(o.out, features_csv(d, fz, o.mo.trees.threads, comment));
}

Status run_train(ModelOpts o) {
  o.mo.trees.task = FRAGUA_TRY(parse_task(o.task));
  auto d = FRAGUA_TRY(load(o, true));
  const ElementTable* t = FRAGUA_TRY(elements());
  auto model = FRAGUA_TRY(make_property_model(o.family, o.mo));
  FRAGUA_TRY(model->train(d, *t, o.metrics));
  std::string flags = o.family == kDefaultPropertyModel ? "" : " --model " + o.family;
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
  dopt.ignore_target = true;
  auto d = FRAGUA_TRY(read_dataset(o.data, *t, dopt));
  auto pr = model->predict(d.comps, *t, o.mo.trees.threads);
  if (!pr.ok()) return pr.error().with_context(o.model);
  std::string csv =
      predictions_csv(d, *pr, fmt::format("fragua materials predict: model {}, input {}", o.model, o.data));
  if (o.out.empty()) {
    fmt::print("{}", csv);
    return ok_status();
  }
  return write_file_atomic(o.out, csv);
}

Status run_cv(ModelOpts o) {
  o.mo.trees.task = FRAGUA_TRY(parse_task(o.task));
  auto d = FRAGUA_TRY(load(o, true));
  const ElementTable* t = FRAGUA_TRY(elements());
  auto model = FRAGUA_TRY(make_property_model(o.family, o.mo));
  MetricsWriter mw;
  if (!o.metrics.empty()) mw = FRAGUA_TRY(MetricsWriter::open(o.metrics));
  CvResult r = FRAGUA_TRY(model->cross_validate(d, *t, o.folds, o.cv_seed, &mw));
  if (mw.is_open()) FRAGUA_TRY(mw.write(cv_summary(r, *model, o.data, d.size(), o.folds, o.cv_seed)));
  if (!o.preds.empty()) {
    std::string comment = fmt::format("fragua materials cv: {} folds seed {} on {}", o.folds, o.cv_seed, o.data);
    FRAGUA_TRY(write_file_atomic(o.preds, cv_predictions_csv(d, r, comment)));
  }
  for (auto& f : r.per_fold) fmt::print("fold {}: {}\n", f["fold"].get<int>(), f.dump());
  if (model->task() == Task::classification)
    fmt::print("cv {} folds (seed {}): roc_auc {:.4f}\n", o.folds, o.cv_seed, r.auc);
  else
    fmt::print("cv {} folds (seed {}): mae {:.4f} rmse {:.4f}{}\n", o.folds, o.cv_seed, r.mae, r.rmse,
               std::isnan(r.gate_auc) ? "" : fmt::format(" zero-gate roc_auc {:.4f}", r.gate_auc));
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
  auto formulas = std::make_shared<std::vector<std::string>>();
  auto* parse = cmd->add_subcommand("parse", "Parse formulas: reduced formula, amounts, HHI");
  parse->add_option("formulas", *formulas, "Formulas")->required();
  parse->callback([formulas] { check(run_parse(*formulas)); });

  auto o = std::make_shared<ModelOpts>();
  auto* fe = cmd->add_subcommand("featurize", "Write Magpie-style features of a dataset as CSV");
  add_data_flags(fe, *o);
  fe->add_option("--out", o->out, "Output CSV")->required();
  add_threads_flag(*fe, o->mo.trees.threads);
  fe->callback([o] { check(run_featurize(*o)); });

  auto* tr = cmd->add_subcommand("train", "Train a property model ensemble (XGBoost or attention) on a dataset");
  add_data_flags(tr, *o);
  tr->add_option("--out", o->out, "Model file to write")->required();
  tr->add_option("--metrics", o->metrics, "JSON-lines metrics file (attention: loss per member and epoch)");
  add_train_flags(tr, o->mo.trees, o->task);
  add_attention_flags(tr, o->mo.attention, o->family);
  tr->callback([o] { check(run_train(*o)); });

  auto* pr = cmd->add_subcommand("predict", "Predict with uncertainty for the formulas in a CSV");
  pr->add_option("--model", o->model, "Model file")->required();
  pr->add_option("--input", o->data, "CSV with a composition (or formula) column")->required();
  pr->add_option("--formula-column", o->formula_col, "Formula column");
  pr->add_option("--out", o->out, "Output CSV (default: stdout)");
  add_threads_flag(*pr, o->mo.trees.threads);
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
  cv->callback([o] { check(run_cv(*o)); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
