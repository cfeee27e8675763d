// SPDX-License-Identifier: Apache-2.0
// `fragua corpus build CONFIG`: the stages chained (read -> clean -> langid -> quality ->
// dedup -> pii -> JSONL shards), multi-threaded within a file, input files split across MPI
// ranks with the de-duplication index replicated on every rank (each round, the ranks exchange
// the keys of their new documents and apply the same decisions in the same order). Resumable:
// each input file's shard, dedup keys and statistics are committed atomically, keyed by the
// file's path, size and modification time (never by its position in the list); a rerun loads
// the finished files' keys first, processes the rest (including files added since) and removes
// the outputs of inputs that changed or went away. Hidden files, write temporaries and the
// output folder are not inputs.
#pragma once

#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/data/clean.h"
#include "fragua/data/dedup.h"
#include "fragua/data/pii.h"
#include "fragua/data/quality.h"

namespace fragua::data {

struct BuildConfig {
  std::vector<std::string> inputs;  // files or folders (searched recursively, sorted)
  std::string output;               // shards/, report.md, report.json, report.svg
  int threads = 0;
  bool clean = true;
  CleanOptions clean_options;
  bool langid = true;
  std::string langid_model;             // "" = the shipped model
  std::vector<std::string> keep_langs;  // base languages kept; empty = all
  double min_lang_confidence = 0.0;
  bool quality = true;
  QualityOptions quality_options;
  bool dedup = true;
  DedupOptions dedup_options;
  bool pii = true;
  PiiOptions pii_options;
  std::string provenance;  // the config text, recorded in the report
  Env* env = nullptr;      // access to the output folder (nullptr: Env::posix()); inputs are mapped
};

// YAML (see docs/data.md for the keys); unknown keys are errors naming the key.
Result<BuildConfig> parse_build_config(const std::string& yaml_text, const std::string& path);
Status run_build(const BuildConfig& config);

}  // namespace fragua::data
