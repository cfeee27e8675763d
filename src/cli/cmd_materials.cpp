// fragua materials parse|featurize|train|predict|cv: formulas, features and property models.
#include <cmath>

#include <nlohmann/json.hpp>

#include "cli/materials_common.h"
#include "fragua/base/file.h"
#include "fragua/base/log.h"
#include "fragua/materials/attention_model.h"
#include "fragua/materials/csv_reader.h"
#include "fragua/materials/csv_writer.h"
#include "fragua/materials/dataset.h"
#include "fragua/materials/features.h"
#include "fragua/materials/predictor.h"
#include "fragua/materials/validation.h"

namespace fragua::cli {
namespace {

using namespace fragua::materials;

struct ModelOpts {
  std::string data, out, model, target, formula_col, metrics, task = "regression", preds, family = "xgboost";
  int folds = 5;
  uint32_t cv_seed = kMatbenchSeed;
  TrainConfig cfg;
  AttentionConfig att;
};

// The attention model shares the ensemble and target flags with the tree ensemble.
AttentionConfig attention_config(const ModelOpts& o) {
  AttentionConfig a = o.att;
  a.task = o.cfg.task;
  a.n_models = o.cfg.n_models;
  a.bootstrap = o.cfg.bootstrap;
  a.zero_gate = o.cfg.zero_gate;
  a.log_target = o.cfg.log_target;
  a.threads = o.cfg.threads;
  a.seed = o.cfg.seed;
  return a;
}

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
  auto x = fz.featurize_all(d.comps, o.cfg.threads);
  CsvWriter w;
  w.comment(fmt::format("fragua materials featurize: {} ({}), features {}", o.data, d.size(), fz.signature()));
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
  return write_file_atomic(o.out, w.str());
}

Status run_train_attention(const ModelOpts& o, const Dataset& d, const ElementTable& t) {
  AttentionConfig a = attention_config(o);
  log_info("training {} attention members x {} epochs on {} rows", a.n_models, a.epochs, d.size());
  MetricsWriter mw;
  if (!o.metrics.empty()) mw = FRAGUA_TRY(MetricsWriter::open(o.metrics));
  auto model = FRAGUA_TRY(AttentionModel::train(d.comps, d.y, t, a, &mw));
  log_info("zero gate {}, log target {}", model.config().zero_gate, model.config().log_target);
  nlohmann::json prov = {{"command", command_line_provenance() + " train --model attention"},
                         {"data", o.data},
                         {"rows", d.size()},
                         {"target", d.target_name}};
  FRAGUA_TRY(model.save(o.out, prov));
  fmt::print("wrote {} ({} attention members, target '{}')\n", o.out, a.n_models, d.target_name);
  return ok_status();
}

Status run_train(ModelOpts o) {
  o.cfg.task = FRAGUA_TRY(parse_task(o.task));
  auto d = FRAGUA_TRY(load(o, true));
  const ElementTable* t = FRAGUA_TRY(elements());
  if (o.family == "attention") return run_train_attention(o, d, *t);
  Featurizer fz(*t);
  auto x = fz.featurize_all(d.comps, o.cfg.threads);
  log_info("training {} x {} rounds on {} rows, {} features", o.cfg.n_models, o.cfg.n_rounds, d.size(), fz.size());
  auto model = FRAGUA_TRY(Model::train(x, fz.size(), d.y, o.cfg, fz.signature()));
  log_info("zero gate {}, log target {}", model.config().zero_gate, model.config().log_target);
  nlohmann::json prov = {{"command", command_line_provenance() + " train"},
                         {"data", o.data},
                         {"rows", d.size()},
                         {"target", d.target_name}};
  FRAGUA_TRY(model.save(o.out, prov));
  fmt::print("wrote {} ({} members, target '{}')\n", o.out, o.cfg.n_models, d.target_name);
  return ok_status();
}

Status run_predict(const ModelOpts& o) {
  auto model = FRAGUA_TRY(Predictor::load(o.model));
  const ElementTable* t = FRAGUA_TRY(elements());
  DatasetOptions dopt;
  dopt.formula_column = o.formula_col;
  dopt.ignore_target = true;
  auto d = FRAGUA_TRY(read_dataset(o.data, *t, dopt));
  auto pr = model.predict(d.comps, *t, o.cfg.threads);
  if (!pr.ok()) return pr.error().with_context(o.model);
  const Prediction& p = *pr;
  CsvWriter w;
  w.comment(fmt::format("fragua materials predict: model {}, input {}", o.model, o.data));
  bool gate = !p.p_zero.empty();
  w.value("id").value("composition").value("prediction").value("uncertainty");
  if (gate) w.value("p_zero");
  w.end_row();
  for (size_t i = 0; i < d.size(); ++i) {
    w.text(d.ids[i]).text(d.formulas[i]).value(fmt::format("{:.6g}", p.mean[i])).value(fmt::format("{:.6g}", p.std[i]));
    if (gate) w.value(fmt::format("{:.6g}", p.p_zero[i]));
    w.end_row();
  }
  if (o.out.empty()) {
    fmt::print("{}", w.str());
    return ok_status();
  }
  return write_file_atomic(o.out, w.str());
}

Status run_cv(ModelOpts o) {
  o.cfg.task = FRAGUA_TRY(parse_task(o.task));
  auto d = FRAGUA_TRY(load(o, true));
  const ElementTable* t = FRAGUA_TRY(elements());
  MetricsWriter mw;
  if (!o.metrics.empty()) mw = FRAGUA_TRY(MetricsWriter::open(o.metrics));
  CvResult r;
  nlohmann::json config;
  if (o.family == "attention") {
    AttentionConfig a = attention_config(o);
    r = FRAGUA_TRY(cross_validate_attention(d.comps, d.y, *t, a, o.folds, o.cv_seed, &mw));
    config = attention_config_to_json(a);
  } else {
    Featurizer fz(*t);
    auto x = fz.featurize_all(d.comps, o.cfg.threads);
    r = FRAGUA_TRY(cross_validate(x, fz.size(), d.y, o.cfg, o.folds, o.cv_seed, &mw));
    config = config_to_json(o.cfg);
  }
  nlohmann::json summary = {{"event", "cv_summary"}, {"data", o.data},    {"rows", d.size()},
                            {"folds", o.folds},      {"seed", o.cv_seed}, {"model", o.family},
                            {"mae", r.mae},          {"rmse", r.rmse},    {"config", config}};
  if (o.cfg.task == Task::classification) summary["roc_auc"] = r.auc;
  if (!std::isnan(r.gate_auc)) summary["gate_auc"] = r.gate_auc;
  if (mw.is_open()) FRAGUA_TRY(mw.write(summary));
  if (!o.preds.empty()) {
    CsvWriter w;
    w.comment(fmt::format("fragua materials cv: {} folds seed {} on {}", o.folds, o.cv_seed, o.data));
    bool gate = !r.oof.p_zero.empty();
    w.value("id").value("composition").value("fold").value("target").value("prediction").value("uncertainty");
    if (gate) w.value("p_zero");
    w.end_row();
    for (size_t i = 0; i < d.size(); ++i) {
      w.text(d.ids[i]).text(d.formulas[i]).num(r.fold[i]).num(d.y[i]);
      w.value(fmt::format("{:.6g}", r.oof.mean[i])).value(fmt::format("{:.6g}", r.oof.std[i]));
      if (gate) w.value(fmt::format("{:.6g}", r.oof.p_zero[i]));
      w.end_row();
    }
    FRAGUA_TRY(write_file_atomic(o.preds, w.str()));
  }
  for (auto& f : r.per_fold) fmt::print("fold {}: {}\n", f["fold"].get<int>(), f.dump());
  if (o.cfg.task == Task::classification)
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
  add_threads_flag(*fe, o->cfg.threads);
  fe->callback([o] { check(run_featurize(*o)); });

  auto* tr = cmd->add_subcommand("train", "Train a property model ensemble (XGBoost or attention) on a dataset");
  add_data_flags(tr, *o);
  tr->add_option("--out", o->out, "Model file to write")->required();
  tr->add_option("--metrics", o->metrics, "JSON-lines metrics file (attention: loss per member and epoch)");
  add_train_flags(tr, o->cfg, o->task);
  add_attention_flags(tr, o->att, o->family);
  tr->callback([o] { check(run_train(*o)); });

  auto* pr = cmd->add_subcommand("predict", "Predict with uncertainty for the formulas in a CSV");
  pr->add_option("--model", o->model, "Model file")->required();
  pr->add_option("--input", o->data, "CSV with a composition (or formula) column")->required();
  pr->add_option("--formula-column", o->formula_col, "Formula column");
  pr->add_option("--out", o->out, "Output CSV (default: stdout)");
  add_threads_flag(*pr, o->cfg.threads);
  pr->callback([o] { check(run_predict(*o)); });

  auto* cv =
      cmd->add_subcommand("cv", "Cross-validate with the Matbench protocol (5-fold KFold, shuffled, seed 18012019)");
  add_data_flags(cv, *o);
  cv->add_option("--folds", o->folds, "Number of folds");
  cv->add_option("--cv-seed", o->cv_seed, "KFold shuffle seed");
  cv->add_option("--metrics", o->metrics, "JSON-lines metrics file");
  cv->add_option("--predictions", o->preds, "Write out-of-fold predictions (CSV)");
  add_train_flags(cv, o->cfg, o->task);
  add_attention_flags(cv, o->att, o->family);
  cv->callback([o] { check(run_cv(*o)); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
