// SPDX-License-Identifier: Apache-2.0
// Hautier et al., Inorg. Chem. 50, 656 (2011): the probability that ion a replaces ion b in a
// known structure is a log-linear model over pairs, p(a, b) = exp(lambda_ab) / Z with unseen
// pairs at alpha = -5; the conditional probability used to rank substitutions divides by the
// marginal p_x(b) = sum_a exp(lambda_ab) (each pair shared half-half between its members, as
// in the reference implementation in pymatgen's structure_prediction).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "fragua/base/data_files.h"
#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/runtime_options.h"
#include "fragua/materials/enumerate.h"

namespace fragua::materials {

Result<std::pair<std::string, int>> parse_species(std::string_view s) {
  size_t i = 0;
  if (i >= s.size() || !(s[i] >= 'A' && s[i] <= 'Z'))
    return invalid_argument_error("species '{}': expected an element symbol", s);
  ++i;
  while (i < s.size() && s[i] >= 'a' && s[i] <= 'z') ++i;
  std::string el(s.substr(0, i));
  int mag = 0;
  size_t d0 = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9' && mag < 100) mag = mag * 10 + (s[i++] - '0');
  if (i == d0) mag = 1;
  if (i + 1 != s.size() || (s[i] != '+' && s[i] != '-'))
    return invalid_argument_error("species '{}': expected a charge like 2+ or 2- at column {}", s, i + 1);
  return std::make_pair(el, s[i] == '+' ? mag : -mag);
}

namespace {

// "Ag1+" and "Ag+" name the same ion; the table writes the first, people the second.
std::string canonical(const std::string& s) {
  auto sp = parse_species(s);
  if (!sp.ok()) return s;
  int q = std::abs(sp->second);
  return sp->first + (q == 1 ? "" : std::to_string(q)) + (sp->second > 0 ? "+" : "-");
}

}  // namespace

Result<SubstitutionModel> SubstitutionModel::parse(std::string_view text, const std::string& source) {
  nlohmann::json j = FRAGUA_TRY(parse_json(text, source));
  if (!j.is_array()) return corruption_error("{}: expected a list of [species1, species2, lambda]", source);
  std::map<std::string, int> index;
  std::vector<std::tuple<std::string, std::string, double>> rows;
  for (size_t r = 0; r < j.size(); ++r) {
    const auto& row = j[r];
    if (!row.is_array() || row.size() != 3 || !row[0].is_string() || !row[1].is_string() || !row[2].is_number())
      return corruption_error("{}: entry {} is not [species1, species2, lambda]", source, r);
    std::string a = row[0], b = row[1];
    if (a == "D1+" || b == "D1+") continue;  // deuterium entries are left out, as in pymatgen
    for (auto* s : {&a, &b}) {
      auto sp = parse_species(*s);
      if (!sp.ok()) return std::move(sp).error().with_context(fmt::format("{}: entry {}", source, r));
      *s = canonical(*s);
    }
    rows.emplace_back(a, b, row[2].get<double>());
    index.emplace(a, 0);
    index.emplace(b, 0);
  }
  SubstitutionModel m;
  for (auto& [s, i] : index) {
    i = static_cast<int>(m.species_.size());
    m.species_.push_back(s);
  }
  size_t n = m.species_.size();
  m.lambda_.assign(n * n, m.alpha_);
  for (auto& [a, b, l] : rows) {
    size_t ia = static_cast<size_t>(index[a]), ib = static_cast<size_t>(index[b]);
    m.lambda_[ia * n + ib] = m.lambda_[ib * n + ia] = l;
  }
  m.px_.assign(n, 0.0);
  for (size_t a = 0; a < n; ++a)
    for (size_t b = 0; b < n; ++b) {
      double v = std::exp(m.lambda_[a * n + b]);
      m.px_[a] += v / 2;
      m.px_[b] += v / 2;
      m.z_ += v;
    }
  return m;
}

Result<SubstitutionModel> SubstitutionModel::load(const std::string& path) {
  auto text = FRAGUA_TRY(read_file(path));
  return parse(text, path);
}

Result<SubstitutionModel> SubstitutionModel::builtin() {
  std::vector<std::string> candidates;
  if (std::string p = runtime_options().lambda_json; !p.empty()) candidates.push_back(p);
  // The project's own copy (scripts/materials/make_substitution_table.py); never another
  // program's install directory, which an installed fragua cannot count on.
  if (auto p = find_data_file("materials/lambda.json"); p.ok()) candidates.push_back(*p);
  for (auto& c : candidates)
    if (Env::posix().file_exists(c)) return load(c);
  return not_found_error(
      "substitution data materials/lambda.json not found in the data directory (set FRAGUA_DATA_DIR or "
      "FRAGUA_LAMBDA_JSON)");
}

int SubstitutionModel::index(const std::string& name) const {
  std::string s = canonical(name);
  auto it = std::lower_bound(species_.begin(), species_.end(), s);
  return it != species_.end() && *it == s ? static_cast<int>(it - species_.begin()) : -1;
}

double SubstitutionModel::lambda(const std::string& s1, const std::string& s2) const {
  int a = index(s1), b = index(s2);
  if (a < 0 || b < 0) return alpha_;
  return lambda_[static_cast<size_t>(a) * species_.size() + static_cast<size_t>(b)];
}

double SubstitutionModel::prob(const std::string& s1, const std::string& s2) const {
  return std::exp(lambda(s1, s2)) / z_;
}

double SubstitutionModel::cond_prob(const std::string& s1, const std::string& s2) const {
  int b = index(s2);
  if (b < 0) return 0.0;
  return std::exp(lambda(s1, s2)) / px_[static_cast<size_t>(b)];
}

Result<std::vector<SubstitutionModel::Substitution>> SubstitutionModel::substitute(
    const std::vector<std::string>& species, const std::vector<double>& amounts, double threshold,
    size_t max_results) const {
  size_t n = species.size();
  if (!amounts.empty() && amounts.size() != n)
    return invalid_argument_error("substitution: {} amounts for {} species", amounts.size(), n);
  for (const auto& s : species) {
    FRAGUA_TRY(parse_species(s));
    if (index(s) < 0)
      return invalid_argument_error("substitution: species '{}' is not in the substitution table ({} species, e.g. {})",
                                    s, species_.size(), species_.empty() ? "" : species_.front());
  }
  std::vector<int> charge(n);
  std::vector<double> best(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    auto sp = parse_species(species[i]);
    charge[i] = sp.ok() ? sp->second : 0;
    for (auto& s : species_) best[i] = std::max(best[i], cond_prob(s, species[i]));
  }
  std::vector<int> cand_charge(species_.size());
  for (size_t k = 0; k < species_.size(); ++k) cand_charge[k] = parse_species(species_[k])->second;
  std::vector<Substitution> out;
  std::vector<std::string> cur;
  // Depth-first with the bound of pymatgen's Substitutor: stop when even the best remaining
  // choices cannot lift the product above the threshold.
  std::function<void(size_t, double)> rec = [&](size_t i, double p) {
    double bound = p;
    for (size_t j = i; j < n; ++j) bound *= best[j];
    if (bound <= threshold) return;
    if (i == n) {
      if (!amounts.empty()) {
        double q = 0;
        for (size_t j = 0; j < n; ++j) q += amounts[j] * parse_species(cur[j])->second;
        if (std::fabs(q) > 1e-6) return;
      }
      out.push_back({cur, p});
      return;
    }
    for (size_t k = 0; k < species_.size(); ++k) {
      if ((cand_charge[k] > 0) != (charge[i] > 0)) continue;
      double c = cond_prob(species_[k], species[i]);
      if (c <= 0) continue;
      cur.push_back(species_[k]);
      rec(i + 1, p * c);
      cur.pop_back();
    }
  };
  rec(0, 1.0);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.probability > b.probability; });
  if (out.size() > max_results) out.resize(max_results);
  return out;
}

}  // namespace fragua::materials
