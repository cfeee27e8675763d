// SPDX-License-Identifier: Apache-2.0
// Screening and ranking of candidate compositions: property windows on predicted values,
// sustainability limits (HHI, crustal abundance, EU critical raw materials, RoHS/toxic
// elements), a ranked table, the Pareto front of performance against supply risk, a plot, and
// next-experiment suggestions by expected improvement.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/materials/composition.h"

namespace fragua::materials {

struct Dataset;
class PropertyModel;

// EU Critical Raw Materials Act (Regulation (EU) 2024/1252, Annex II; the 2023 list of 34),
// reduced to elements; and RoHS (Directive 2011/65/EU Annex II: Pb, Hg, Cd, Cr(VI)) plus As
// (first on the ATSDR Substance Priority List). Element-level flags: the regulations name
// materials and compounds, so these are screening hints, not legal determinations. Read from
// data/materials/sustainability.csv (sustainability.h).
bool is_critical_raw_material(int z);
bool is_toxic(int z);

struct ScreenCriteria {
  double gap_min = -std::numeric_limits<double>::infinity();
  double gap_max = std::numeric_limits<double>::infinity();
  double max_hhi_p = std::numeric_limits<double>::infinity();
  double max_hhi_r = std::numeric_limits<double>::infinity();
  double min_abundance = 0;  // every element at least this crustal abundance, mg/kg
  bool no_critical = false, no_toxic = false;
  double max_metal_probability = 1.0;  // used when a metal classifier is given
  // Cradle-to-gate kg CO2-eq per kg of compound (sustainability.h); a compound whose elements
  // have no figure at all fails this limit.
  double max_ghg = std::numeric_limits<double>::infinity();
  // The cost axis of the Pareto front against P(window): supply risk max(HHI_p, HHI_r), the GHG
  // figure, or the number of EU critical raw materials in the compound.
  enum class ParetoCost { supply_risk, ghg, critical_count } pareto_cost = ParetoCost::supply_risk;
};
Result<ScreenCriteria::ParetoCost> parse_pareto_cost(std::string_view name);

// Refuses a window that is empty or not a number (gap_min > gap_max, NaN bounds), NaN limits
// and a metal probability outside [0, 1]; the message names the flag (--gap-min, ...).
Status validate_screen_criteria(const ScreenCriteria& c);

struct ScreenRow {
  std::string id, formula;
  Composition comp;
  double gap = 0, gap_std = 0;
  double metal_p = std::numeric_limits<double>::quiet_NaN();
  double hhi_p = std::numeric_limits<double>::quiet_NaN(), hhi_r = std::numeric_limits<double>::quiet_NaN();
  double min_abundance = std::numeric_limits<double>::quiet_NaN();
  double ghg = std::numeric_limits<double>::quiet_NaN();  // kg CO2-eq per kg, a lower bound with ghg_missing
  std::string ghg_missing;                                 // elements without a GHG figure
  std::string critical, toxic;  // element symbols, ';'-separated
  double p_window = 0;          // P(gap in window) under N(gap, gap_std)
  bool pass = false, pareto = false;
  std::string reason;  // why it failed
  int rank = 0;        // 1-based among passing rows, 0 otherwise
};

// Rows for candidate compositions (id, formula, composition) with the predicted gap and its
// uncertainty from `gap`, and the metal probability from `metal` when given, else from the gap
// model's own zero gate (NaN without either).
Result<std::vector<ScreenRow>> predict_screen_rows(const Dataset& candidates, const PropertyModel& gap,
                                                   const PropertyModel* metal, const ElementTable& table,
                                                   int threads = 0);

// Fills the sustainability columns and the verdict; ranks passing rows by P(window) then
// lower supply risk max(HHI_p, HHI_r); marks the Pareto front (max P(window), min risk).
void screen(std::vector<ScreenRow>& rows, const ScreenCriteria& c, const ElementTable& table);
struct ScreenCounts {
  size_t pass = 0, pareto = 0;
};
ScreenCounts count_screened(const std::vector<ScreenRow>& rows);

Status write_screen_csv(const std::string& path, const std::vector<ScreenRow>& rows, const std::string& provenance);
// The same table as text, ranked rows first, with a '#' provenance line.
std::string screen_csv(const std::vector<ScreenRow>& rows, const std::string& provenance);
// Scatter of predicted gap (with error bars) against supply risk; window shaded, Pareto front
// joined, failed candidates grey.
Status write_screen_svg(const std::string& path, const std::vector<ScreenRow>& rows, const ScreenCriteria& c,
                        const std::string& title);

enum class Objective { maximize, minimize, target };
// Expected improvement (Jones, Schonlau & Welch 1998) of a Gaussian N(mean, std) over the best
// observed objective value. For a target t the objective is -|y - t| and EI is integrated
// numerically. `noise` (the measurement's std, e.g. 0.1 eV for band gaps) makes it noise-aware:
// the predictive std becomes sqrt(std^2 + noise^2), and for a target the improvement is counted
// from a distance no smaller than the noise, so that data already holding the target value do
// not make every candidate's EI exactly 0.
double expected_improvement(double mean, double std, Objective obj, double target, double best_observed,
                            double noise = 0);
// Best objective value among observations.
double best_observed(const std::vector<double>& y, Objective obj, double target);

// The next experiments: rows whose reduced formula was not measured yet (observed.comps), by
// expected improvement over best_observed(observed.y), highest first (ties keep row order), at
// most n.
struct Suggestion {
  size_t row = 0;  // index into the rows
  double expected_improvement = 0;
};
std::vector<Suggestion> suggest_next(const std::vector<ScreenRow>& rows, const Dataset& observed, Objective obj,
                                     double target, const ElementTable& table, size_t n, double noise = 0);

}  // namespace fragua::materials
