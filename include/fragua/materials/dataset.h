// Composition datasets: Matbench JSON (pandas "split" orientation: {"index", "columns",
// "data"}), plain or compressed (.gz, .bz2), and CSV with a formula column and a target column.
#pragma once

#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/materials/composition.h"

namespace fragua::materials {

struct Dataset {
  std::string source, target_name;
  std::vector<std::string> ids, formulas;
  std::vector<Composition> comps;
  std::vector<double> y;  // empty when the file has no target column
  size_t size() const { return formulas.size(); }
};

struct DatasetOptions {
  std::string formula_column;  // "" = "composition" or "formula", whichever is present
  std::string target_column;   // "" = the last column that is not the id or the formula
  bool require_target = true;
  bool ignore_target = false;  // formulas only (candidate lists)
};

// Reads by extension: *.json, *.json.gz, *.json.bz2, *.json.zst as Matbench JSON; anything else
// as CSV (which may be compressed the same way). Compressed files go through base/decompress.h
// (1 GiB and ratio caps); CSV is checked row by row as it is read. Errors name the file, line
// and column (CSV) or the row index (JSON).
Result<Dataset> read_dataset(const std::string& path, const ElementTable& table, const DatasetOptions& opts = {});
Result<Dataset> parse_matbench_json(std::string_view text, const std::string& source, const ElementTable& table,
                                    const DatasetOptions& opts = {});
Result<Dataset> parse_dataset_csv(std::string_view text, const std::string& source, const ElementTable& table,
                                  const DatasetOptions& opts = {});

// Writes "id,composition,<target>" through an AtomicFile, with a '#' provenance line.
Status write_dataset_csv(const std::string& path, const Dataset& d, const std::string& provenance);

// Folds new measurements into a data set, keyed by reduced formula: a measurement replaces the
// target of an earlier row of the same formula (the last measurement wins), a new formula is
// appended with id "lab-<its id>". Both must have targets.
struct MergeCounts {
  size_t replaced = 0, appended = 0;
};
MergeCounts merge_measurements(Dataset& base, const Dataset& measurements, const ElementTable& table);

}  // namespace fragua::materials
