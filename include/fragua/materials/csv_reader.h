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
  std::string source;                         // path or "<memory>" for messages
  std::vector<std::string> comments;          // leading '#' lines, without the '#'
  std::vector<CsvField> header;
  std::vector<std::vector<CsvField>> rows;    // every row has header.size() fields

  // Index of a header column, or an error naming the file and the columns present.
  Result<size_t> column(std::string_view name) const;
  // "data.csv:12:7"
  std::string where(const CsvField& f) const;
  // Parses a number or reports "data.csv:12:7: column 'gap': 'abc' is not a number".
  Result<double> number(const CsvField& f, std::string_view column_name) const;
};

Result<CsvTable> parse_csv(std::string_view text, const std::string& source);
Result<CsvTable> read_csv(const std::string& path);

// Quotes a field when it needs it.
std::string csv_escape(std::string_view s);

}  // namespace fragua::materials
