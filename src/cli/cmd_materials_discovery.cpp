// fragua materials enumerate|substitute|screen|suggest|add-measurements: candidate generation,
// screening and the lab loop.
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>

#include "cli/materials_common.h"
#include "fragua/base/file.h"
#include "fragua/materials/csv_reader.h"
#include "fragua/materials/csv_writer.h"
#include "fragua/materials/dataset.h"
#include "fragua/materials/enumerate.h"
#include "fragua/materials/predictor.h"
#include "fragua/materials/screen.h"

namespace fragua::cli {
namespace {

using namespace fragua::materials;

std::vector<std::string> split(const std::string& s, char sep) {
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

struct EnumOpts {
  std::string elements, ox_set = "smact14", out;
  int size = 0, max_coeff = 8, count = 0, max_z = 103, threads = 0;
  bool no_en = false;
};

Status run_enumerate(const EnumOpts& o) {
  const ElementTable* t = FRAGUA_TRY(ElementTable::builtin());
  EnumerateOptions eo;
  eo.ox_set = FRAGUA_TRY(parse_ox_set(o.ox_set));
  eo.max_coeff = o.max_coeff;
  eo.electronegativity_test = !o.no_en;
  eo.threads = o.threads;
  if (o.count > 0) {
    ProgressBar bar(fmt::format("{}-element sets", o.count), static_cast<uint64_t>(o.max_z), "Z");
    auto t0 = std::chrono::steady_clock::now();
    auto r = FRAGUA_TRY(count_all(o.count, o.max_z, *t, eo, &bar));
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    bar.finish();
    fmt::print(
        "elements 1-{}, {} per composition, coefficients 1..{}, ox set {}: {} element sets, {} raw, "
        "{} charge-neutral, {} pass ({:.2f} s)\n",
        o.max_z, o.count, o.max_coeff, o.ox_set, r.element_sets, r.raw, r.charge_neutral, r.pass, sec);
    return ok_status();
  }
  if (o.elements.empty()) return invalid_argument_error("give --elements (or --count N)");
  std::vector<int> pool;
  for (auto& s : split(o.elements, ',')) {
    const Element* e = t->find(s);
    if (!e) return invalid_argument_error("--elements: unknown element '{}'", s);
    pool.push_back(e->z);
  }
  int k = o.size > 0 ? o.size : static_cast<int>(pool.size());
  if (k > static_cast<int>(pool.size()))
    return invalid_argument_error("--size {} exceeds the {} elements given", k, pool.size());
  CsvWriter w;
  w.comment(fmt::format("fragua materials enumerate: elements {} size {} max-coeff {} ox-set {}{}", o.elements, k,
                        o.max_coeff, o.ox_set, o.no_en ? " (no electronegativity test)" : ""));
  w.value("composition").value("oxidation_states").end_row();
  size_t n = 0;
  std::vector<int> pick(static_cast<size_t>(k));
  std::iota(pick.begin(), pick.end(), 0);
  for (;;) {  // every k-subset of the pool
    std::vector<int> zs;
    for (int i : pick) zs.push_back(pool[static_cast<size_t>(i)]);
    for (auto& c : FRAGUA_TRY(enumerate_compositions(zs, *t, eo))) {
      std::string f, ox;
      for (size_t i = 0; i < zs.size(); ++i) {
        f += t->by_z(zs[i]).symbol + (c.coeff[i] > 1 ? std::to_string(c.coeff[i]) : "");
        ox += fmt::format("{}{}{:+d}", i ? ";" : "", t->by_z(zs[i]).symbol, c.ox[i]);
      }
      w.text(f).text(ox).end_row();
      ++n;
    }
    int i = k - 1;
    while (i >= 0 && pick[static_cast<size_t>(i)] == static_cast<int>(pool.size()) - k + i) --i;
    if (i < 0) break;
    ++pick[static_cast<size_t>(i)];
    for (int j = i + 1; j < k; ++j) pick[static_cast<size_t>(j)] = pick[static_cast<size_t>(j) - 1] + 1;
  }
  if (o.out.empty())
    fmt::print("{}", w.str());
  else
    FRAGUA_TRY(write_file_atomic(o.out, w.str()));
  fmt::print(stderr, "{} compositions\n", n);
  return ok_status();
}

struct SubOpts {
  std::string species, amounts, lambda, out;
  double threshold = 1e-3;
  size_t max_results = 200;
};

Status run_substitute(const SubOpts& o) {
  auto model =
      o.lambda.empty() ? FRAGUA_TRY(SubstitutionModel::builtin()) : FRAGUA_TRY(SubstitutionModel::load(o.lambda));
  auto sp = split(o.species, ',');
  std::vector<double> amounts;
  for (auto& a : split(o.amounts, ',')) {
    char* end = nullptr;
    double v = std::strtod(a.c_str(), &end);
    if (*end || !(v > 0)) return invalid_argument_error("--amounts: '{}' is not a positive number", a);
    amounts.push_back(v);
  }
  if (!amounts.empty() && amounts.size() != sp.size())
    return invalid_argument_error("--amounts has {} values for {} species", amounts.size(), sp.size());
  for (auto& s : sp) FRAGUA_TRY(parse_species(s));
  auto subs = model.substitute(sp, amounts, o.threshold, o.max_results);
  CsvWriter w;
  w.comment(fmt::format("fragua materials substitute: {} (Hautier 2011 model, threshold {})", o.species, o.threshold));
  w.value("composition").value("species").value("probability").end_row();
  for (auto& s : subs) {
    std::string f, names;
    for (size_t i = 0; i < s.species.size(); ++i) {
      auto p = *parse_species(s.species[i]);
      double a = amounts.empty() ? 1 : amounts[i];
      f += p.first + (a != 1 ? fmt::format("{:g}", a) : "");
      names += (i ? ";" : "") + s.species[i];
    }
    w.text(f).text(names).value(fmt::format("{:.6g}", s.probability)).end_row();
  }
  if (o.out.empty())
    fmt::print("{}", w.str());
  else
    FRAGUA_TRY(write_file_atomic(o.out, w.str()));
  return ok_status();
}

struct ScreenOpts {
  std::string model, metal_model, candidates, formula_col, out, plot, objective = "target", data;
  ScreenCriteria c;
  double target = 1.4;
  int n = 10, threads = 0;
};

Result<std::vector<ScreenRow>> predict_rows(const ScreenOpts& o, const ElementTable& t) {
  DatasetOptions d;
  d.formula_column = o.formula_col;
  d.require_target = false;
  d.ignore_target = true;
  auto cands = FRAGUA_TRY(read_dataset(o.candidates, t, d));
  auto model = FRAGUA_TRY(Predictor::load(o.model));
  auto p = FRAGUA_TRY(model.predict(cands.comps, t, o.threads));
  Prediction pm;
  if (!o.metal_model.empty()) {
    auto mm = FRAGUA_TRY(Predictor::load(o.metal_model));
    pm = FRAGUA_TRY(mm.predict(cands.comps, t, o.threads));
  }
  std::vector<ScreenRow> rows(cands.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    rows[i].id = cands.ids[i];
    rows[i].formula = cands.formulas[i];
    rows[i].comp = cands.comps[i];
    rows[i].gap = p.mean[i];
    rows[i].gap_std = p.std[i];
    if (!pm.mean.empty())
      rows[i].metal_p = pm.mean[i];
    else if (!p.p_zero.empty())
      rows[i].metal_p = p.p_zero[i];  // the gap model's own zero gate
  }
  return rows;
}

Status run_screen(const ScreenOpts& o) {
  const ElementTable* t = FRAGUA_TRY(ElementTable::builtin());
  auto rows = FRAGUA_TRY(predict_rows(o, *t));
  screen(rows, o.c, *t);
  std::string prov = fmt::format("fragua materials screen: model {} candidates {} gap [{}, {}] eV", o.model,
                                 o.candidates, o.c.gap_min, o.c.gap_max);
  if (!o.plot.empty())
    FRAGUA_TRY(
        write_screen_svg(o.plot, rows, o.c,
                         fmt::format("Screening {} candidates: gap {}-{} eV", rows.size(), o.c.gap_min, o.c.gap_max)));
  FRAGUA_TRY(write_screen_csv(o.out, rows, prov));
  size_t pass = 0, front = 0;
  for (auto& r : rows) {
    pass += r.pass;
    front += r.pareto;
  }
  fmt::print("{} candidates, {} pass, {} on the Pareto front; wrote {}\n", rows.size(), pass, front, o.out);
  return ok_status();
}

Status run_suggest(const ScreenOpts& o) {
  const ElementTable* t = FRAGUA_TRY(ElementTable::builtin());
  Objective obj = o.objective == "maximize"   ? Objective::maximize
                  : o.objective == "minimize" ? Objective::minimize
                                              : Objective::target;
  auto obs = FRAGUA_TRY(read_dataset(o.data, *t));
  double best = best_observed(obs.y, obj, o.target);
  auto rows = FRAGUA_TRY(predict_rows(o, *t));
  std::map<std::string, bool> known;  // do not suggest what was already measured
  for (auto& c : obs.comps) known[c.reduced_formula(*t)] = true;
  std::vector<std::pair<double, size_t>> ei;
  for (size_t i = 0; i < rows.size(); ++i)
    if (!known.count(rows[i].comp.reduced_formula(*t)))
      ei.emplace_back(expected_improvement(rows[i].gap, rows[i].gap_std, obj, o.target, best), i);
  std::stable_sort(ei.begin(), ei.end(), [](auto& a, auto& b) { return a.first > b.first; });
  CsvWriter w;
  w.comment(fmt::format("fragua materials suggest: model {} objective {} target {} best observed {}", o.model,
                        o.objective, o.target, best));
  for (const char* h : {"rank", "id", "composition", "prediction", "uncertainty", "expected_improvement"}) w.value(h);
  w.end_row();
  for (size_t k = 0; k < ei.size() && k < static_cast<size_t>(o.n); ++k) {
    auto& r = rows[ei[k].second];
    w.num(k + 1).text(r.id).text(r.formula).value(fmt::format("{:.6g}", r.gap)).value(fmt::format("{:.6g}", r.gap_std));
    w.value(fmt::format("{:.6g}", ei[k].first)).end_row();
  }
  if (o.out.empty())
    fmt::print("{}", w.str());
  else
    FRAGUA_TRY(write_file_atomic(o.out, w.str()));
  return ok_status();
}

struct AddOpts {
  std::string data, measurements, out, target;
};

// Measurements replace earlier values for the same reduced formula; new ones are appended.
Status run_add_measurements(const AddOpts& o) {
  const ElementTable* t = FRAGUA_TRY(ElementTable::builtin());
  DatasetOptions d;
  d.target_column = o.target;
  auto base = FRAGUA_TRY(read_dataset(o.data, *t, d));
  d.target_column = o.target.empty() ? base.target_name : o.target;
  auto add = FRAGUA_TRY(read_dataset(o.measurements, *t, d));
  std::map<std::string, size_t> where;
  for (size_t i = 0; i < base.size(); ++i) where[base.comps[i].reduced_formula(*t)] = i;
  size_t replaced = 0, appended = 0;
  for (size_t i = 0; i < add.size(); ++i) {
    std::string key = add.comps[i].reduced_formula(*t);
    if (auto it = where.find(key); it != where.end()) {
      base.y[it->second] = add.y[i];
      ++replaced;
    } else {
      where[key] = base.size();
      base.ids.push_back("lab-" + add.ids[i]);
      base.formulas.push_back(add.formulas[i]);
      base.comps.push_back(add.comps[i]);
      base.y.push_back(add.y[i]);
      ++appended;
    }
  }
  FRAGUA_TRY(write_dataset_csv(o.out, base,
                               fmt::format("fragua materials add-measurements: {} + {}", o.data, o.measurements)));
  fmt::print("{} rows: {} replaced, {} appended; wrote {}\n", base.size(), replaced, appended, o.out);
  return ok_status();
}

void add_screen_common(CLI::App* s, ScreenOpts& o) {
  s->add_option("--model", o.model, "Band-gap model (fragua materials train)")->required();
  s->add_option("--candidates", o.candidates, "CSV with a composition column (e.g. from enumerate)")->required();
  s->add_option("--formula-column", o.formula_col, "Formula column of the candidates");
  s->add_option("--out", o.out, "Output CSV");
  add_threads_flag(*s, o.threads);
}

void setup(CLI::App& root) {
  auto* cmd = materials_app(root);
  auto eo = std::make_shared<EnumOpts>();
  auto* en = cmd->add_subcommand("enumerate", "Charge-neutral compositions by the SMACT rules");
  en->add_option("--elements", eo->elements, "Comma-separated element pool, e.g. Cs,Pb,I");
  en->add_option("--size", eo->size, "Elements per composition (default: all of the pool)");
  en->add_option("--max-coeff", eo->max_coeff, "Largest stoichiometric coefficient");
  en->add_option("--ox-set", eo->ox_set, "Oxidation states: smact14, common, icsd");
  en->add_flag("--no-electronegativity-test", eo->no_en, "Keep charge-neutral compositions that fail the Pauling test");
  en->add_option("--count", eo->count, "Only count all N-element compositions over elements 1..--max-z");
  en->add_option("--max-z", eo->max_z, "Highest atomic number for --count");
  en->add_option("--out", eo->out, "Output CSV (default: stdout)");
  add_threads_flag(*en, eo->threads);
  en->callback([eo] { check(run_enumerate(*eo)); });

  auto so = std::make_shared<SubOpts>();
  auto* su = cmd->add_subcommand("substitute", "Ion substitution into a known compound (Hautier 2011)");
  su->add_option("--species", so->species, "Species of the known compound, e.g. Cu+,In3+,Se2-")->required();
  su->add_option("--amounts", so->amounts, "Amounts, e.g. 1,1,2 (enforces charge neutrality)");
  su->add_option("--threshold", so->threshold, "Minimum product of conditional probabilities");
  su->add_option("--max-results", so->max_results, "Keep the most probable N");
  su->add_option("--lambda", so->lambda, "lambda.json (default: Debian python3-pymatgen's)");
  su->add_option("--out", so->out, "Output CSV (default: stdout)");
  su->callback([so] { check(run_substitute(*so)); });

  auto sc = std::make_shared<ScreenOpts>();
  auto* scr = cmd->add_subcommand("screen", "Screen and rank candidates: gap window, HHI, abundance, critical/toxic");
  add_screen_common(scr, *sc);
  scr->get_option("--out")->required();
  scr->add_option("--metal-model", sc->metal_model,
                  "Metal classifier; drops likely metals (default: the gap model's zero gate, if it has one)");
  scr->add_option("--gap-min", sc->c.gap_min, "Lowest band gap, eV (e.g. 1.1 for photovoltaics)");
  scr->add_option("--gap-max", sc->c.gap_max, "Highest band gap, eV");
  scr->add_option("--max-hhi-p", sc->c.max_hhi_p, "Highest HHI of production (0-10000)");
  scr->add_option("--max-hhi-r", sc->c.max_hhi_r, "Highest HHI of reserves");
  scr->add_option("--min-abundance", sc->c.min_abundance, "Lowest crustal abundance of any element, mg/kg");
  scr->add_option("--max-metal-probability", sc->c.max_metal_probability, "With --metal-model or a gated gap model");
  scr->add_flag("--no-critical", sc->c.no_critical, "Exclude EU critical raw materials (2023 list)");
  scr->add_flag("--no-toxic", sc->c.no_toxic, "Exclude RoHS-restricted and toxic elements");
  scr->add_option("--plot", sc->plot, "SVG plot of gap against supply risk with the Pareto front");
  scr->callback([sc] { check(run_screen(*sc)); });

  auto sg = std::make_shared<ScreenOpts>();
  auto* sug = cmd->add_subcommand("suggest", "Next candidates to measure, by expected improvement");
  add_screen_common(sug, *sg);
  sug->add_option("--data", sg->data, "Observations so far (CSV or Matbench JSON)")->required();
  sug->add_option("--objective", sg->objective, "maximize, minimize or target")
      ->check(CLI::IsMember({"maximize", "minimize", "target"}));
  sug->add_option("--target", sg->target, "Target value for --objective target (eV)");
  sug->add_option("-n,--count", sg->n, "How many to suggest");
  sug->callback([sg] { check(run_suggest(*sg)); });

  auto ao = std::make_shared<AddOpts>();
  auto* add = cmd->add_subcommand("add-measurements", "Fold new measurements into a training set");
  add->add_option("--data", ao->data, "Training data (CSV or Matbench JSON)")->required();
  add->add_option("--measurements", ao->measurements, "New results: CSV with composition and the target column")
      ->required();
  add->add_option("--target", ao->target, "Target column");
  add->add_option("--out", ao->out, "Merged CSV to write (may equal --data)")->required();
  add->callback([ao] { check(run_add_measurements(*ao)); });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
