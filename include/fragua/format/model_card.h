// SPDX-License-Identifier: Apache-2.0
// The general.* keys that tools show on a model card (llama.cpp's gguf-py Keys.General: name,
// basename, size_label, license, languages, source.url), written alike by every command that
// makes a GGUF model: export, convert, and quantize (which copies them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fragua::format {

class GgufWriter;

struct ModelCard {
  std::string name;        // general.name: "fragua-25M"
  std::string basename;    // general.basename: the name without its size, "fragua"
  std::string size_label;  // general.size_label: size_label(n_params)
  std::string license;     // general.license: an SPDX id in lower case, "apache-2.0"
  std::vector<std::string> languages;  // general.languages: ISO 639-1 codes
  std::string source_url;  // general.source.url: where a converted model came from
};

// The four languages Fragua's own models are trained for.
inline const std::vector<std::string>& fragua_languages() {
  static const std::vector<std::string> k{"es", "ca", "eu", "gl"};
  return k;
}

// A parameter count as gguf-py's model_weight_count_rounded_notation writes it: K, M, B or T
// with at least two significant digits ("164K", "25M", "1.1B", "8.0B").
std::string size_label(uint64_t n_params);

// Sets each non-empty field under its key.
void set_model_card(GgufWriter& w, const ModelCard& card);

}  // namespace fragua::format
