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

std::string CsvTable::where(const CsvField& f) const {
  return fmt::format("{}:{}:{}", source, f.line, f.column);
}

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
          if (pos < text.size() && text[pos] == '"') { f.text += '"'; ++pos; continue; }
          break;
        }
        if (c == '\n') { ++line; line_start = pos; }
        f.text += c;
      }
      if (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
        return corruption_error("{}:{}:{}: text after a closing quote", source, line,
                                pos - line_start + 1);
    } else {
      while (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
        f.text += text[pos++];
    }
    out.push_back(std::move(f));
    if (pos < text.size() && text[pos] == ',') { ++pos; continue; }
    if (pos < text.size() && text[pos] == '\r') ++pos;
    if (pos < text.size() && text[pos] == '\n') ++pos;
    ++line;
    return ok_status();
  }
}

}  // namespace

Result<CsvTable> parse_csv(std::string_view text, const std::string& source) {
  CsvTable t;
  t.source = source;
  size_t pos = 0;
  int line = 1;
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
  std::vector<CsvField> rec;
  while (pos < text.size()) {
    if (text[pos] == '\n' || text[pos] == '\r') {  // blank line
      if (text[pos] == '\r') ++pos;
      if (pos < text.size() && text[pos] == '\n') ++pos;
      ++line;
      continue;
    }
    int rec_line = line;
    FRAGUA_TRY(parse_record(text, pos, line, rec, source));
    if (rec.size() != t.header.size())
      return corruption_error("{}:{}: {} fields, the header has {}", source, rec_line, rec.size(),
                              t.header.size());
    t.rows.push_back(rec);
  }
  return t;
}

Result<CsvTable> read_csv(const std::string& path) {
  auto text = FRAGUA_TRY(read_file(path));
  return parse_csv(text, path);
}

std::string csv_escape(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace fragua::materials
