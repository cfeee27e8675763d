// Shared by the `fragua materials ...` command files: the parent subcommand (created by
// whichever file registers first) and the hyper-parameter flags.
#pragma once

#include "cli/command.h"
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

inline void add_train_flags(CLI::App* sub, materials::TrainConfig& c, std::string& task) {
  sub->add_option("--task", task, "regression (band gap) or classification (metal = 1)")
      ->check(CLI::IsMember({"regression", "classification"}));
  sub->add_option("--models", c.n_models, "Ensemble members (uncertainty = their spread)");
  sub->add_option("--rounds", c.n_rounds, "Boosting rounds per member");
  sub->add_option("--eta", c.eta, "Learning rate");
  sub->add_option("--max-depth", c.max_depth, "Tree depth");
  sub->add_option("--subsample", c.subsample, "Row subsample per tree");
  sub->add_option("--colsample", c.colsample, "Column subsample per tree");
  sub->add_option("--min-child-weight", c.min_child_weight, "XGBoost min_child_weight");
  sub->add_option("--lambda", c.lambda, "L2 regularisation");
  sub->add_option("--objective", c.objective, "XGBoost objective (default reg:squarederror / binary:logistic)");
  sub->add_flag("--bootstrap", c.bootstrap, "Train each member on a bootstrap resample");
  sub->add_option("--zero-gate", c.zero_gate,
                  "Regression: classifier for y == 0 + regressor on y != 0 (auto: on when >= 10% of targets are 0)")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  sub->add_option("--log-target", c.log_target, "Regression on log(1 + y) (auto: on when all targets are >= 0)")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  sub->add_option("--seed", c.seed, "Random seed of member 0");
  add_threads_flag(*sub, c.threads);
}

inline void add_attention_flags(CLI::App* sub, materials::AttentionConfig& a, std::string& family) {
  sub->add_option("--model", family,
                  "Model family: xgboost (trees on Magpie features) or attention (element transformer)")
      ->check(CLI::IsMember(materials::property_model_families()));
  sub->add_option("--epochs", a.epochs, "Attention: epochs per member");
  sub->add_option("--batch", a.batch, "Attention: compositions per step");
  sub->add_option("--lr", a.lr, "Attention: peak learning rate (warmup 5%, cosine to lr/10)");
  sub->add_option("--weight-decay", a.weight_decay, "Attention: AdamW weight decay");
  sub->add_option("--d-model", a.d_model, "Attention: width of the element tokens");
  sub->add_option("--layers", a.n_layer, "Attention: encoder blocks");
  sub->add_option("--heads", a.n_head, "Attention: attention heads (must divide --d-model)");
  sub->add_option("--head-hidden", a.head_hidden, "Attention: hidden width of the output MLP");
}

}  // namespace fragua::cli
