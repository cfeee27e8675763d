// SPDX-License-Identifier: Apache-2.0
#include "fragua/format/model_card.h"

#include <cmath>

#include <fmt/format.h>

#include "fragua/format/gguf.h"

namespace fragua::format {

std::string size_label(uint64_t n_params) {
  const double n = static_cast<double>(n_params);
  double scaled = n * 1e-3;
  const char* suffix = "K";
  if (n > 1e12) {
    scaled = n * 1e-12;
    suffix = "T";
  } else if (n > 1e9) {
    scaled = n * 1e-9;
    suffix = "B";
  } else if (n > 1e6) {
    scaled = n * 1e-6;
    suffix = "M";
  }
  // Digits of the rounded integer part (0 counts none, as gguf-py strips leading zeros), then
  // enough decimals for two significant digits. Python rounds halves to even; so does nearbyint.
  const auto whole = static_cast<uint64_t>(std::nearbyint(scaled));
  const int digits = whole == 0 ? 0 : static_cast<int>(fmt::format("{}", whole).size());
  const int decimals = std::max(2 - digits, 0);
  return fmt::format("{:.{}f}{}", scaled, decimals, suffix);
}

void set_model_card(GgufWriter& w, const ModelCard& c) {
  auto str = [&](const char* key, const std::string& v) {
    if (!v.empty()) w.set(key, GgufValue::of_string(v));
  };
  str("general.name", c.name);
  str("general.basename", c.basename);
  str("general.size_label", c.size_label);
  str("general.license", c.license);
  if (!c.languages.empty()) w.set("general.languages", GgufValue::of_strings(c.languages));
  str("general.source.url", c.source_url);
}

}  // namespace fragua::format
