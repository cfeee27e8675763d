// SPDX-License-Identifier: Apache-2.0
// Candidate generation. (1) Charge-neutral compositions from element sets, with the SMACT
// screening rules (Davies et al., "Computational screening of all stoichiometric inorganic
// materials", Chem 1, 617 (2016)): some assignment of one oxidation state per element sums to
// zero with coefficients 1..K (gcd 1), and in it every cation is less electronegative (Pauling,
// SMACT's table) than every anion. (2) Ion substitution into known compounds with the
// data-mined probabilities of Hautier, Fischer, Ehrlacher, Jain & Ceder, Inorg. Chem. 50, 656
// (2011).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/progress.h"
#include "fragua/materials/elements.h"

namespace fragua::materials {

struct EnumerateOptions {
  OxSet ox_set = OxSet::smact14;
  int max_coeff = 8;
  bool electronegativity_test = true;
  int threads = 0;
};

struct Candidate {
  std::vector<int> z;      // atomic numbers, in the order given
  std::vector<int> coeff;  // gcd 1
  std::vector<int> ox;     // the first passing oxidation-state assignment found
};

// Every composition of exactly these elements (each coefficient >= 1) that passes. Up to 6
// elements and max_coeff^n <= 2^24.
Result<std::vector<Candidate>> enumerate_compositions(const std::vector<int>& zs, const ElementTable& table,
                                                      const EnumerateOptions& opts);

// Told (units done, units in all) as a long loop advances; empty: nobody listens.
using ProgressCallback = std::function<void(uint64_t done, uint64_t total)>;

// enumerate_compositions over every `size`-element subset of `pool` (atomic numbers), subsets in
// lexicographic order of their positions in the pool: emit(zs, candidate) for each passing
// composition, zs the subset in pool order. progress counts subsets. Errors on a size above the
// pool's, and as enumerate_compositions.
Status enumerate_pool(const std::vector<int>& pool, int size, const ElementTable& table, const EnumerateOptions& opts,
                      const std::function<void(const std::vector<int>& zs, const Candidate& c)>& emit,
                      const ProgressCallback& progress = {});

struct EnumerationCounts {
  uint64_t element_sets = 0;
  uint64_t raw = 0;             // element sets x coefficient vectors with gcd 1
  uint64_t charge_neutral = 0;  // with some neutral oxidation-state assignment
  uint64_t pass = 0;            // ... that also passes the electronegativity test
};

// Counts over all n-element subsets of elements 1..max_z (n = 2 or 3 in practice), in parallel.
Result<EnumerationCounts> count_all(int n_elements, int max_z, const ElementTable& table, const EnumerateOptions& opts,
                                    ProgressBar* bar = nullptr);

// Hautier 2011 substitution model: lambda weights for species pairs, loaded from pymatgen's
// lambda.json ([[sp1, sp2, lambda], ...]); unseen pairs get alpha = -5.
class SubstitutionModel {
 public:
  static Result<SubstitutionModel> load(const std::string& path);
  static Result<SubstitutionModel> parse(std::string_view json_text, const std::string& source);
  // lambda.json from $FRAGUA_LAMBDA_JSON, else data/materials/lambda.json (the project's copy).
  static Result<SubstitutionModel> builtin();

  double lambda(const std::string& s1, const std::string& s2) const;
  // p(s1, s2) = exp(lambda) / Z
  double prob(const std::string& s1, const std::string& s2) const;
  // Probability that s2 (in the known compound) is replaced by s1: exp(lambda(s1,s2)) / p_x(s2).
  double cond_prob(const std::string& s1, const std::string& s2) const;
  const std::vector<std::string>& species() const { return species_; }

  struct Substitution {
    std::vector<std::string> species;  // new species, one per original
    double probability = 0;            // product of cond_prob
  };
  // Replacements of every species of a known compound (e.g. {"Cu+","In3+","Se2-"}) whose
  // product of conditional probabilities exceeds `threshold`, most probable first. Each new
  // species keeps the original's charge sign and the product keeps charge neutrality when
  // `amounts` is given. A species that is not in the table (a typo, a charge the model never
  // saw) is an error naming it, not an empty list; so is `amounts` of another length.
  Result<std::vector<Substitution>> substitute(const std::vector<std::string>& species, const std::vector<double>& amounts,
                                       double threshold, size_t max_results = 1000) const;

 private:
  std::vector<std::string> species_;
  std::vector<double> lambda_;  // dense species x species
  std::vector<double> px_;
  double z_ = 0, alpha_ = -5;
  int index(const std::string& s) const;
};

// "Cu+" -> ("Cu", 1), "Se2-" -> ("Se", -2), "Fe3+" -> ("Fe", 3).
Result<std::pair<std::string, int>> parse_species(std::string_view s);

}  // namespace fragua::materials
