// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/screen.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <tuple>

#include "fragua/base/file.h"
#include "fragua/base/svg.h"
#include "fragua/materials/csv_writer.h"
#include "fragua/materials/dataset.h"
#include "fragua/materials/property_model.h"
#include "fragua/materials/sustainability.h"

namespace fragua::materials {

namespace {

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }
double normal_pdf(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI); }

double supply_risk(const ScreenRow& r) {
  if (std::isnan(r.hhi_p) || std::isnan(r.hhi_r)) return 10000.0;  // unknown counts as worst
  return std::max(r.hhi_p, r.hhi_r);
}

double p_in_window(double mean, double sd, double lo, double hi) {
  if (sd <= 1e-9) return (mean >= lo && mean <= hi) ? 1.0 : 0.0;
  double a = std::isinf(lo) ? 0.0 : normal_cdf((lo - mean) / sd);
  double b = std::isinf(hi) ? 1.0 : normal_cdf((hi - mean) / sd);
  return std::max(0.0, b - a);
}

std::string num(double v) { return std::isnan(v) ? "" : fmt::format("{:.6g}", v); }

// The Pareto front's cost of a row; unknown counts as worst.
double pareto_cost_of(const ScreenRow& r, ScreenCriteria::ParetoCost c) {
  switch (c) {
    case ScreenCriteria::ParetoCost::ghg:
      return std::isnan(r.ghg) ? std::numeric_limits<double>::infinity() : r.ghg;
    case ScreenCriteria::ParetoCost::critical_count:
      return r.critical.empty() ? 0.0 : 1.0 + static_cast<double>(std::count(r.critical.begin(), r.critical.end(), ';'));
    case ScreenCriteria::ParetoCost::supply_risk:
      break;
  }
  return supply_risk(r);
}

}  // namespace

Result<ScreenCriteria::ParetoCost> parse_pareto_cost(std::string_view name) {
  if (name == "supply-risk" || name == "hhi") return ScreenCriteria::ParetoCost::supply_risk;
  if (name == "ghg") return ScreenCriteria::ParetoCost::ghg;
  if (name == "critical") return ScreenCriteria::ParetoCost::critical_count;
  return invalid_argument_error("--pareto-cost: unknown cost '{}' (supply-risk, ghg, critical)", name);
}

Status validate_screen_criteria(const ScreenCriteria& c) {
  const std::pair<const char*, double> limits[] = {{"--gap-min", c.gap_min},         {"--gap-max", c.gap_max},
                                                   {"--max-hhi-p", c.max_hhi_p},     {"--max-hhi-r", c.max_hhi_r},
                                                   {"--min-abundance", c.min_abundance},
                                                   {"--max-metal-probability", c.max_metal_probability},
                                                   {"--max-ghg", c.max_ghg}};
  for (const auto& [flag, v] : limits)
    if (std::isnan(v)) return invalid_argument_error("{}: not a number", flag);
  if (c.gap_min > c.gap_max)
    return invalid_argument_error("--gap-min {} is above --gap-max {}: the window is empty", c.gap_min, c.gap_max);
  if (c.max_metal_probability < 0 || c.max_metal_probability > 1)
    return invalid_argument_error("--max-metal-probability {}: a probability is between 0 and 1", c.max_metal_probability);
  return ok_status();
}

void screen(std::vector<ScreenRow>& rows, const ScreenCriteria& c, const ElementTable& table) {
  auto sustainability = SustainabilityTable::builtin();
  for (auto& r : rows) {
    if (sustainability.ok()) r.ghg = compound_ghg_per_kg(r.comp, table, **sustainability, &r.ghg_missing);
    auto h = compound_hhi(r.comp, table);
    if (h.ok()) {
      r.hhi_p = h->production;
      r.hhi_r = h->reserve;
    }
    r.min_abundance = std::numeric_limits<double>::infinity();
    r.critical.clear();
    r.toxic.clear();
    for (auto& [z, a] : r.comp.amounts()) {
      const Element& e = table.by_z(z);
      double ab = e.get(Prop::abundance_mg_kg);
      r.min_abundance = std::isnan(ab) ? std::nan("") : std::min(r.min_abundance, ab);
      if (is_critical_raw_material(z)) r.critical += (r.critical.empty() ? "" : ";") + e.symbol;
      if (is_toxic(z)) r.toxic += (r.toxic.empty() ? "" : ";") + e.symbol;
    }
    r.p_window = p_in_window(r.gap, r.gap_std, c.gap_min, c.gap_max);
    std::vector<std::string> why;
    if (r.gap < c.gap_min || r.gap > c.gap_max) why.push_back("gap outside window");
    if (!(r.metal_p <= c.max_metal_probability) && !std::isnan(r.metal_p)) why.push_back("likely metal");
    if (c.max_hhi_p < 1e300 && !(r.hhi_p <= c.max_hhi_p)) why.push_back("HHI production");
    if (c.max_hhi_r < 1e300 && !(r.hhi_r <= c.max_hhi_r)) why.push_back("HHI reserves");
    if (c.min_abundance > 0 && !(r.min_abundance >= c.min_abundance)) why.push_back("scarce element");
    if (c.no_critical && !r.critical.empty()) why.push_back("critical raw material");
    if (c.no_toxic && !r.toxic.empty()) why.push_back("toxic element");
    if (c.max_ghg < 1e300 && !(r.ghg <= c.max_ghg)) why.push_back("greenhouse gas");
    r.pass = why.empty();
    r.reason.clear();
    for (auto& w : why) r.reason += (r.reason.empty() ? "" : "; ") + w;
    r.pareto = false;
    r.rank = 0;
  }
  std::vector<size_t> pass;
  for (size_t i = 0; i < rows.size(); ++i)
    if (rows[i].pass) pass.push_back(i);
  std::stable_sort(pass.begin(), pass.end(), [&](size_t a, size_t b) {
    if (rows[a].p_window != rows[b].p_window) return rows[a].p_window > rows[b].p_window;
    return pareto_cost_of(rows[a], c.pareto_cost) < pareto_cost_of(rows[b], c.pareto_cost);
  });
  for (size_t k = 0; k < pass.size(); ++k) rows[pass[k]].rank = static_cast<int>(k) + 1;
  // Pareto front among passing rows: no other row has P(window) >= and risk <= with one strict.
  for (size_t i : pass) {
    bool dominated = false;
    for (size_t j : pass) {
      if (i == j) continue;
      double pi = rows[i].p_window, pj = rows[j].p_window, ri = pareto_cost_of(rows[i], c.pareto_cost),
             rj = pareto_cost_of(rows[j], c.pareto_cost);
      if (pj >= pi && rj <= ri && (pj > pi || rj < ri)) {
        dominated = true;
        break;
      }
    }
    rows[i].pareto = !dominated;
  }
}

Status write_screen_csv(const std::string& path, const std::vector<ScreenRow>& rows, const std::string& provenance) {
  return write_file_atomic(path, screen_csv(rows, provenance));
}

std::string screen_csv(const std::vector<ScreenRow>& rows, const std::string& provenance) {
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    int ra = rows[a].rank ? rows[a].rank : 1 << 30, rb = rows[b].rank ? rows[b].rank : 1 << 30;
    return ra < rb;
  });
  CsvWriter w;
  w.comment(provenance);
  for (const char* h : {"rank", "id", "composition", "gap_ev", "gap_std_ev", "p_window", "metal_probability", "hhi_p",
                        "hhi_r", "min_abundance_mg_kg", "critical", "toxic", "ghg_kg_co2e_per_kg", "ghg_missing",
                        "pareto", "pass", "reason"})
    w.value(h);
  w.end_row();
  for (size_t i : order) {
    const auto& r = rows[i];
    w.value(r.rank ? std::to_string(r.rank) : "").text(r.id).text(r.formula).value(num(r.gap)).value(num(r.gap_std));
    w.value(num(r.p_window)).value(num(r.metal_p)).value(num(r.hhi_p)).value(num(r.hhi_r)).value(num(r.min_abundance));
    w.text(r.critical).text(r.toxic).value(num(r.ghg)).text(r.ghg_missing).value(r.pareto ? "1" : "0").value(r.pass ? "1" : "0").text(r.reason).end_row();
  }
  return w.str();
}

Status write_screen_svg(const std::string& path, const std::vector<ScreenRow>& rows, const ScreenCriteria& c,
                        const std::string& title) {
  const double W = 760, H = 520, L = 70, R = 20, T = 40, B = 60;
  double gmax = 1.0;
  for (auto& r : rows) gmax = std::max(gmax, r.gap + r.gap_std);
  if (std::isfinite(c.gap_max)) gmax = std::max(gmax, c.gap_max);
  gmax = std::ceil(gmax * 1.05);
  // x: the Pareto front's cost (supply risk by default). Its range is fitted to the data (HHI
  // spans 0-10000 but candidates of one element pool sit in a narrow band) and widened to the
  // round ticks around it.
  const auto cost = [&](const ScreenRow& r) { return pareto_cost_of(r, c.pareto_cost); };
  const double cost_cap = c.pareto_cost == ScreenCriteria::ParetoCost::supply_risk ? 10000.0
                                                                                   : std::numeric_limits<double>::max();
  double rmin = std::numeric_limits<double>::infinity(), rmax = -rmin;
  for (auto& r : rows)
    if (double risk = cost(r); std::isfinite(risk)) {
      rmin = std::min(rmin, risk);
      rmax = std::max(rmax, risk);
    }
  if (!(rmin <= rmax)) rmin = 0, rmax = 10000;
  // A narrow band gets some room first (50 HHI points, or half a unit, either side), then the
  // margin and round ends every chart has (svg::fit_range), within [0, the index's maximum].
  if (const double half = cost_cap == 10000.0 ? 50.0 : 0.5; rmax - rmin < 2 * half) {
    const double mid = (rmin + rmax) / 2;
    rmin = mid - half, rmax = mid + half;
  }
  std::tie(rmin, rmax) = svg::fit_range(rmin, rmax, 0.05, 0.0, cost_cap);
  svg::Axes a{L, T, W - L - R, H - T - B, rmin, rmax, 0, gmax};
  auto X = [&](double risk) { return a.x(std::clamp(risk, rmin, rmax)); };
  auto Y = [&](double g) { return a.y(std::clamp(g, 0.0, gmax)); };
  svg::Canvas cv(W, H, "fragua materials screen plot v1");
  cv.text(L, 22, title, "font-size=\"15\"");
  double lo = std::isfinite(c.gap_min) ? c.gap_min : 0, hi = std::isfinite(c.gap_max) ? c.gap_max : gmax;
  cv.rect(L, Y(hi), W - L - R, Y(lo) - Y(hi), "#d8f0d8");
  const char* x_title = c.pareto_cost == ScreenCriteria::ParetoCost::ghg
                            ? "cradle-to-gate GHG, kg CO2-eq per kg (elements without a figure count 0)"
                        : c.pareto_cost == ScreenCriteria::ParetoCost::critical_count
                            ? "EU critical raw materials in the compound"
                            : "supply risk: max(HHI production, HHI reserves)";
  a.draw(cv, x_title, "predicted band gap (eV)", false);
  std::vector<const ScreenRow*> front;
  for (auto& r : rows) {
    double risk = cost(r);
    const char* color = r.pareto ? "#c0392b" : r.pass ? "#2e86c1" : "#b0b0b0";
    cv.line(X(risk), Y(r.gap - r.gap_std), X(risk), Y(r.gap + r.gap_std), color, "stroke-opacity=\"0.5\"");
    cv.circle(X(risk), Y(r.gap), r.pass ? 4 : 2.5, color,
              fmt::format("{} gap {:.2f}±{:.2f} eV, cost {:.4g}", r.formula, r.gap, r.gap_std, risk));
    if (r.pareto) front.push_back(&r);
  }
  std::sort(front.begin(), front.end(), [&](auto* x, auto* y) { return cost(*x) < cost(*y); });
  if (front.size() > 1) {
    std::vector<std::pair<double, double>> pts;
    for (auto* r : front) pts.emplace_back(X(cost(*r)), Y(r->gap));
    cv.polyline(pts, "#c0392b", "stroke-dasharray=\"4,3\"");
  }
  for (auto* r : front) cv.text(X(cost(*r)) + 6, Y(r->gap) - 6, r->formula, "font-size=\"10\"");
  const double legend_x = W - 390;
  const std::pair<const char*, const char*> legend[] = {{"#c0392b", "● Pareto front"},
                                                        {"#2e86c1", "● passes"},
                                                        {"#909090", "● filtered out"},
                                                        {"#5a9a5a", "■ target window"}};
  double lx = legend_x;
  for (auto [color, name] : legend) {
    cv.text(lx, T - 8, name, fmt::format("font-size=\"11\" fill=\"{}\"", color));
    lx += 95;
  }
  std::string s = cv.finish();
  return write_file_atomic(path, s);
}

double best_observed(const std::vector<double>& y, Objective obj, double target) {
  double best = -std::numeric_limits<double>::infinity();
  for (double v : y) {
    double f = obj == Objective::maximize ? v : obj == Objective::minimize ? -v : -std::fabs(v - target);
    best = std::max(best, f);
  }
  return best;
}

double expected_improvement(double mean, double sd, Objective obj, double target, double best, double noise) {
  // A measurement is y plus noise: its predictive spread includes the noise (Huang et al.,
  // J. Global Optim. 34, 441 (2006), augmented EI).
  noise = std::isfinite(noise) ? std::max(0.0, noise) : 0.0;
  sd = std::sqrt(sd * sd + noise * noise);
  if (obj != Objective::target) {
    double mu = obj == Objective::maximize ? mean : -mean;
    if (sd <= 1e-12) return std::max(0.0, mu - best);
    double z = (mu - best) / sd;
    return (mu - best) * normal_cdf(z) + sd * normal_pdf(z);
  }
  // Improvement max(0, d - |y - t|) is positive only for y within d of t, where d = -best is the
  // best observed distance. A measurement cannot tell distances below its noise apart, so d is
  // never taken below it: once the data hold the target itself (d = 0) the acquisition becomes
  // the expected closeness within the noise band, still informative, where plain EI is 0 for
  // every candidate.
  double d = std::max(-best, noise);
  if (d <= 0) return 0.0;
  if (sd <= 1e-12) return std::max(0.0, d - std::fabs(mean - target));
  const int n = 400;  // Simpson's rule over [t - d, t + d]
  double h = 2 * d / n, s = 0;
  for (int i = 0; i <= n; ++i) {
    double y = target - d + h * i;
    double f = (d - std::fabs(y - target)) * normal_pdf((y - mean) / sd) / sd;
    s += f * (i == 0 || i == n ? 1 : (i % 2 ? 4 : 2));
  }
  return s * h / 3;
}

Result<std::vector<ScreenRow>> predict_screen_rows(const Dataset& candidates, const PropertyModel& gap,
                                                   const PropertyModel* metal, const ElementTable& table, int threads) {
  auto p = FRAGUA_TRY(gap.predict(candidates.comps, table, threads));
  Prediction pm;
  if (metal) pm = FRAGUA_TRY(metal->predict(candidates.comps, table, threads));
  std::vector<ScreenRow> rows(candidates.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].id = candidates.ids[i];
    rows[i].formula = candidates.formulas[i];
    rows[i].comp = candidates.comps[i];
    rows[i].gap = p.mean[i];
    rows[i].gap_std = p.std[i];
    if (!pm.mean.empty())
      rows[i].metal_p = pm.mean[i];
    else if (!p.p_zero.empty())
      rows[i].metal_p = p.p_zero[i];  // the gap model's own zero gate
  }
  return rows;
}

ScreenCounts count_screened(const std::vector<ScreenRow>& rows) {
  ScreenCounts c;
  for (auto& r : rows) {
    c.pass += r.pass;
    c.pareto += r.pareto;
  }
  return c;
}

std::vector<Suggestion> suggest_next(const std::vector<ScreenRow>& rows, const Dataset& observed, Objective obj,
                                     double target, const ElementTable& table, size_t n, double noise) {
  const double best = best_observed(observed.y, obj, target);
  std::set<std::string> known;  // what was measured already is not suggested
  for (auto& c : observed.comps) known.insert(c.reduced_formula(table));
  std::vector<Suggestion> out;
  for (size_t i = 0; i < rows.size(); ++i)
    if (!known.count(rows[i].comp.reduced_formula(table)))
      out.push_back({i, expected_improvement(rows[i].gap, rows[i].gap_std, obj, target, best, noise)});
  std::stable_sort(out.begin(), out.end(), [](const Suggestion& a, const Suggestion& b) {
    return a.expected_improvement > b.expected_improvement;
  });
  if (out.size() > n) out.resize(n);
  return out;
}

}  // namespace fragua::materials
