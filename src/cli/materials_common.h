// SPDX-License-Identifier: Apache-2.0
// Shared by the `fragua materials ...` command files: the parent subcommand (created by
// whichever file registers first) and the hyper-parameter flags.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "fragua/base/file.h"
#include "fragua/materials/dataset.h"
#include "fragua/materials/property_model.h"

namespace fragua::cli {

inline CLI::App* materials_app(CLI::App& root) {
  for (auto* s : root.get_subcommands([](CLI::App*) { return true; }))
    if (s->get_name() == "materials") return s;
  auto* cmd = root.add_subcommand(
      "materials", "Materials discovery: formulas, features, property models, candidate generation, screening");
  cmd->require_subcommand(1);
  return cmd;
}

// The CSV tables the materials commands write start with '#' provenance lines. A plain
// pandas.read_csv (no comment='#') would take the first of them for the header, so by default
// they go to a sidecar "<path>.json" ({"format", "csv", "provenance"}) and the CSV starts with
// its header; `keep_comment` (--csv-comment) keeps them in the CSV instead. On standard output
// the lines are dropped unless kept.
inline std::pair<std::string, std::string> split_csv_provenance(std::string_view csv) {
  std::string comment;
  while (csv.starts_with("#")) {
    const size_t eol = csv.find('\n');
    std::string_view line = csv.substr(1, eol == std::string_view::npos ? std::string_view::npos : eol - 1);
    if (line.starts_with(" ")) line.remove_prefix(1);
    comment += std::string(line) + "\n";
    csv.remove_prefix(eol == std::string_view::npos ? csv.size() : eol + 1);
  }
  return {comment, std::string(csv)};
}

inline Status write_materials_csv(const std::string& path, std::string_view csv, bool keep_comment) {
  if (keep_comment) return write_file_atomic(path, csv);
  auto [comment, body] = split_csv_provenance(csv);
  if (!comment.empty()) {
    const nlohmann::json side = {{"format", "fragua-csv-provenance"},
                                 {"version", 1},
                                 {"csv", std::filesystem::path(path).filename().string()},
                                 {"provenance", comment.substr(0, comment.size() - 1)}};
    FRAGUA_TRY(write_file_atomic(path + ".json", side.dump(2) + "\n"));
  }
  return write_file_atomic(path, body);
}

inline void print_materials_csv(std::string_view csv, bool keep_comment) {
  fmt::print("{}", keep_comment ? std::string(csv) : split_csv_provenance(csv).second);
}

inline void add_csv_comment_flag(CLI::App* sub, bool& keep) {
  sub->add_flag("--csv-comment", keep,
                "Keep the provenance as a leading '#' line in the CSV (default: a sidecar <out>.json, so that "
                "pandas.read_csv reads the CSV as it is)");
}

inline void add_skip_invalid_flag(CLI::App* sub, bool& skip) {
  sub->add_flag("--skip-invalid", skip,
                "Leave out rows whose formula does not parse (each reported with its line) instead of failing");
}

// The rows --skip-invalid left out, on standard error, so that they are seen but the output stays
// a table.
inline void report_skipped_rows(const materials::Dataset& d) {
  if (d.skipped.empty()) return;
  fmt::print(stderr, "skipped {} invalid row{}:\n", d.skipped.size(), d.skipped.size() == 1 ? "" : "s");
  for (const auto& m : d.skipped) fmt::print(stderr, "  {}\n", m);
}

// "Cu,Zn,,Sn" -> {"Cu", "Zn", "Sn"}: comma lists of elements, species, amounts, seeds.
inline std::vector<std::string> split_materials_list(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t e = s.find(sep, pos);
    if (e == std::string::npos) e = s.size();
    if (e > pos) out.push_back(s.substr(pos, e - pos));
    pos = e + 1;
  }
  return out;
}

inline void add_train_flags(CLI::App* sub, materials::TrainConfig& c, std::string& task) {
  sub->add_option("--task", task, "regression (band gap) or classification (metal = 1)")
      ->check(CLI::IsMember({"regression", "classification"}))
      ->capture_default_str();
  sub->add_option("--models", c.n_models, "Ensemble members (uncertainty = their spread)")->capture_default_str();
  sub->add_option("--rounds", c.n_rounds, "Boosting rounds per member")->capture_default_str();
  sub->add_option("--eta", c.eta, "Learning rate")->capture_default_str();
  sub->add_option("--max-depth", c.max_depth, "Tree depth")->capture_default_str();
  sub->add_option("--subsample", c.subsample, "Row subsample per tree")->capture_default_str();
  sub->add_option("--colsample", c.colsample, "Column subsample per tree")->capture_default_str();
  sub->add_option("--min-child-weight", c.min_child_weight, "XGBoost min_child_weight")->capture_default_str();
  sub->add_option("--lambda", c.lambda, "L2 regularisation")->capture_default_str();
  sub->add_option("--objective", c.objective, "XGBoost objective (default reg:squarederror / binary:logistic)")->capture_default_str();
  sub->add_flag("--bootstrap", c.bootstrap, "Train each member on a bootstrap resample");
  sub->add_option("--zero-gate", c.zero_gate,
                  "Regression: classifier for y == 0 + regressor on y != 0 (auto: on when >= 10% of targets are 0)")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  sub->add_option("--log-target", c.log_target, "Regression on log(1 + y) (auto: on when all targets are >= 0)")
      ->check(CLI::IsMember({"auto", "on", "off"}))
      ->capture_default_str();
  sub->add_option("--seed", c.seed, "Random seed of member 0")->capture_default_str();
  add_threads_flag(*sub, c.threads);
}

inline void add_extra_trees_flag(CLI::App* sub, int& n) {
  sub->add_option("--extra-trees", n,
                  "Ensemble: trees of its third gate, extremely randomized trees voting on a zero gap (0 = none)")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
}

inline void add_attention_flags(CLI::App* sub, materials::AttentionConfig& a, std::string& family) {
  sub->add_option("--family", family,
                  "Model family: xgboost (trees on Magpie features), attention (element transformer) or ensemble "
                  "(both, combined and calibrated)")
      ->check(CLI::IsMember(materials::property_model_families()))
      ->capture_default_str();
  // The flag's first spelling, before --model came to mean a model file everywhere (issue 18).
  sub->add_option("--model", family, "Deprecated spelling of --family")
      ->check(CLI::IsMember(materials::property_model_families()))
      ->group("");
  sub->add_option("--epochs", a.epochs, "Attention: epochs per member")->capture_default_str();
  sub->add_option("--batch", a.batch, "Attention: compositions per step")->capture_default_str();
  sub->add_option("--lr", a.lr, "Attention: peak learning rate (warmup 5%, cosine to lr/10)")->capture_default_str();
  sub->add_option("--weight-decay", a.weight_decay, "Attention: AdamW weight decay")->capture_default_str();
  sub->add_option("--swa-epochs", a.swa_epochs,
                  "Attention: average each member's weights over its last N epochs (0: keep the last)")
      ->capture_default_str();
  sub->add_option("--d-model", a.d_model, "Attention: width of the element tokens")->capture_default_str();
  sub->add_option("--layers", a.n_layer, "Attention: encoder blocks")->capture_default_str();
  sub->add_option("--heads", a.n_head, "Attention: attention heads (must divide --d-model)")->capture_default_str();
  sub->add_option("--head-hidden", a.head_hidden, "Attention: hidden width of the output MLP")->capture_default_str();
}

}  // namespace fragua::cli
