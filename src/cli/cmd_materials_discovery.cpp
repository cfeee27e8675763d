// SPDX-License-Identifier: Apache-2.0
// fragua materials enumerate|substitute|screen|suggest|add-measurements: candidate generation,
// screening and the lab loop.
#include <chrono>

#include "cli/materials_common.h"
#include "fragua/base/file.h"
#include "fragua/materials/dataset.h"
#include "fragua/materials/enumerate.h"
#include "fragua/materials/property_model.h"
#include "fragua/materials/screen.h"
#include "fragua/materials/sustainability.h"
#include "fragua/materials/tables.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

using namespace fragua::materials;

struct EnumOpts {
  bool csv_comment = false;
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
  for (auto& s : split_materials_list(o.elements, ',')) {
    const Element* e = t->find(s);
    if (!e) return invalid_argument_error("--elements: unknown element '{}'", s);
    pool.push_back(e->z);
  }
  int k = o.size > 0 ? o.size : static_cast<int>(pool.size());
  if (k > static_cast<int>(pool.size()))
    return invalid_argument_error("--size {} exceeds the {} elements given", k, pool.size());
  std::string comment =
      fmt::format("fragua materials enumerate: elements {} size {} max-coeff {} ox-set {}{}", o.elements, k,
                  o.max_coeff, o.ox_set, o.no_en ? " (no electronegativity test)" : "");
  auto table = FRAGUA_TRY(enumeration_csv(pool, k, *t, eo, comment));
  if (o.out.empty())
    print_materials_csv(table.csv, o.csv_comment);
  else
    FRAGUA_TRY(write_materials_csv(o.out, table.csv, o.csv_comment));
  fmt::print(stderr, "{} compositions\n", table.n_compositions);
  return ok_status();
}

struct SubOpts {
  bool csv_comment = false;
  std::string species, amounts, lambda, out;
  double threshold = 1e-3;
  size_t max_results = 200;
};

Status run_substitute(const SubOpts& o) {
  auto model =
      o.lambda.empty() ? FRAGUA_TRY(SubstitutionModel::builtin()) : FRAGUA_TRY(SubstitutionModel::load(o.lambda));
  auto sp = split_materials_list(o.species, ',');
  std::vector<double> amounts;
  for (auto& a : split_materials_list(o.amounts, ',')) {
    char* end = nullptr;
    double v = std::strtod(a.c_str(), &end);
    if (*end || !(v > 0)) return invalid_argument_error("--amounts: '{}' is not a positive number", a);
    amounts.push_back(v);
  }
  if (!amounts.empty() && amounts.size() != sp.size())
    return invalid_argument_error("--amounts has {} values for {} species", amounts.size(), sp.size());
  for (auto& s : sp) FRAGUA_TRY(parse_species(s));
  auto subs = FRAGUA_TRY(model.substitute(sp, amounts, o.threshold, o.max_results));
  std::string csv = substitutions_csv(
      subs, amounts,
      fmt::format("fragua materials substitute: {} (Hautier 2011 model, threshold {})", o.species, o.threshold));
  if (o.out.empty())
    print_materials_csv(csv, o.csv_comment);
  else
    FRAGUA_TRY(write_materials_csv(o.out, csv, o.csv_comment));
  return ok_status();
}

struct ScreenOpts {
  bool csv_comment = false, skip_invalid = false;
  std::string model, metal_model, candidates, formula_col, out, plot, objective = "target", data,
      pareto_cost = "supply-risk";
  ScreenCriteria c;
  double target = 1.4, noise = 0.1;
  int n = 10, threads = 0;
};

Result<std::vector<ScreenRow>> predict_rows(const ScreenOpts& o, const ElementTable& t) {
  DatasetOptions d;
  d.formula_column = o.formula_col;
  d.require_target = false;
  d.ignore_target = true;
  d.skip_invalid = o.skip_invalid;
  auto cands = FRAGUA_TRY(read_dataset(o.candidates, t, d));
  report_skipped_rows(cands);
  auto model = FRAGUA_TRY(load_property_model(o.model));
  std::unique_ptr<PropertyModel> metal;
  if (!o.metal_model.empty()) metal = FRAGUA_TRY(load_property_model(o.metal_model));
  return predict_screen_rows(cands, *model, metal.get(), t, o.threads);
}

Status run_screen(const ScreenOpts& opts) {
  ScreenOpts o = opts;
  o.c.pareto_cost = FRAGUA_TRY(parse_pareto_cost(o.pareto_cost));
  FRAGUA_TRY(validate_screen_criteria(o.c));
  const ElementTable* t = FRAGUA_TRY(ElementTable::builtin());
  FRAGUA_TRY(SustainabilityTable::builtin());  // the flags and GHG figures screening applies
  auto rows = FRAGUA_TRY(predict_rows(o, *t));
  screen(rows, o.c, *t);
  std::string prov = fmt::format("fragua materials screen: model {} candidates {} gap [{}, {}] eV", o.model,
                                 o.candidates, o.c.gap_min, o.c.gap_max);
  if (!o.plot.empty())
    FRAGUA_TRY(
        write_screen_svg(o.plot, rows, o.c,
                         fmt::format("Screening {} candidates: gap {}-{} eV", rows.size(), o.c.gap_min, o.c.gap_max)));
  FRAGUA_TRY(write_materials_csv(o.out, screen_csv(rows, prov), o.csv_comment));
  auto n = count_screened(rows);
  fmt::print("{} candidates, {} pass, {} on the Pareto front; wrote {}\n", rows.size(), n.pass, n.pareto, o.out);
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
  auto picks = suggest_next(rows, obs, obj, o.target, *t, static_cast<size_t>(o.n), o.noise);
  std::string csv =
      suggestions_csv(rows, picks,
                      fmt::format("fragua materials suggest: model {} objective {} target {} best observed {}", o.model,
                                  o.objective, o.target, best));
  if (o.out.empty())
    print_materials_csv(csv, o.csv_comment);
  else
    FRAGUA_TRY(write_materials_csv(o.out, csv, o.csv_comment));
  return ok_status();
}

struct AddOpts {
  bool csv_comment = false;
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
  auto n = merge_measurements(base, add, *t);
  FRAGUA_TRY(write_materials_csv(
      o.out, dataset_csv(base, fmt::format("fragua materials add-measurements: {} + {}", o.data, o.measurements)),
      o.csv_comment));
  fmt::print("{} rows: {} replaced, {} appended; wrote {}\n", base.size(), n.replaced, n.appended, o.out);
  return ok_status();
}

void add_screen_common(CLI::App* s, ScreenOpts& o) {
  s->add_option("--model", o.model, "Band-gap model (fragua materials train)")->required();
  s->add_option("--candidates", o.candidates, "CSV with a composition column (e.g. from enumerate)")->required();
  s->add_option("--formula-column", o.formula_col, "Formula column of the candidates");
  add_output_flag(*s, o.out, "Output CSV");
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
  add_output_flag(*en, eo->out, "Output CSV (default: stdout)");
  add_threads_flag(*en, eo->threads);
  add_csv_comment_flag(en, eo->csv_comment);
  en->callback([eo] { check(run_enumerate(*eo)); });

  auto so = std::make_shared<SubOpts>();
  auto* su = cmd->add_subcommand("substitute", "Ion substitution into a known compound (Hautier 2011)");
  su->add_option("--species", so->species, "Species of the known compound, e.g. Cu+,In3+,Se2-")->required();
  su->add_option("--amounts", so->amounts, "Amounts, e.g. 1,1,2 (enforces charge neutrality)");
  su->add_option("--threshold", so->threshold, "Minimum product of conditional probabilities");
  su->add_option("--max-results", so->max_results, "Keep the most probable N");
  su->add_option("--substitution-table", so->lambda,
                 "Substitution weights, Hautier 2011 lambda.json format (default: the bundled data/materials/lambda.json)");
  // The first spelling; --lambda elsewhere is XGBoost's L2 regularisation (issue 18).
  su->add_option("--lambda", so->lambda, "Deprecated spelling of --substitution-table")->group("");
  add_output_flag(*su, so->out, "Output CSV (default: stdout)");
  add_csv_comment_flag(su, so->csv_comment);
  su->callback([so] { check(run_substitute(*so)); });

  auto sc = std::make_shared<ScreenOpts>();
  auto* scr = cmd->add_subcommand("screen", "Screen and rank candidates: gap window, HHI, abundance, critical/toxic");
  add_screen_common(scr, *sc);
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
  scr->add_option("--max-ghg", sc->c.max_ghg,
                  "Highest cradle-to-gate kg CO2-eq per kg of compound (Nuss & Eckelman 2014 element figures)");
  scr->add_option("--pareto-cost", sc->pareto_cost, "Cost axis of the Pareto front: supply-risk, ghg or critical")
      ->capture_default_str();
  scr->add_option("--plot", sc->plot, "SVG plot of gap against supply risk with the Pareto front");
  add_csv_comment_flag(scr, sc->csv_comment);
  add_skip_invalid_flag(scr, sc->skip_invalid);
  scr->callback([sc] {
    require_output(sc->out);
    check(run_screen(*sc));
  });

  auto sg = std::make_shared<ScreenOpts>();
  auto* sug = cmd->add_subcommand("suggest", "Next candidates to measure, by expected improvement");
  add_screen_common(sug, *sg);
  sug->add_option("--data", sg->data, "Observations so far (CSV or Matbench JSON)")->required();
  sug->add_option("--objective", sg->objective, "maximize, minimize or target")
      ->check(CLI::IsMember({"maximize", "minimize", "target"}));
  // Not --target: that is a column name on every other materials command (issue 18).
  sug->add_option("--target-value", sg->target, "Target value for --objective target (eV)");
  sug->add_option("--target", sg->target, "")->group("");  // its first spelling, for scripts
  sug->add_option("-n,--count", sg->n, "How many to suggest")->capture_default_str();
  sug->add_option("--noise", sg->noise,
                  "Measurement noise (std, eV) for a noise-aware expected improvement (0 = plain EI)")
      ->capture_default_str();
  add_csv_comment_flag(sug, sg->csv_comment);
  add_skip_invalid_flag(sug, sg->skip_invalid);
  sug->callback([sg] { check(run_suggest(*sg)); });

  auto ao = std::make_shared<AddOpts>();
  auto* add = cmd->add_subcommand("add-measurements", "Fold new measurements into a training set");
  add->add_option("--data", ao->data, "Training data (CSV or Matbench JSON)")->required();
  add->add_option("--measurements", ao->measurements, "New results: CSV with composition and the target column")
      ->required();
  add->add_option("--target", ao->target, "Target column");
  add_output_flag(*add, ao->out, "Merged CSV to write (may equal --data; required)");
  add_csv_comment_flag(add, ao->csv_comment);
  add->callback([ao] {
    require_output(ao->out);
    check(run_add_measurements(*ao));
  });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
