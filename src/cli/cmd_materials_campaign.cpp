// SPDX-License-Identifier: Apache-2.0
// fragua materials campaign: a simulated discovery loop on data with known values (campaign.h),
// the model-guided choice against random and greedy, with discovery curves.
#include <algorithm>

#include "cli/materials_common.h"
#include "fragua/base/file.h"
#include "fragua/materials/campaign.h"
#include "fragua/materials/dataset.h"

namespace fragua::cli {
namespace {

struct CampaignCliOpts {
  std::string data, target, out, plot, seeds = "1,2,3", strategies = "suggest,greedy,random", task = "regression";
  materials::CampaignOptions c;
  bool csv_comment = false;
};

Status run_materials_campaign(CampaignCliOpts o) {
  using namespace fragua::materials;
  o.c.seeds.clear();
  for (auto& s : split_materials_list(o.seeds, ',')) {
    char* end = nullptr;
    const unsigned long v = std::strtoul(s.c_str(), &end, 10);
    if (s.empty() || *end || v > 0xffffffffUL) return invalid_argument_error("--seeds: '{}' is not a seed", s);
    o.c.seeds.push_back(static_cast<uint32_t>(v));
  }
  o.c.strategies = split_materials_list(o.strategies, ',');
  const ElementTable* t = FRAGUA_TRY(ElementTable::builtin());
  DatasetOptions d;
  d.target_column = o.target;
  auto data = FRAGUA_TRY(read_dataset(o.data, *t, d));
  auto r = FRAGUA_TRY(run_campaign(data, *t, o.c));
  if (!o.out.empty()) FRAGUA_TRY(write_materials_csv(o.out, campaign_csv(r, o.c), o.csv_comment));
  if (!o.plot.empty())
    FRAGUA_TRY(write_campaign_svg(
        o.plot, r, o.c,
        fmt::format("{}: {} of {} compounds in [{}, {}]; {} + {} x {} measured", o.data, r.pool_hits, r.pool,
                    o.c.window_min, o.c.window_max, o.c.initial, o.c.rounds, o.c.per_round)));
  fmt::print("{} eligible compounds, {} in [{}, {}]; random choice expects {:.1f} hits in {} measurements\n", r.pool,
             r.pool_hits, o.c.window_min, o.c.window_max,
             static_cast<double>(r.pool_hits) / static_cast<double>(std::max<size_t>(r.pool, 1)) *
                 static_cast<double>(o.c.rounds) * static_cast<double>(o.c.per_round),
             static_cast<size_t>(o.c.rounds) * o.c.per_round);
  for (const auto& s : o.c.strategies) {
    std::vector<size_t> f;
    for (const auto& c : r.curves)
      if (c.strategy == s) f.push_back(c.found.back());
    if (f.empty()) continue;
    double mean = 0;
    for (size_t v : f) mean += static_cast<double>(v) / static_cast<double>(f.size());
    fmt::print("{:>8}: {:.1f} hits on average (min {}, max {}) over {} seeds\n", s, mean,
               *std::min_element(f.begin(), f.end()), *std::max_element(f.begin(), f.end()), f.size());
  }
  return ok_status();
}

void setup_materials_campaign(CLI::App& root) {
  auto* cmd = materials_app(root);
  auto o = std::make_shared<CampaignCliOpts>();
  auto* c = cmd->add_subcommand(
      "campaign", "Simulate the discovery loop on data with known values: guided choice against random and greedy");
  c->add_option("--data", o->data, "Data with measured values (CSV or Matbench JSON)")->required();
  c->add_option("--target", o->target, "Target column (default: the last one)");
  c->add_option("--initial", o->c.initial, "Labelled compounds at the start (random per seed)")->capture_default_str();
  // Not --rounds: that is the tree ensemble's boosting rounds (add_train_flags).
  c->add_option("--iterations", o->c.rounds, "Suggest -> measure -> retrain cycles")->capture_default_str();
  c->add_option("--per-round", o->c.per_round, "Compounds measured per round")->capture_default_str();
  c->add_option("--seeds", o->seeds, "Comma-separated seeds, one campaign each")->capture_default_str();
  c->add_option("--strategies", o->strategies, "Any of suggest, greedy, random")->capture_default_str();
  c->add_option("--gap-min", o->c.window_min, "Lower end of the target window (eV)")->capture_default_str();
  c->add_option("--gap-max", o->c.window_max, "Upper end of the target window (eV)")->capture_default_str();
  c->add_option("--noise", o->c.noise, "Measurement noise (std) for the noise-aware acquisition")
      ->capture_default_str();
  c->add_flag("--no-toxic", o->c.no_toxic, "Never suggest RoHS-restricted or toxic elements");
  c->add_flag("--no-critical", o->c.no_critical, "Never suggest EU critical raw materials");
  add_output_flag(*c, o->out, "Discovery curves as CSV (strategy, seed, round, measured, found)");
  c->add_option("--plot", o->plot, "Discovery curves as SVG");
  add_train_flags(c, o->c.model.trees, o->task);
  add_attention_flags(c, o->c.model.attention, o->c.family);
  add_csv_comment_flag(c, o->csv_comment);
  c->callback([o] { check(run_materials_campaign(*o)); });
}

Registrar reg_materials_campaign(setup_materials_campaign);

}  // namespace
}  // namespace fragua::cli
