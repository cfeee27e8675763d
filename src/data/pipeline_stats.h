// SPDX-License-Identifier: Apache-2.0
// Per-language, per-stage statistics of a corpus build (internal header).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "fragua/data/pii.h"

namespace fragua::data {

struct LangStats {
  uint64_t in_docs = 0, in_bytes = 0, out_docs = 0, out_bytes = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> drops;  // "stage:reason" -> (docs, bytes)
  uint64_t pii[kPiiKindCount] = {};
};

struct BuildStats {
  std::map<std::string, LangStats> langs;
  uint64_t bad_records = 0, files = 0;

  void drop(const std::string& lang, const std::string& why, uint64_t bytes) {
    auto& d = langs[lang].drops[why];
    d.first++;
    d.second += bytes;
  }
  void merge(const BuildStats& o);
  nlohmann::json to_json() const;
  static BuildStats from_json(const nlohmann::json& j);
};

// report.md (table per language: in, drops by stage and reason, out, PII) and report.svg
// (stacked bars per language).
std::string build_report_markdown(const BuildStats& s);
std::string build_report_svg(const BuildStats& s);
// What `corpus build` prints on the terminal: one line per language (documents and MB in and
// out) and the most frequent drop reasons; the full table stays in report.md.
std::string build_report_summary(const BuildStats& s, const std::string& report_dir, size_t top_reasons = 3);

}  // namespace fragua::data
