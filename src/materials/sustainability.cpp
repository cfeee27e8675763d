// SPDX-License-Identifier: Apache-2.0
// Per-element sustainability data (sustainability.h) and the element flags screening uses.
#include "fragua/materials/sustainability.h"

#include "fragua/base/data_files.h"
#include "fragua/base/file.h"
#include "fragua/materials/csv_reader.h"
#include "fragua/materials/elements.h"
#include "fragua/materials/screen.h"

namespace fragua::materials {

namespace {

Result<bool> sustainability_flag(const CsvTable& csv, const CsvField& f) {
  if (f.text == "0") return false;
  if (f.text == "1") return true;
  return corruption_error("{}: expected 0 or 1, found '{}'", csv.where(f), f.text);
}

const ElementSustainability kNoSustainabilityData;

}  // namespace

Result<SustainabilityTable> SustainabilityTable::parse(std::string_view text, const std::string& source,
                                                       const ElementTable& table) {
  auto csv = FRAGUA_TRY(parse_csv(text, source));
  SustainabilityTable s;
  for (auto& c : csv.comments) s.provenance_ += c + "\n";
  const size_t c_symbol = FRAGUA_TRY(csv.column("symbol")), c_crm = FRAGUA_TRY(csv.column("crm_eu_2023")),
               c_rohs = FRAGUA_TRY(csv.column("rohs")), c_toxic = FRAGUA_TRY(csv.column("toxic")),
               c_ghg = FRAGUA_TRY(csv.column("ghg_kg_co2e_per_kg"));
  s.by_z_.assign(static_cast<size_t>(table.max_z()), ElementSustainability{});
  for (auto& row : csv.rows) {
    const Element* e = table.find(row[c_symbol].text);
    if (!e) return corruption_error("{}: unknown element '{}'", csv.where(row[c_symbol]), row[c_symbol].text);
    ElementSustainability& v = s.by_z_[static_cast<size_t>(e->z - 1)];
    v.critical = FRAGUA_TRY(sustainability_flag(csv, row[c_crm]));
    v.rohs = FRAGUA_TRY(sustainability_flag(csv, row[c_rohs]));
    v.toxic = FRAGUA_TRY(sustainability_flag(csv, row[c_toxic]));
    if (!row[c_ghg].text.empty()) {
      v.ghg_kg_co2e_per_kg = FRAGUA_TRY(csv.number(row[c_ghg], "ghg_kg_co2e_per_kg"));
      if (!(v.ghg_kg_co2e_per_kg >= 0))
        return corruption_error("{}: a GHG figure is >= 0, found {}", csv.where(row[c_ghg]), row[c_ghg].text);
    }
  }
  return s;
}

Result<const SustainabilityTable*> SustainabilityTable::builtin() {
  // Immutable once loaded; function-local static initialisation is thread-safe.
  static const Result<SustainabilityTable> cached = []() -> Result<SustainabilityTable> {
    const ElementTable* table = FRAGUA_TRY(ElementTable::builtin());
    auto path = FRAGUA_TRY(find_data_file("materials/sustainability.csv"));
    auto text = FRAGUA_TRY(read_file(path));
    return parse(text, path, *table);
  }();
  if (!cached.ok()) return cached.error();
  return &cached.value();
}

const ElementSustainability& SustainabilityTable::at(int z) const {
  if (z < 1 || static_cast<size_t>(z) > by_z_.size()) return kNoSustainabilityData;
  return by_z_[static_cast<size_t>(z - 1)];
}

double compound_ghg_per_kg(const Composition& c, const ElementTable& table, const SustainabilityTable& s,
                           std::string* missing) {
  double mass = 0, ghg = 0;
  bool any = false;
  if (missing) missing->clear();
  for (auto& [z, a] : c.amounts()) {
    const double m = a * table.by_z(z).get(Prop::mass);
    mass += m;
    const double g = s.at(z).ghg_kg_co2e_per_kg;
    if (std::isnan(g)) {
      if (missing) *missing += (missing->empty() ? "" : ";") + table.by_z(z).symbol;
      continue;
    }
    ghg += m * g;
    any = true;
  }
  return any && mass > 0 ? ghg / mass : std::nan("");
}

// The screening flags read the data file; without it (an installation missing its data) no
// element is flagged, and the commands that screen load the table first and report the error.
bool is_critical_raw_material(int z) {
  auto s = SustainabilityTable::builtin();
  return s.ok() && (*s)->at(z).critical;
}
bool is_toxic(int z) {
  auto s = SustainabilityTable::builtin();
  return s.ok() && (*s)->at(z).toxic;
}

}  // namespace fragua::materials
