// SPDX-License-Identifier: Apache-2.0
// The simulated discovery campaign (campaign.h).
#include "fragua/materials/campaign.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "fragua/base/file.h"
#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "fragua/base/svg.h"
#include "fragua/materials/csv_writer.h"
#include "fragua/materials/screen.h"

namespace fragua::materials {

namespace {

bool campaign_eligible(const Composition& c, const CampaignOptions& o) {
  for (auto& [z, a] : c.amounts()) {
    if (o.no_toxic && is_toxic(z)) return false;
    if (o.no_critical && is_critical_raw_material(z)) return false;
  }
  return true;
}

Dataset campaign_subset(const Dataset& d, const std::vector<size_t>& rows) {
  Dataset s;
  s.source = d.source;
  s.target_name = d.target_name;
  for (size_t i : rows) {
    s.ids.push_back(d.ids[i]);
    s.formulas.push_back(d.formulas[i]);
    s.comps.push_back(d.comps[i]);
    s.y.push_back(d.y[i]);
  }
  return s;
}

// The next `k` rows of `pool` (indices into data) a strategy measures, given what is labelled.
Result<std::vector<size_t>> campaign_picks(const std::string& strategy, const Dataset& data,
                                           const std::vector<size_t>& labelled, const std::vector<size_t>& pool,
                                           size_t k, const ElementTable& table, const CampaignOptions& o,
                                           uint32_t seed, std::mt19937_64& rng) {
  k = std::min(k, pool.size());
  if (strategy == "random") {
    std::vector<size_t> p = pool;
    std::shuffle(p.begin(), p.end(), rng);
    p.resize(k);
    return p;
  }
  PropertyModelOptions mo = o.model;
  mo.trees.seed = seed;
  mo.calibration_folds = 0;
  auto model = FRAGUA_TRY(make_property_model(o.family, mo));
  FRAGUA_TRY(model->train(campaign_subset(data, labelled), table));
  std::vector<Composition> comps;
  for (size_t i : pool) comps.push_back(data.comps[i]);
  auto pred = FRAGUA_TRY(model->predict(comps, table, mo.trees.threads));
  const double centre = 0.5 * (o.window_min + o.window_max);
  std::vector<double> ylab;
  for (size_t i : labelled) ylab.push_back(data.y[i]);
  const double best = best_observed(ylab, Objective::target, centre);
  std::vector<std::pair<double, size_t>> score;  // higher first
  for (size_t j = 0; j < pool.size(); ++j) {
    const double s = strategy == "greedy"
                         ? -std::fabs(pred.mean[j] - centre)
                         : expected_improvement(pred.mean[j], pred.std[j], Objective::target, centre, best, o.noise);
    score.emplace_back(s, j);
  }
  std::stable_sort(score.begin(), score.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<size_t> out;
  for (size_t j = 0; j < k; ++j) out.push_back(pool[score[j].second]);
  return out;
}

}  // namespace

Result<CampaignResult> run_campaign(const Dataset& data, const ElementTable& table, const CampaignOptions& o) {
  if (data.y.size() != data.size()) return invalid_argument_error("campaign: the data have no target values");
  if (!(o.window_min <= o.window_max))
    return invalid_argument_error("campaign: the window [{}, {}] is empty", o.window_min, o.window_max);
  if (o.rounds < 1 || o.per_round < 1 || o.initial < 2 || o.seeds.empty())
    return invalid_argument_error("campaign: need at least 2 initial rows, 1 round of 1 candidate and 1 seed");
  for (const auto& s : o.strategies)
    if (s != "suggest" && s != "greedy" && s != "random")
      return invalid_argument_error("campaign: unknown strategy '{}' (suggest, greedy, random)", s);
  CampaignResult r;
  std::vector<size_t> eligible;
  for (size_t i = 0; i < data.size(); ++i)
    if (campaign_eligible(data.comps[i], o)) eligible.push_back(i);
  auto hit = [&](size_t i) { return data.y[i] >= o.window_min && data.y[i] <= o.window_max; };
  r.pool = eligible.size();
  for (size_t i : eligible) r.pool_hits += hit(i);
  const size_t need = o.initial + static_cast<size_t>(o.rounds) * o.per_round;
  if (eligible.size() < need)
    return invalid_argument_error("campaign: {} eligible rows, {} needed ({} initial + {} rounds x {})",
                                  eligible.size(), need, o.initial, o.rounds, o.per_round);
  ProgressBar bar("campaign", static_cast<uint64_t>(o.seeds.size() * o.strategies.size()) * o.rounds, "round");
  for (uint32_t seed : o.seeds) {
    // The same initial set for every strategy of a seed, so the curves differ by the strategy only.
    std::mt19937_64 init_rng(seed);
    std::vector<size_t> order = eligible;
    std::shuffle(order.begin(), order.end(), init_rng);
    for (const auto& strategy : o.strategies) {
      std::vector<size_t> labelled(order.begin(), order.begin() + static_cast<long>(o.initial));
      std::vector<size_t> pool(order.begin() + static_cast<long>(o.initial), order.end());
      std::mt19937_64 rng(seed * 7919ull + 1);
      CampaignCurve c{strategy, seed, {0}};
      size_t found = 0;
      for (int round = 0; round < o.rounds; ++round) {
        auto picks = FRAGUA_TRY(campaign_picks(strategy, data, labelled, pool, o.per_round, table, o,
                                               seed + static_cast<uint32_t>(round), rng));
        for (size_t i : picks) {
          found += hit(i);
          labelled.push_back(i);
          pool.erase(std::find(pool.begin(), pool.end(), i));
        }
        c.found.push_back(found);
        bar.add(1);
      }
      log_info("campaign seed {} {}: {} hits in {} measurements", seed, strategy, found,
               static_cast<size_t>(o.rounds) * o.per_round);
      r.curves.push_back(std::move(c));
    }
  }
  return r;
}

std::string campaign_csv(const CampaignResult& r, const CampaignOptions& o) {
  CsvWriter w;
  w.value("strategy").value("seed").value("round").value("measured").value("found").end_row();
  for (const auto& c : r.curves)
    for (size_t k = 0; k < c.found.size(); ++k)
      w.text(c.strategy).num(c.seed).num(k).num(k * o.per_round).num(c.found[k]).end_row();
  return w.str();
}

Status write_campaign_svg(const std::string& path, const CampaignResult& r, const CampaignOptions& o,
                          const std::string& title) {
  const double W = 760, H = 500, L = 70, R = 150, T = 40, B = 60;
  const size_t n_meas = static_cast<size_t>(o.rounds) * o.per_round;
  double ymax = 1;
  for (const auto& c : r.curves) ymax = std::max(ymax, static_cast<double>(c.found.back()));
  // Random choice without replacement finds pool_hits / pool of the measurements on average.
  const double rate = r.pool ? static_cast<double>(r.pool_hits) / static_cast<double>(r.pool) : 0;
  ymax = std::max(ymax, rate * static_cast<double>(n_meas));
  auto ticks = svg::nice_ticks(0, ymax * 1.05);
  if (ticks.size() >= 2) ymax = std::ceil(ymax * 1.05 / (ticks[1] - ticks[0])) * (ticks[1] - ticks[0]);
  svg::Axes a{L, T, W - L - R, H - T - B, 0, static_cast<double>(n_meas), 0, ymax};
  svg::Canvas cv(W, H, "fragua materials campaign plot v1");
  cv.text(L, 22, title, "font-size=\"15\"");
  a.draw(cv, "compounds measured", fmt::format("found in [{}, {}]", o.window_min, o.window_max));
  const char* colors[] = {"#c0392b", "#2e86c1", "#7f8c8d", "#8e44ad"};
  double ly = T + 10;
  cv.line(a.x(0), a.y(0), a.x(static_cast<double>(n_meas)), a.y(rate * static_cast<double>(n_meas)), "#aaaaaa",
          "stroke-dasharray=\"2,3\"");
  for (size_t s = 0; s < o.strategies.size(); ++s) {
    const char* color = colors[s % 4];
    std::vector<double> mean(static_cast<size_t>(o.rounds) + 1, 0.0);
    size_t n = 0;
    for (const auto& c : r.curves) {
      if (c.strategy != o.strategies[s]) continue;
      std::vector<std::pair<double, double>> pts;
      for (size_t k = 0; k < c.found.size(); ++k) {
        pts.emplace_back(a.x(static_cast<double>(k * o.per_round)), a.y(static_cast<double>(c.found[k])));
        mean[k] += static_cast<double>(c.found[k]);
      }
      cv.polyline(pts, color, "stroke-width=\"0.8\" stroke-opacity=\"0.35\"");
      ++n;
    }
    std::vector<std::pair<double, double>> pts;
    for (size_t k = 0; k < mean.size(); ++k)
      pts.emplace_back(a.x(static_cast<double>(k * o.per_round)), a.y(mean[k] / static_cast<double>(std::max<size_t>(n, 1))));
    cv.polyline(pts, color, "stroke-width=\"2.5\"");
    cv.text(W - R + 10, ly, fmt::format("{} (mean of {})", o.strategies[s], n),
            fmt::format("font-size=\"11\" fill=\"{}\"", color));
    ly += 16;
  }
  cv.text(W - R + 10, ly, "random, expected", "font-size=\"11\" fill=\"#888888\"");
  return write_file_atomic(path, cv.finish());
}

}  // namespace fragua::materials
