// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/dataset.h"
#include "fragua/base/json.h"

#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "fragua/base/decompress.h"
#include "fragua/base/file.h"
#include "fragua/materials/csv_reader.h"
#include "fragua/materials/csv_writer.h"

namespace fragua::materials {

namespace {

bool ends_with(std::string_view s, std::string_view suf) {
  return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf;
}

// Datasets are MBs (Matbench's composition tasks: under 10 MB as JSON); 1 GiB is a bomb guard,
// for the file and for what it decompresses to, well before memory runs out.
constexpr uint64_t kMaxDatasetBytes = uint64_t{1} << 30;

}  // namespace

Result<Dataset> parse_matbench_json(std::string_view text, const std::string& source, const ElementTable& table,
                                    const DatasetOptions& opts) {
  nlohmann::json j = FRAGUA_TRY(parse_json(text, source));
  if (!j.is_object() || !j.contains("columns") || !j.contains("data") || !j["columns"].is_array() ||
      !j["data"].is_array())
    return corruption_error("{}: not a Matbench dataset (needs \"columns\" and \"data\" arrays)", source);
  const auto& cols = j["columns"];
  int c_formula = -1, c_target = -1;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (!cols[i].is_string()) return corruption_error("{}: columns[{}] is not a string", source, i);
    std::string n = cols[i];
    if (opts.formula_column.empty() ? (n == "composition" || n == "formula") : n == opts.formula_column)
      c_formula = static_cast<int>(i);
    else if (!opts.ignore_target && (opts.target_column.empty() || n == opts.target_column))
      c_target = static_cast<int>(i);
  }
  if (c_formula < 0) return invalid_argument_error("{}: no composition column", source);
  if (c_target < 0 && opts.require_target && !opts.ignore_target)
    return invalid_argument_error("{}: no target column", source);
  Dataset d;
  d.source = source;
  if (c_target >= 0) d.target_name = cols[static_cast<size_t>(c_target)];
  const auto& data = j["data"];
  const nlohmann::json* index = j.contains("index") && j["index"].is_array() ? &j["index"] : nullptr;
  for (size_t r = 0; r < data.size(); ++r) {
    const auto& row = data[r];
    if (!row.is_array() || row.size() != cols.size())
      return corruption_error("{}: data[{}] does not have {} fields", source, r, cols.size());
    const auto& f = row[static_cast<size_t>(c_formula)];
    if (!f.is_string()) return corruption_error("{}: data[{}]: composition is not a string", source, r);
    auto comp = parse_formula(f.get<std::string>(), table);
    if (!comp.ok() && opts.skip_invalid) {
      d.skipped.push_back(fmt::format("{}: data[{}]: {}", source, r, comp.error().message()));
      continue;
    }
    if (!comp.ok()) return std::move(comp).error().with_context(fmt::format("{}: data[{}]", source, r));
    std::string id = fmt::format("{}", r);
    if (index && r < index->size()) {
      const auto& v = (*index)[r];
      if (!v.is_string() && !v.is_number())
        return corruption_error("{}: index[{}] is {}, not a string or a number", source, r, json_preview(v));
      id = v.is_string() ? v.get<std::string>() : v.dump();
    }
    if (c_target >= 0) {
      const auto& t = row[static_cast<size_t>(c_target)];
      if (t.is_boolean())
        d.y.push_back(t.get<bool>() ? 1.0 : 0.0);
      else if (t.is_number())
        d.y.push_back(t.get<double>());
      else
        return corruption_error("{}: data[{}]: target is not a number", source, r);
    }
    d.ids.push_back(std::move(id));
    d.lines.push_back(r);
    d.formulas.push_back(f.get<std::string>());
    d.comps.push_back(std::move(*comp));
  }
  if (d.size() == 0) return invalid_argument_error("{}: no rows in data[]", source);
  return d;
}

Result<Dataset> parse_dataset_csv(std::string_view text, const std::string& source, const ElementTable& table,
                                  const DatasetOptions& opts) {
  // Row by row: the header and every row are checked as they are read.
  auto reader = FRAGUA_TRY(CsvReader::open(text, source));
  const CsvTable& csv = reader.table();
  int c_formula = -1, c_target = -1, c_id = -1;
  for (size_t i = 0; i < csv.header.size(); ++i) {
    const std::string& n = csv.header[i].text;
    if (opts.formula_column.empty() ? (n == "composition" || n == "formula") : n == opts.formula_column)
      c_formula = static_cast<int>(i);
    else if (n == "id" || n == "mbid")
      c_id = static_cast<int>(i);
    else if (!opts.ignore_target && (opts.target_column.empty() || n == opts.target_column))
      c_target = static_cast<int>(i);
  }
  if (c_formula < 0)
    return invalid_argument_error("{}:1: no formula column ('{}')", source,
                                  opts.formula_column.empty() ? "composition' or 'formula" : opts.formula_column);
  if (!opts.ignore_target && !opts.target_column.empty() && c_target < 0)
    return invalid_argument_error("{}:1: no column '{}'", source, opts.target_column);
  if (c_target < 0 && opts.require_target && !opts.ignore_target)
    return invalid_argument_error("{}:1: no target column", source);
  Dataset d;
  d.source = source;
  if (c_target >= 0) d.target_name = csv.header[static_cast<size_t>(c_target)].text;
  std::vector<CsvField> row;
  for (size_t r = 0; FRAGUA_TRY(reader.next(row)); ++r) {
    const CsvField& f = row[static_cast<size_t>(c_formula)];
    auto comp = parse_formula(f.text, table);
    if (!comp.ok() && opts.skip_invalid) {
      d.skipped.push_back(fmt::format("{}: {}", csv.where(f), comp.error().message()));
      continue;
    }
    if (!comp.ok()) return std::move(comp).error().with_context(csv.where(f));
    if (c_target >= 0) {
      auto y = csv.number(row[static_cast<size_t>(c_target)], d.target_name);
      if (!y.ok() && opts.skip_invalid) {
        d.skipped.push_back(y.error().message());
        continue;
      }
      d.y.push_back(FRAGUA_TRY(std::move(y)));
    }
    d.ids.push_back(c_id >= 0 ? std::move(row[static_cast<size_t>(c_id)].text) : std::to_string(r));
    d.lines.push_back(static_cast<size_t>(f.line));
    d.formulas.push_back(f.text);
    d.comps.push_back(std::move(*comp));
  }
  if (d.size() == 0)
    return invalid_argument_error("{}: no data rows after the header{}", source,
                                  d.skipped.empty() ? "" : fmt::format(" ({} invalid rows skipped)", d.skipped.size()));
  return d;
}

std::string Dataset::where(size_t i) const {
  if (i >= lines.size()) return fmt::format("row {}", i + 1);
  // Matbench JSON rows are data[] indices; CSV rows are lines (the header is line 1 or later).
  if (source.ends_with(".json") || source.find(".json.") != std::string::npos)
    return fmt::format("{}: data[{}]", source, lines[i]);
  return fmt::format("{}:{}", source, lines[i]);
}

Status check_binary_labels(const Dataset& d) {
  for (size_t i = 0; i < d.y.size(); ++i)
    if (d.y[i] != 0 && d.y[i] != 1)
      return invalid_argument_error("{}: '{}' (id {}): a classification label is 0 or 1, got {}", d.where(i),
                                    i < d.formulas.size() ? d.formulas[i] : "", i < d.ids.size() ? d.ids[i] : "",
                                    d.y[i]);
  return ok_status();
}

Result<Dataset> read_dataset(const std::string& path, const ElementTable& table, const DatasetOptions& opts) {
  if (auto size = Env::posix().file_size(path); size.ok() && *size > kMaxDatasetBytes)
    return resource_exhausted_error("{}: {} bytes is more than the {}-byte limit for a dataset", path, *size,
                                    kMaxDatasetBytes);
  auto raw = FRAGUA_TRY(read_file(path));
  if (ends_with(path, ".gz") || ends_with(path, ".bz2") || ends_with(path, ".zst")) {
    DecompressLimits limits;
    limits.max_output = kMaxDatasetBytes;
    // By magic; data with none is decoded as its extension says, so the error is the codec's
    // ("corrupt gzip data at compressed offset 0"), not a silent attempt as text.
    Compression c = detect_compression(raw);
    if (c == Compression::none)
      c = ends_with(path, ".gz") ? Compression::gzip : ends_with(path, ".bz2") ? Compression::bzip2 : Compression::zstd;
    raw = FRAGUA_TRY(decompress_all(raw, path, limits, c));
  }
  std::string_view base = path;
  for (std::string_view suf : {".gz", ".bz2", ".zst"})
    if (ends_with(base, suf)) base.remove_suffix(suf.size());
  if (ends_with(base, ".json")) return parse_matbench_json(raw, path, table, opts);
  return parse_dataset_csv(raw, path, table, opts);
}

Status write_dataset_csv(const std::string& path, const Dataset& d, const std::string& provenance) {
  return write_file_atomic(path, dataset_csv(d, provenance));
}

std::string dataset_csv(const Dataset& d, const std::string& provenance) {
  CsvWriter w;
  w.comment(provenance);
  w.value("id").value("composition").text(d.target_name.empty() ? "target" : d.target_name).end_row();
  for (size_t i = 0; i < d.size(); ++i) {
    w.text(d.ids[i]).text(d.formulas[i]);
    if (i < d.y.size())
      w.num(d.y[i]);
    else
      w.value("");
    w.end_row();
  }
  return w.str();
}

MergeCounts merge_measurements(Dataset& base, const Dataset& add, const ElementTable& table) {
  std::map<std::string, size_t> where;
  for (size_t i = 0; i < base.size(); ++i) where[base.comps[i].reduced_formula(table)] = i;
  MergeCounts n;
  for (size_t i = 0; i < add.size(); ++i) {
    std::string key = add.comps[i].reduced_formula(table);
    if (auto it = where.find(key); it != where.end()) {
      base.y[it->second] = add.y[i];
      ++n.replaced;
    } else {
      where[key] = base.size();
      base.ids.push_back("lab-" + add.ids[i]);
      base.formulas.push_back(add.formulas[i]);
      base.comps.push_back(add.comps[i]);
      base.y.push_back(add.y[i]);
      ++n.appended;
    }
  }
  return n;
}

}  // namespace fragua::materials
