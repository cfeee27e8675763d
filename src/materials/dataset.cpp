#include "fragua/base/json.h"
#include "fragua/materials/dataset.h"

#include <bzlib.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/materials/csv_reader.h"

namespace fragua::materials {

namespace {

bool ends_with(std::string_view s, std::string_view suf) {
  return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf;
}

constexpr size_t kMaxInflated = size_t{1} << 31;  // 2 GiB: a bomb guard, datasets are MBs

}  // namespace

Result<std::string> gunzip(std::string_view data, const std::string& source) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return io_error("{}: zlib init failed", source);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      size_t at = zs.total_in;
      inflateEnd(&zs);
      return corruption_error("{}: gzip data corrupt near byte {} ({})", source, at,
                              rc == Z_BUF_ERROR ? "truncated" : "bad data");
    }
    out.append(buf, sizeof(buf) - zs.avail_out);
    if (out.size() > kMaxInflated) {
      inflateEnd(&zs);
      return resource_exhausted_error("{}: inflates past 2 GiB", source);
    }
  }
  inflateEnd(&zs);
  return out;
}

Result<std::string> bunzip2(std::string_view data, const std::string& source) {
  bz_stream bz{};
  if (BZ2_bzDecompressInit(&bz, 0, 0) != BZ_OK) return io_error("{}: bzip2 init failed", source);
  bz.next_in = const_cast<char*>(data.data());
  bz.avail_in = static_cast<unsigned>(data.size());
  std::string out;
  char buf[1 << 16];
  int rc = BZ_OK;
  while (rc != BZ_STREAM_END) {
    bz.next_out = buf;
    bz.avail_out = sizeof(buf);
    rc = BZ2_bzDecompress(&bz);
    if (rc != BZ_OK && rc != BZ_STREAM_END) {
      size_t at = data.size() - bz.avail_in;
      BZ2_bzDecompressEnd(&bz);
      return corruption_error("{}: bzip2 data corrupt near byte {}", source, at);
    }
    out.append(buf, sizeof(buf) - bz.avail_out);
    if (rc == BZ_OK && bz.avail_in == 0 && bz.avail_out != 0) {
      BZ2_bzDecompressEnd(&bz);
      return corruption_error("{}: bzip2 data truncated at byte {}", source, data.size());
    }
    if (out.size() > kMaxInflated) {
      BZ2_bzDecompressEnd(&bz);
      return resource_exhausted_error("{}: inflates past 2 GiB", source);
    }
  }
  BZ2_bzDecompressEnd(&bz);
  return out;
}

Result<Dataset> parse_matbench_json(std::string_view text, const std::string& source,
                                    const ElementTable& table, const DatasetOptions& opts) {
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
    if (!comp.ok()) return std::move(comp).error().with_context(fmt::format("{}: data[{}]", source, r));
    std::string id = fmt::format("{}", r);
    if (index && r < index->size()) id = (*index)[r].is_string() ? (*index)[r].get<std::string>() : (*index)[r].dump();
    if (c_target >= 0) {
      const auto& t = row[static_cast<size_t>(c_target)];
      if (t.is_boolean()) d.y.push_back(t.get<bool>() ? 1.0 : 0.0);
      else if (t.is_number()) d.y.push_back(t.get<double>());
      else return corruption_error("{}: data[{}]: target is not a number", source, r);
    }
    d.ids.push_back(std::move(id));
    d.formulas.push_back(f.get<std::string>());
    d.comps.push_back(std::move(*comp));
  }
  return d;
}

Result<Dataset> parse_dataset_csv(std::string_view text, const std::string& source,
                                  const ElementTable& table, const DatasetOptions& opts) {
  auto csv = FRAGUA_TRY(parse_csv(text, source));
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
  if (c_target < 0 && opts.require_target && !opts.ignore_target) return invalid_argument_error("{}:1: no target column", source);
  Dataset d;
  d.source = source;
  if (c_target >= 0) d.target_name = csv.header[static_cast<size_t>(c_target)].text;
  for (size_t r = 0; r < csv.rows.size(); ++r) {
    const auto& row = csv.rows[r];
    const CsvField& f = row[static_cast<size_t>(c_formula)];
    auto comp = parse_formula(f.text, table);
    if (!comp.ok()) return std::move(comp).error().with_context(csv.where(f));
    if (c_target >= 0) d.y.push_back(FRAGUA_TRY(csv.number(row[static_cast<size_t>(c_target)], d.target_name)));
    d.ids.push_back(c_id >= 0 ? row[static_cast<size_t>(c_id)].text : std::to_string(r));
    d.formulas.push_back(f.text);
    d.comps.push_back(std::move(*comp));
  }
  return d;
}

Result<Dataset> read_dataset(const std::string& path, const ElementTable& table, const DatasetOptions& opts) {
  auto raw = FRAGUA_TRY(read_file(path));
  if (ends_with(path, ".gz")) raw = FRAGUA_TRY(gunzip(raw, path));
  else if (ends_with(path, ".bz2")) raw = FRAGUA_TRY(bunzip2(raw, path));
  std::string_view base = path;
  for (std::string_view suf : {".gz", ".bz2"})
    if (ends_with(base, suf)) base.remove_suffix(suf.size());
  if (ends_with(base, ".json")) return parse_matbench_json(raw, path, table, opts);
  return parse_dataset_csv(raw, path, table, opts);
}

Status write_dataset_csv(const std::string& path, const Dataset& d, const std::string& provenance) {
  std::string out = "# " + provenance + "\n";
  out += "id,composition," + csv_escape(d.target_name.empty() ? "target" : d.target_name) + "\n";
  for (size_t i = 0; i < d.size(); ++i) {
    out += csv_escape(d.ids[i]) + "," + csv_escape(d.formulas[i]) + ",";
    if (i < d.y.size()) out += fmt::format("{}", d.y[i]);
    out += "\n";
  }
  return write_file_atomic(path, out);
}

}  // namespace fragua::materials
