#include "fragua/materials/screen.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "fragua/base/file.h"
#include "fragua/base/svg.h"
#include "fragua/materials/csv_writer.h"
#include "fragua/materials/dataset.h"
#include "fragua/materials/property_model.h"

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

}  // namespace

void screen(std::vector<ScreenRow>& rows, const ScreenCriteria& c, const ElementTable& table) {
  for (auto& r : rows) {
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
    return supply_risk(rows[a]) < supply_risk(rows[b]);
  });
  for (size_t k = 0; k < pass.size(); ++k) rows[pass[k]].rank = static_cast<int>(k) + 1;
  // Pareto front among passing rows: no other row has P(window) >= and risk <= with one strict.
  for (size_t i : pass) {
    bool dominated = false;
    for (size_t j : pass) {
      if (i == j) continue;
      double pi = rows[i].p_window, pj = rows[j].p_window, ri = supply_risk(rows[i]), rj = supply_risk(rows[j]);
      if (pj >= pi && rj <= ri && (pj > pi || rj < ri)) {
        dominated = true;
        break;
      }
    }
    rows[i].pareto = !dominated;
  }
}

Status write_screen_csv(const std::string& path, const std::vector<ScreenRow>& rows, const std::string& provenance) {
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    int ra = rows[a].rank ? rows[a].rank : 1 << 30, rb = rows[b].rank ? rows[b].rank : 1 << 30;
    return ra < rb;
  });
  CsvWriter w;
  w.comment(provenance);
  for (const char* h : {"rank", "id", "composition", "gap_ev", "gap_std_ev", "p_window", "metal_probability", "hhi_p",
                        "hhi_r", "min_abundance_mg_kg", "critical", "toxic", "pareto", "pass", "reason"})
    w.value(h);
  w.end_row();
  for (size_t i : order) {
    const auto& r = rows[i];
    w.value(r.rank ? std::to_string(r.rank) : "").text(r.id).text(r.formula).value(num(r.gap)).value(num(r.gap_std));
    w.value(num(r.p_window)).value(num(r.metal_p)).value(num(r.hhi_p)).value(num(r.hhi_r)).value(num(r.min_abundance));
    w.text(r.critical).text(r.toxic).value(r.pareto ? "1" : "0").value(r.pass ? "1" : "0").text(r.reason).end_row();
  }
  return write_file_atomic(path, w.str());
}

Status write_screen_svg(const std::string& path, const std::vector<ScreenRow>& rows, const ScreenCriteria& c,
                        const std::string& title) {
  const double W = 760, H = 520, L = 70, R = 20, T = 40, B = 60;
  double gmax = 1.0;
  for (auto& r : rows) gmax = std::max(gmax, r.gap + r.gap_std);
  if (std::isfinite(c.gap_max)) gmax = std::max(gmax, c.gap_max);
  gmax = std::ceil(gmax * 1.05);
  svg::Axes a{L, T, W - L - R, H - T - B, 0, 10000, 0, gmax};
  auto X = [&](double risk) { return a.x(std::clamp(risk, 0.0, 10000.0)); };
  auto Y = [&](double g) { return a.y(std::clamp(g, 0.0, gmax)); };
  svg::Canvas cv(W, H, "fragua materials screen plot v1");
  cv.text(L, 22, title, "font-size=\"15\"");
  double lo = std::isfinite(c.gap_min) ? c.gap_min : 0, hi = std::isfinite(c.gap_max) ? c.gap_max : gmax;
  cv.rect(L, Y(hi), W - L - R, Y(lo) - Y(hi), "#d8f0d8");
  a.draw(cv, "supply risk: max(HHI production, HHI reserves)", "predicted band gap (eV)", false);
  std::vector<const ScreenRow*> front;
  for (auto& r : rows) {
    double risk = supply_risk(r);
    const char* color = r.pareto ? "#c0392b" : r.pass ? "#2e86c1" : "#b0b0b0";
    cv.line(X(risk), Y(r.gap - r.gap_std), X(risk), Y(r.gap + r.gap_std), color, "stroke-opacity=\"0.5\"");
    cv.circle(X(risk), Y(r.gap), r.pass ? 4 : 2.5, color,
              fmt::format("{} gap {:.2f}±{:.2f} eV, risk {:.0f}", r.formula, r.gap, r.gap_std, risk));
    if (r.pareto) front.push_back(&r);
  }
  std::sort(front.begin(), front.end(), [](auto* x, auto* y) { return supply_risk(*x) < supply_risk(*y); });
  if (front.size() > 1) {
    std::vector<std::pair<double, double>> pts;
    for (auto* r : front) pts.emplace_back(X(supply_risk(*r)), Y(r->gap));
    cv.polyline(pts, "#c0392b", "stroke-dasharray=\"4,3\"");
  }
  for (auto* r : front) cv.text(X(supply_risk(*r)) + 6, Y(r->gap) - 6, r->formula, "font-size=\"10\"");
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

double expected_improvement(double mean, double sd, Objective obj, double target, double best) {
  if (obj != Objective::target) {
    double mu = obj == Objective::maximize ? mean : -mean;
    if (sd <= 1e-12) return std::max(0.0, mu - best);
    double z = (mu - best) / sd;
    return (mu - best) * normal_cdf(z) + sd * normal_pdf(z);
  }
  // Improvement max(0, |best| - |y - t|) is positive only for y within d = -best of t.
  double d = -best;
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
                                     double target, const ElementTable& table, size_t n) {
  const double best = best_observed(observed.y, obj, target);
  std::set<std::string> known;  // what was measured already is not suggested
  for (auto& c : observed.comps) known.insert(c.reduced_formula(table));
  std::vector<Suggestion> out;
  for (size_t i = 0; i < rows.size(); ++i)
    if (!known.count(rows[i].comp.reduced_formula(table)))
      out.push_back({i, expected_improvement(rows[i].gap, rows[i].gap_std, obj, target, best)});
  std::stable_sort(out.begin(), out.end(), [](const Suggestion& a, const Suggestion& b) {
    return a.expected_improvement > b.expected_improvement;
  });
  if (out.size() > n) out.resize(n);
  return out;
}

}  // namespace fragua::materials
