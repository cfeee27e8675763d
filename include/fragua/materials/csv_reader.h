// SPDX-License-Identifier: Apache-2.0
// A small RFC 4180 CSV reader (quoted fields, "" escapes, CRLF or LF) that remembers where each
// field came from, so that errors can name line and column. Lines starting with '#' before the
// header are comments (our generated files carry their provenance there).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"

namespace fragua::materials {

struct CsvField {
  std::string text;
  int line = 0;    // 1-based
  int column = 0;  // 1-based, in bytes
};

struct CsvTable {
  std::string source;                 // path or "<memory>" for messages
  std::vector<std::string> comments;  // leading '#' lines, without the '#'
  std::vector<CsvField> header;
  std::vector<std::vector<CsvField>> rows;  // every row has header.size() fields

  // Index of a header column, or an error naming the file and the columns present.
  Result<size_t> column(std::string_view name) const;
  // "data.csv:12:7"
  std::string where(const CsvField& f) const;
  // Parses a number or reports "data.csv:12:7: column 'gap': 'abc' is not a number".
  Result<double> number(const CsvField& f, std::string_view column_name) const;
};

// Most fields a record may have: datasets have 2-3 columns, the element table about 40, the
// features file 150; a line of a million commas must not become a million fields in memory.
inline constexpr size_t kCsvMaxFields = 4096;

// Reads one record at a time, so a caller can check the header and each row as it comes (an
// error in row 1 of a 22 MB file is reported before the rest is read, and no table of every
// field is ever built).
class CsvReader {
 public:
  // Reads the byte-order mark, the leading '#' comments and the header.
  static Result<CsvReader> open(std::string_view text, const std::string& source);
  // Source, comments and header (rows stay empty): for column(), where() and number().
  const CsvTable& table() const { return t_; }
  // The next record into `row` (as many fields as the header); false at the end.
  Result<bool> next(std::vector<CsvField>& row);

 private:
  CsvReader(std::string_view text, CsvTable t) : text_(text), t_(std::move(t)) {}
  std::string_view text_;
  CsvTable t_;
  size_t pos_ = 0;
  int line_ = 1;
};

// The whole table (the element table, small files).
Result<CsvTable> parse_csv(std::string_view text, const std::string& source);
Result<CsvTable> read_csv(const std::string& path);

}  // namespace fragua::materials
