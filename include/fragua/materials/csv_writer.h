// SPDX-License-Identifier: Apache-2.0
// The one CSV writer of materials/ (datasets, features, predictions, cross-validation, screening,
// suggestions). Text cells carry what users and downloaded datasets supply (ids, target names),
// and a spreadsheet runs a cell starting with '=', '+', '-' or '@' as a formula (CSV injection:
// `=HYPERLINK(...)`, `=cmd|...`); OWASP's rule is applied to every text cell: one starting with
// one of those, a tab or a carriage return gets a leading single quote, then RFC 4180 quoting.
// Numbers the program formats go in as values, untouched (a negative number stays a number).
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace fragua::materials {

// A text cell: neutralised (OWASP "CSV Injection") and quoted when it holds , " CR or LF.
std::string csv_text(std::string_view s);

class CsvWriter {
 public:
  // "# text" on a line of its own (line breaks in `text` become spaces).
  CsvWriter& comment(std::string_view text);
  CsvWriter& text(std::string_view s);
  // A cell the program formatted itself (a number, a flag, or empty): written as is.
  CsvWriter& value(std::string_view formatted);
  template <typename T>
  CsvWriter& num(const T& v) {
    return value(fmt::format("{}", v));
  }
  CsvWriter& end_row();
  const std::string& str() const { return out_; }

 private:
  void separator();
  std::string out_;
  bool row_started_ = false;
};

}  // namespace fragua::materials
