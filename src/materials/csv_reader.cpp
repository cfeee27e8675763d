// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/csv_reader.h"

#include <charconv>
#include <cmath>

#include "fragua/base/file.h"

namespace fragua::materials {

Result<size_t> CsvTable::column(std::string_view name) const {
  std::string present;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i].text == name) return i;
    present += (i ? ", " : "") + header[i].text;
  }
  return invalid_argument_error("{}: no column '{}' in the header (columns: {})", source, name, present);
}

std::string CsvTable::where(const CsvField& f) const { return fmt::format("{}:{}:{}", source, f.line, f.column); }

Result<double> CsvTable::number(const CsvField& f, std::string_view column_name) const {
  std::string_view s = f.text;
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.empty()) return invalid_argument_error("{}: column '{}' is empty", where(f), column_name);
  if (s == "True" || s == "true") return 1.0;
  if (s == "False" || s == "false") return 0.0;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v))
    return invalid_argument_error("{}: column '{}': '{}' is not a number", where(f), column_name, f.text);
  return v;
}

namespace {

// Line and column numbers are ints: text past 1 GiB is refused before they could overflow.
constexpr size_t kCsvMaxBytes = size_t{1} << 30;

// Splits one record starting at `pos`; advances pos past the line end.
Status parse_record(std::string_view text, size_t& pos, int& line, std::vector<CsvField>& out,
                    const std::string& source) {
  out.clear();
  size_t line_start = pos;
  for (;;) {
    CsvField f;
    f.line = line;
    f.column = static_cast<int>(pos - line_start) + 1;
    if (pos < text.size() && text[pos] == '"') {
      ++pos;
      for (;;) {
        if (pos >= text.size())
          return corruption_error("{}:{}:{}: quoted field never closed", source, f.line, f.column);
        char c = text[pos++];
        if (c == '"') {
          if (pos < text.size() && text[pos] == '"') {
            f.text += '"';
            ++pos;
            continue;
          }
          break;
        }
        if (c == '\n') {
          ++line;
          line_start = pos;
        }
        f.text += c;
      }
      if (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
        return corruption_error("{}:{}:{}: text after a closing quote", source, line, pos - line_start + 1);
    } else {
      while (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') f.text += text[pos++];
    }
    out.push_back(std::move(f));
    if (out.size() > kCsvMaxFields)
      return corruption_error("{}:{}: more than {} fields in one record", source, line, kCsvMaxFields);
    if (pos < text.size() && text[pos] == ',') {
      ++pos;
      continue;
    }
    if (pos < text.size() && text[pos] == '\r') ++pos;
    if (pos < text.size() && text[pos] == '\n') ++pos;
    ++line;
    return ok_status();
  }
}

}  // namespace

Result<CsvReader> CsvReader::open(std::string_view text, const std::string& source) {
  CsvTable t;
  t.source = source;
  size_t pos = 0;
  int line = 1;
  if (text.size() > kCsvMaxBytes)
    return resource_exhausted_error("{}: {} bytes of CSV is more than the {}-byte limit", source, text.size(),
                                    kCsvMaxBytes);
  if (text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;  // UTF-8 byte-order mark
  while (pos < text.size() && text[pos] == '#') {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view c = text.substr(pos + 1, end - pos - 1);
    if (!c.empty() && c.back() == '\r') c.remove_suffix(1);
    t.comments.emplace_back(c);
    pos = end + (end < text.size() ? 1 : 0);
    ++line;
  }
  if (pos >= text.size()) return corruption_error("{}: no header line", source);
  FRAGUA_TRY(parse_record(text, pos, line, t.header, source));
  CsvReader r(text, std::move(t));
  r.pos_ = pos;
  r.line_ = line;
  return r;
}

Result<bool> CsvReader::next(std::vector<CsvField>& row) {
  while (pos_ < text_.size()) {
    if (text_[pos_] == '\n' || text_[pos_] == '\r') {  // blank line
      if (text_[pos_] == '\r') ++pos_;
      if (pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
      ++line_;
      continue;
    }
    int rec_line = line_;
    FRAGUA_TRY(parse_record(text_, pos_, line_, row, t_.source));
    if (row.size() != t_.header.size())
      return corruption_error("{}:{}: {} fields, the header has {}", t_.source, rec_line, row.size(), t_.header.size());
    return true;
  }
  return false;
}

Result<CsvTable> parse_csv(std::string_view text, const std::string& source) {
  auto reader = FRAGUA_TRY(CsvReader::open(text, source));
  CsvTable t = reader.table();
  std::vector<CsvField> rec;
  while (FRAGUA_TRY(reader.next(rec))) t.rows.push_back(rec);
  return t;
}

Result<CsvTable> read_csv(const std::string& path) {
  auto text = FRAGUA_TRY(read_file(path));
  return parse_csv(text, path);
}

}  // namespace fragua::materials
