// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/elements.h"
#include "fragua/base/data_files.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <limits>

#include "fragua/base/file.h"
#include "fragua/materials/csv_reader.h"

namespace fragua::materials {

namespace {

constexpr const char* kPropNames[kNumProps] = {"z",
                                               "mass",
                                               "mendeleev",
                                               "row",
                                               "group",
                                               "pauling_en",
                                               "smact_en",
                                               "melting_k",
                                               "boiling_k",
                                               "molar_volume_cm3",
                                               "density_kg_m3",
                                               "atomic_radius",
                                               "covalent_radius_pm",
                                               "vdw_radius",
                                               "ionization_ev",
                                               "electron_affinity_ev",
                                               "ns_val",
                                               "np_val",
                                               "nd_val",
                                               "nf_val",
                                               "ns_unf",
                                               "np_unf",
                                               "nd_unf",
                                               "nf_unf",
                                               "gs_bandgap_ev",
                                               "gs_volume_pa",
                                               "gs_magmom",
                                               "space_group",
                                               "abundance_mg_kg",
                                               "hhi_p",
                                               "hhi_r",
                                               "cost_usd_kg"};

Result<std::vector<int>> parse_ox_list(const CsvTable& t, const CsvField& f) {
  std::vector<int> out;
  std::string_view s = f.text;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find(';', pos);
    if (end == std::string_view::npos) end = s.size();
    std::string_view tok = s.substr(pos, end - pos);
    if (!tok.empty() && tok.front() == '+') tok.remove_prefix(1);
    int v = 0;
    auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), v);
    if (ec != std::errc() || p != tok.data() + tok.size() || v < -9 || v > 9)
      return corruption_error("{}: bad oxidation state '{}'", t.where(f), s.substr(pos, end - pos));
    out.push_back(v);
    pos = end + 1;
  }
  return out;
}

}  // namespace

const char* prop_name(Prop p) { return kPropNames[static_cast<int>(p)]; }

Result<OxSet> parse_ox_set(std::string_view name) {
  if (name == "smact14") return OxSet::smact14;
  if (name == "common") return OxSet::common;
  if (name == "icsd") return OxSet::icsd;
  return invalid_argument_error("unknown oxidation-state set '{}' (smact14, common, icsd)", name);
}

const std::vector<int>& Element::ox(OxSet set) const {
  switch (set) {
    case OxSet::smact14:
      return ox_smact14;
    case OxSet::common:
      return ox_common;
    case OxSet::icsd:
      return ox_icsd;
  }
  return ox_smact14;
}

Result<ElementTable> ElementTable::parse(std::string_view text, const std::string& source) {
  auto csv = FRAGUA_TRY(parse_csv(text, source));
  ElementTable table;
  for (auto& c : csv.comments) table.provenance_ += c + "\n";
  size_t c_symbol = FRAGUA_TRY(csv.column("symbol"));
  size_t c_name = FRAGUA_TRY(csv.column("name"));
  size_t c_ox[3] = {FRAGUA_TRY(csv.column("ox_smact14")), FRAGUA_TRY(csv.column("ox_common")),
                    FRAGUA_TRY(csv.column("ox_icsd"))};
  std::array<size_t, kNumProps> c_prop{};
  for (int p = 0; p < kNumProps; ++p) c_prop[p] = FRAGUA_TRY(csv.column(kPropNames[p]));
  for (auto& row : csv.rows) {
    Element e;
    e.symbol = row[c_symbol].text;
    e.name = row[c_name].text;
    for (int p = 0; p < kNumProps; ++p) {
      const CsvField& f = row[c_prop[p]];
      e.props[p] = f.text.empty() ? std::numeric_limits<double>::quiet_NaN() : FRAGUA_TRY(csv.number(f, kPropNames[p]));
    }
    e.z = static_cast<int>(e.props[0]);
    if (e.z != static_cast<int>(table.elements_.size()) + 1)
      return corruption_error("{}: element '{}' has Z={}, expected {} (rows must be in Z order)",
                              csv.where(row[c_symbol]), e.symbol, e.z, table.elements_.size() + 1);
    e.ox_smact14 = FRAGUA_TRY(parse_ox_list(csv, row[c_ox[0]]));
    e.ox_common = FRAGUA_TRY(parse_ox_list(csv, row[c_ox[1]]));
    e.ox_icsd = FRAGUA_TRY(parse_ox_list(csv, row[c_ox[2]]));
    table.elements_.push_back(std::move(e));
  }
  if (table.elements_.empty()) return corruption_error("{}: no elements", source);
  return table;
}

Result<ElementTable> ElementTable::load(const std::string& path) {
  auto text = FRAGUA_TRY(read_file(path));
  return parse(text, path);
}

const Element* ElementTable::find(std::string_view symbol) const {
  for (auto& e : elements_)
    if (e.symbol == symbol) return &e;
  return nullptr;
}

Result<const ElementTable*> ElementTable::builtin() {
  // Immutable once loaded; function-local static initialisation is thread-safe.
  static const Result<ElementTable> cached = [] {
    auto path = find_data_file("materials/elements.csv");
    if (!path.ok()) return Result<ElementTable>(path.error());
    return load(*path);
  }();
  if (!cached.ok()) return cached.error();
  return &cached.value();
}

}  // namespace fragua::materials
