// SPDX-License-Identifier: Apache-2.0
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
  // Where each row came from: its 1-based line in a CSV file, its data[] index in Matbench JSON
  // (empty for data sets built in code). For messages about a row.
  std::vector<size_t> lines;
  // Rows left out under DatasetOptions::skip_invalid, one message each, in file order.
  std::vector<std::string> skipped;
  size_t size() const { return formulas.size(); }
  // "file:line" (CSV) or "file: data[i]" (JSON) of row i, else "row i".
  std::string where(size_t i) const;
};

struct DatasetOptions {
  std::string formula_column;  // "" = "composition" or "formula", whichever is present
  std::string target_column;   // "" = the last column that is not the id or the formula
  bool require_target = true;
  bool ignore_target = false;  // formulas only (candidate lists)
  // A row whose formula (or target) does not parse is left out and its error kept in
  // Dataset::skipped ("file:line:column: ..."), instead of failing the whole file.
  bool skip_invalid = false;
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

// Every target is 0 or 1 (binary classification); the error names the row's line, id and
// formula.
Status check_binary_labels(const Dataset& d);

// Writes "id,composition,<target>" through an AtomicFile, with a '#' provenance line.
Status write_dataset_csv(const std::string& path, const Dataset& d, const std::string& provenance);
std::string dataset_csv(const Dataset& d, const std::string& provenance);

// Folds new measurements into a data set, keyed by reduced formula: a measurement replaces the
// target of an earlier row of the same formula (the last measurement wins), a new formula is
// appended with id "lab-<its id>". Both must have targets.
struct MergeCounts {
  size_t replaced = 0, appended = 0;
};
MergeCounts merge_measurements(Dataset& base, const Dataset& measurements, const ElementTable& table);

}  // namespace fragua::materials
