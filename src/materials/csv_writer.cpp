// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/csv_writer.h"

namespace fragua::materials {

std::string csv_text(std::string_view s) {
  std::string cell;
  // OWASP, "CSV Injection": prefix cells starting with = + - @ TAB CR by a single quote.
  if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
    cell = "'";
  cell += s;
  if (cell.find_first_of(",\"\n\r") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

CsvWriter& CsvWriter::comment(std::string_view text) {
  if (row_started_) end_row();
  out_ += "# ";
  for (char c : text) out_ += (c == '\n' || c == '\r') ? ' ' : c;
  out_ += '\n';
  return *this;
}

void CsvWriter::separator() {
  if (row_started_) out_ += ',';
  row_started_ = true;
}

CsvWriter& CsvWriter::text(std::string_view s) {
  separator();
  out_ += csv_text(s);
  return *this;
}

CsvWriter& CsvWriter::value(std::string_view formatted) {
  separator();
  out_ += formatted;
  return *this;
}

CsvWriter& CsvWriter::end_row() {
  out_ += '\n';
  row_started_ = false;
  return *this;
}

}  // namespace fragua::materials
