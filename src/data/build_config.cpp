// SPDX-License-Identifier: Apache-2.0
// YAML configuration of `fragua corpus build`.
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <set>

#include "fragua/data/pipeline.h"

namespace fragua::data {
namespace {

// MinHash permutations per document (bands x rows): each costs a hash per shingle; FineWeb uses
// 14 x 8 = 112, and 1024 leaves room for experiments.
constexpr int64_t kMaxDedupPermutations = 1024;
// Words per shingle: 5 is usual (FineWeb); past a few dozen every shingle is unique.
constexpr int kMaxShingleWords = 64;
// The dedup index is allocated whole at start; 1 TiB keeps memory_mb * 2^20 far from overflow.
constexpr int64_t kMaxDedupMemoryMb = int64_t{1} << 20;

Status check_keys(const YAML::Node& n, const std::string& where, std::set<std::string> allowed) {
  if (!n.IsMap()) return invalid_argument_error("{}: expected a mapping", where);
  for (const auto& kv : n) {
    std::string k = kv.first.as<std::string>();
    if (!allowed.count(k)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return invalid_argument_error("{}: line {}: unknown key '{}' (expected one of: {})", where,
                                    kv.first.Mark().line + 1, k, list);
    }
  }
  return ok_status();
}

template <typename T>
void get(const YAML::Node& n, const char* key, T& out) {
  if (n[key]) out = n[key].as<T>();
}

// A stage is `name: false`, `name: true`, or `name: {enabled: ..., options...}`. Returns the
// options mapping, or an undefined node.
YAML::Node stage_enabled(const YAML::Node& stages, const char* name, bool& enabled) {
  const YAML::Node node = stages[name];
  if (!node.IsDefined() || node.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
  if (node.IsScalar()) {
    enabled = node.as<bool>();
    return YAML::Node(YAML::NodeType::Undefined);
  }
  enabled = true;
  if (node["enabled"]) enabled = node["enabled"].as<bool>();
  return node;
}

}  // namespace

Result<BuildConfig> parse_build_config(const std::string& text, const std::string& path) {
  BuildConfig c;
  c.provenance = text;
  try {
    const YAML::Node root = YAML::Load(text);
    FRAGUA_TRY(check_keys(root, path, {"inputs", "output", "threads", "stages"}));
    if (!root["inputs"] || !root["output"])
      return invalid_argument_error("{}: 'inputs' and 'output' are required", path);
    if (root["inputs"].IsScalar())
      c.inputs.push_back(root["inputs"].as<std::string>());
    else
      c.inputs = root["inputs"].as<std::vector<std::string>>();
    c.output = root["output"].as<std::string>();
    get(root, "threads", c.threads);
    const YAML::Node st = root["stages"];
    if (!st.IsDefined() || st.IsNull()) return c;
    FRAGUA_TRY(check_keys(st, path + ": stages", {"clean", "langid", "quality", "dedup", "pii"}));
    if (const YAML::Node n = stage_enabled(st, "clean", c.clean); n.IsDefined()) {
      FRAGUA_TRY(check_keys(n, path + ": stages.clean", {"enabled", "nfc", "software_strings", "collapse_whitespace"}));
      get(n, "nfc", c.clean_options.nfc);
      get(n, "software_strings", c.clean_options.software_strings);
      get(n, "collapse_whitespace", c.clean_options.collapse_whitespace);
    }
    if (const YAML::Node n = stage_enabled(st, "langid", c.langid); n.IsDefined()) {
      FRAGUA_TRY(check_keys(n, path + ": stages.langid", {"enabled", "model", "keep", "min_confidence"}));
      get(n, "model", c.langid_model);
      get(n, "keep", c.keep_langs);
      get(n, "min_confidence", c.min_lang_confidence);
      if (!(c.min_lang_confidence >= 0 && c.min_lang_confidence <= 1))
        return invalid_argument_error("{}: stages.langid.min_confidence: {} is outside [0, 1]", path,
                                      c.min_lang_confidence);
    }
    if (const YAML::Node n = stage_enabled(st, "quality", c.quality); n.IsDefined()) {
      FRAGUA_TRY(check_keys(n, path + ": stages.quality",
                            {"enabled", "min_words", "max_words", "max_digit_ratio", "max_dup_line_frac",
                             "min_stop_words", "min_alpha_words", "repetition_rules"}));
      auto& q = c.quality_options;
      get(n, "min_words", q.min_words);
      get(n, "max_words", q.max_words);
      get(n, "max_digit_ratio", q.max_digit_ratio);
      get(n, "max_dup_line_frac", q.max_dup_line_frac);
      get(n, "min_stop_words", q.min_stop_words);
      get(n, "min_alpha_words", q.min_alpha_words);
      bool repetition = true;
      get(n, "repetition_rules", repetition);
      if (!repetition) disable_repetition_rules(q);
      for (double v : {q.max_digit_ratio, q.max_dup_line_frac, q.min_alpha_words})
        if (!(v >= 0 && v <= 1))
          return invalid_argument_error("{}: stages.quality: ratios must lie in [0, 1] (found {})", path, v);
    }
    if (const YAML::Node n = stage_enabled(st, "dedup", c.dedup); n.IsDefined()) {
      FRAGUA_TRY(check_keys(n, path + ": stages.dedup",
                            {"enabled", "exact", "near", "shingle_words", "bands", "rows", "memory_mb"}));
      auto& d = c.dedup_options;
      get(n, "exact", d.exact);
      get(n, "near", d.near);
      get(n, "shingle_words", d.shingle_words);
      get(n, "bands", d.bands);
      get(n, "rows", d.rows);
      int64_t memory_mb = static_cast<int64_t>(d.memory_mb);
      get(n, "memory_mb", memory_mb);
      // The product in 64 bits: bands 4 x rows 2^30 wraps to 0 in an int.
      if (d.bands < 1 || d.rows < 1 || int64_t{d.bands} * int64_t{d.rows} > kMaxDedupPermutations ||
          d.shingle_words < 1 || d.shingle_words > kMaxShingleWords)
        return invalid_argument_error(
            "{}: stages.dedup: bands, rows and shingle_words must be positive, bands*rows at most {}"
            " and shingle_words at most {} (bands {}, rows {}, shingle_words {})",
            path, kMaxDedupPermutations, kMaxShingleWords, d.bands, d.rows, d.shingle_words);
      if (memory_mb < 1 || memory_mb > kMaxDedupMemoryMb)
        return invalid_argument_error("{}: stages.dedup.memory_mb: {} is outside [1, {}]", path, memory_mb,
                                      kMaxDedupMemoryMb);
      d.memory_mb = static_cast<size_t>(memory_mb);
    }
    if (const YAML::Node n = stage_enabled(st, "pii", c.pii); n.IsDefined()) {
      FRAGUA_TRY(check_keys(n, path + ": stages.pii", {"enabled", "kinds"}));
      if (n["kinds"]) {
        c.pii_options.kinds = 0;
        for (const auto& k : n["kinds"].as<std::vector<std::string>>()) {
          int found = -1;
          for (int i = 0; i < kPiiKindCount; ++i)
            if (k == pii_kind_name(static_cast<PiiKind>(i))) found = i;
          if (found < 0) return invalid_argument_error("{}: stages.pii.kinds: unknown kind '{}'", path, k);
          c.pii_options.kinds |= 1u << found;
        }
      }
    }
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's parser recurses per level and stops at 2000 (depthguard.h) with "bad file".
    return invalid_argument_error("{}: line {}, column {}: nested too deeply", path, e.mark.line + 1,
                                  e.mark.column + 1);
  } catch (const YAML::Exception& e) {
    return invalid_argument_error("{}: line {}, column {}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  return c;
}

}  // namespace fragua::data
