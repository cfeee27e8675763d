// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/parse.h"

#include <charconv>
#include <cmath>

namespace fragua {

Result<int64_t> parse_int(std::string_view text, std::string_view what, int64_t lo, int64_t hi) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec == std::errc::invalid_argument || p != text.data() + text.size())
    return invalid_argument_error("{}: '{}' is not an integer", what, text);
  if (ec == std::errc::result_out_of_range || v < lo || v > hi)
    return invalid_argument_error("{}: {} is outside [{}, {}]", what, text, lo, hi);
  return v;
}

Result<double> parse_double(std::string_view text, std::string_view what) {
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v))
    return invalid_argument_error("{}: '{}' is not a finite number", what, text);
  return v;
}

Result<std::vector<std::string>> parse_list(std::string_view text, std::string_view what) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    size_t comma = text.find(',', pos);
    std::string_view item = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (item.empty()) return invalid_argument_error("{}: empty item at offset {} of '{}'", what, pos, text);
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return out;
}

Result<std::vector<std::pair<std::string, double>>> parse_mixture(std::string_view text, std::string_view what) {
  std::vector<std::pair<std::string, double>> mix;
  size_t pos = 0;
  double sum = 0;
  for (const auto& item : FRAGUA_TRY(parse_list(text, what))) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      return invalid_argument_error("{}: '{}' at offset {} is not NAME=WEIGHT", what, item, pos);
    std::string name = item.substr(0, eq);
    auto w = parse_double(std::string_view(item).substr(eq + 1), fmt::format("{}: weight of '{}'", what, name));
    if (!w.ok()) return w.error();
    if (*w < 0) return invalid_argument_error("{}: weight of '{}' must be >= 0", what, name);
    for (const auto& m : mix)
      if (m.first == name) return invalid_argument_error("{}: '{}' appears twice", what, name);
    mix.emplace_back(std::move(name), *w);
    sum += *w;
    pos += item.size() + 1;
  }
  if (!(sum > 0)) return invalid_argument_error("{}: every weight is 0", what);
  return mix;
}

}  // namespace fragua
