// SPDX-License-Identifier: Apache-2.0
// A simulated discovery campaign: how the lab loop (train -> suggest -> measure ->
// add-measurements -> retrain) would have found compounds in a target window on data whose
// values are already known, against random choice and greedy prediction, over several seeds.
// This is how the loop is validated before a real lab uses it (`fragua materials campaign`).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/materials/dataset.h"
#include "fragua/materials/property_model.h"

namespace fragua::materials {

struct CampaignOptions {
  std::string family{kDefaultPropertyModel};
  PropertyModelOptions model;
  size_t initial = 50;    // labelled rows at the start, drawn at random per seed
  int rounds = 10;        // suggest -> measure -> retrain cycles
  size_t per_round = 5;   // candidates measured per round
  std::vector<uint32_t> seeds = {1, 2, 3};
  double window_min = 1.1, window_max = 1.8;  // a hit: measured value inside the window
  double noise = 0.1;                         // measurement std for the noise-aware acquisition
  // Compositions with these elements are never candidates (a lab that will not make them).
  bool no_toxic = false, no_critical = false;
  // "suggest": noise-aware expected improvement towards the window's centre (what `fragua
  // materials suggest --objective target` ranks by); "greedy": nearest predicted value to the
  // centre; "random": uniform among the unmeasured.
  std::vector<std::string> strategies = {"suggest", "greedy", "random"};
};

struct CampaignCurve {
  std::string strategy;
  uint32_t seed = 0;
  // Hits found by the campaign's own measurements after round r (found[0] = 0, before the
  // first round; the initial labelled rows do not count), r = 0..rounds.
  std::vector<size_t> found;
};

struct CampaignResult {
  size_t pool = 0;       // eligible rows
  size_t pool_hits = 0;  // eligible rows inside the window
  std::vector<CampaignCurve> curves;
};

// `data` must have targets. Errors: too few rows for the initial set plus the rounds, an unknown
// strategy, an empty window.
Result<CampaignResult> run_campaign(const Dataset& data, const ElementTable& table, const CampaignOptions& o);

// One row per strategy, seed and round: strategy,seed,round,measured,found.
std::string campaign_csv(const CampaignResult& r, const CampaignOptions& o);
// Discovery curves: the mean hits found per round of each strategy, with each seed's curve thin
// beside it, and the expectation of random choice without replacement as a reference.
Status write_campaign_svg(const std::string& path, const CampaignResult& r, const CampaignOptions& o,
                          const std::string& title);

}  // namespace fragua::materials
