// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/features.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <xxhash.h>

#include "fragua/base/thread_pool.h"

namespace fragua::materials {

namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr int kPNorms[] = {0, 2, 3, 5, 7, 10};
constexpr const char* kStats[] = {"mean", "avgdev", "min", "max", "range", "mode"};

// The 22 Magpie properties (with our column names; n_val/n_unf are derived sums) followed by
// three more that the pymatgen table provides and help band-gap models.
const std::vector<Prop>& stat_props() {
  static const std::vector<Prop> p = {Prop::z,
                                      Prop::mendeleev,
                                      Prop::mass,
                                      Prop::melting_k,
                                      Prop::group,
                                      Prop::row,
                                      Prop::covalent_radius_pm,
                                      Prop::pauling_en,
                                      Prop::ns_val,
                                      Prop::np_val,
                                      Prop::nd_val,
                                      Prop::nf_val,
                                      Prop::count_ /* n_val */,
                                      Prop::ns_unf,
                                      Prop::np_unf,
                                      Prop::nd_unf,
                                      Prop::nf_unf,
                                      Prop::count_ /* n_unf */,
                                      Prop::gs_volume_pa,
                                      Prop::gs_bandgap_ev,
                                      Prop::gs_magmom,
                                      Prop::space_group,
                                      Prop::ionization_ev,
                                      Prop::electron_affinity_ev,
                                      Prop::molar_volume_cm3};
  return p;
}

double element_value(const Element& e, size_t k, Prop p) {
  if (p != Prop::count_) return e.get(p);
  if (k == 12) return e.get(Prop::ns_val) + e.get(Prop::np_val) + e.get(Prop::nd_val) + e.get(Prop::nf_val);
  return e.get(Prop::ns_unf) + e.get(Prop::np_unf) + e.get(Prop::nd_unf) + e.get(Prop::nf_unf);
}

// True when one oxidation state per element makes the composition neutral (Magpie's
// "compound possible"). Uses the ICSD states, falling back to pymatgen's common states.
bool charge_balance_possible(const Composition& c, const ElementTable& t) {
  std::vector<const std::vector<int>*> ox;
  size_t combos = 1;
  for (auto& [z, a] : c.amounts()) {
    const Element& e = t.by_z(z);
    const auto* v = e.ox_icsd.empty() ? &e.ox_common : &e.ox_icsd;
    if (v->empty()) return false;
    ox.push_back(v);
    combos *= v->size();
    if (combos > 200000) return false;
  }
  std::vector<size_t> idx(ox.size(), 0);
  double tol = 1e-6 * c.total();
  for (size_t n = 0; n < combos; ++n) {
    double q = 0;
    for (size_t i = 0; i < ox.size(); ++i) q += c.amounts()[i].second * (*ox[i])[idx[i]];
    if (std::fabs(q) < tol) return true;
    for (size_t i = 0; i < ox.size(); ++i) {
      if (++idx[i] < ox[i]->size()) break;
      idx[i] = 0;
    }
  }
  return false;
}

}  // namespace

Featurizer::Featurizer(const ElementTable& table) : table_(table), props_(stat_props()) {
  for (size_t k = 0; k < props_.size(); ++k) {
    std::string pname = props_[k] != Prop::count_ ? prop_name(props_[k]) : (k == 12 ? "n_val" : "n_unf");
    for (const char* s : kStats) names_.push_back(std::string(s) + "_" + pname);
  }
  for (int p : kPNorms) names_.push_back("pnorm_" + std::to_string(p));
  for (const char* o : {"s", "p", "d", "f"}) names_.push_back(std::string("frac_") + o + "_valence");
  names_.push_back("compound_possible");
  names_.push_back("max_ionic_char");
  names_.push_back("mean_ionic_char");
  // The element-fraction vector (the "fractional encoding" of ElemNet, Jha et al., Sci. Rep. 8,
  // 17593 (2018)): lets the trees tell apart compounds whose averaged properties coincide.
  for (int z = 1; z <= table_.max_z(); ++z) names_.push_back("x_" + table_.by_z(z).symbol);
}

void Featurizer::featurize(const Composition& c, float* out) const {
  const auto& am = c.amounts();
  std::vector<double> f = c.fractions();
  std::vector<const Element*> els;
  for (auto& [z, a] : am) els.push_back(&table_.by_z(z));
  size_t o = 0;
  for (size_t k = 0; k < props_.size(); ++k) {
    double mean = 0, mn = 1e300, mx = -1e300, mode = 0, best_f = -1;
    bool missing = els.empty();
    for (size_t i = 0; i < els.size(); ++i) {
      double v = element_value(*els[i], k, props_[k]);
      if (std::isnan(v)) {
        missing = true;
        break;
      }
      mean += f[i] * v;
      mn = std::min(mn, v);
      mx = std::max(mx, v);
      if (f[i] > best_f + 1e-12 || (std::fabs(f[i] - best_f) <= 1e-12 && v < mode)) {
        best_f = f[i];
        mode = v;
      }
    }
    if (missing) {
      for (int s = 0; s < 6; ++s) out[o++] = kNaN;
      continue;
    }
    double dev = 0;
    for (size_t i = 0; i < els.size(); ++i) dev += f[i] * std::fabs(element_value(*els[i], k, props_[k]) - mean);
    for (double v : {mean, dev, mn, mx, mx - mn, mode}) out[o++] = static_cast<float>(v);
  }
  for (int p : kPNorms) {
    if (p == 0) {
      out[o++] = static_cast<float>(els.size());
      continue;
    }
    double s = 0;
    for (double x : f) s += std::pow(x, p);
    out[o++] = static_cast<float>(std::pow(s, 1.0 / p));
  }
  double tot = 0, by[4] = {0, 0, 0, 0};
  const Prop orb[4] = {Prop::ns_val, Prop::np_val, Prop::nd_val, Prop::nf_val};
  for (size_t i = 0; i < els.size(); ++i)
    for (int j = 0; j < 4; ++j) {
      by[j] += f[i] * els[i]->get(orb[j]);
      tot += f[i] * els[i]->get(orb[j]);
    }
  for (int j = 0; j < 4; ++j) out[o++] = (tot > 0 && !std::isnan(tot)) ? static_cast<float>(by[j] / tot) : kNaN;
  out[o++] = charge_balance_possible(c, table_) ? 1.0f : 0.0f;
  double max_ic = 0, mean_ic = 0;
  bool en_missing = false;
  for (size_t i = 0; i < els.size(); ++i) {
    if (!els[i]->has(Prop::pauling_en)) en_missing = true;
    for (size_t j = 0; j < els.size(); ++j) {
      double d = els[i]->get(Prop::pauling_en) - els[j]->get(Prop::pauling_en);
      double ic = 1.0 - std::exp(-0.25 * d * d);
      max_ic = std::max(max_ic, ic);
      mean_ic += f[i] * f[j] * ic;
    }
  }
  out[o++] = en_missing ? kNaN : static_cast<float>(max_ic);
  out[o++] = en_missing ? kNaN : static_cast<float>(mean_ic);
  std::fill(out + o, out + size(), 0.0f);
  for (size_t i = 0; i < am.size(); ++i) out[o + static_cast<size_t>(am[i].first - 1)] = static_cast<float>(f[i]);
}

std::vector<float> Featurizer::featurize_all(const std::vector<Composition>& comps, int threads) const {
  std::vector<float> x(comps.size() * size());
  ThreadPool pool(threads);
  pool.parallel_for(comps.size(), [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) featurize(comps[i], x.data() + i * size());
  });
  return x;
}

std::vector<std::string> Featurizer::matminer_names() const {
  // Magpie's table names of stat_props(), in its order; k == 12 and 17 are the derived sums.
  static const char* kMagpieNames[] = {"Number",      "MendeleevNumber", "AtomicWeight", "MeltingT",
                                       "Column",      "Row",             "CovalentRadius", "Electronegativity",
                                       "NsValence",   "NpValence",       "NdValence",    "NfValence",
                                       "NValence",    "NsUnfilled",      "NpUnfilled",   "NdUnfilled",
                                       "NfUnfilled",  "NUnfilled",       "GSvolume_pa",  "GSbandgap",
                                       "GSmagmom",    "SpaceGroupNumber", "FirstIonizationEnergy",
                                       "ElectronAffinity", "MolarVolume"};
  static_assert(std::size(kMagpieNames) == 25);
  // kStats in matminer's words.
  static const char* kMatminerStats[] = {"mean", "avg_dev", "minimum", "maximum", "range", "mode"};
  std::vector<std::string> out;
  for (size_t k = 0; k < props_.size() && k < std::size(kMagpieNames); ++k)
    for (const char* st : kMatminerStats) out.push_back(fmt::format("MagpieData {} {}", st, kMagpieNames[k]));
  for (int p : kPNorms) out.push_back(fmt::format("{}-norm", p));
  for (const char* o : {"s", "p", "d", "f"}) out.push_back(fmt::format("frac {} valence electrons", o));
  out.push_back("compound possible");
  out.push_back("max ionic char");
  out.push_back("avg ionic char");
  for (int z = 1; z <= table_.max_z(); ++z) out.push_back(table_.by_z(z).symbol);
  return out;
}

std::string Featurizer::signature() const {
  std::string all;
  for (auto& n : names_) all += n + ",";
  all += table_.provenance();
  return fmt::format("magpie-v2-{:016x}", XXH64(all.data(), all.size(), 0));
}

}  // namespace fragua::materials
