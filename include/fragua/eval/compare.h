// SPDX-License-Identifier: Apache-2.0
// Comparing results JSON files (harness.h's results_json, or lm-evaluation-harness's own): the
// per-task, per-metric differences and whether each exceeds the combined standard error, and an
// SVG chart of the models per language.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/file.h"

namespace fragua::eval {

// One results file: a label for the model and its (task, metric) values.
struct ResultsFile {
  std::string label;  // config.model's file name, else the results file's name
  struct Entry {
    std::string task, language, metric;  // language: configs.{task}.metadata.language, else ""
    double value = 0;
    std::optional<double> stderr_;  // absent when the file says "N/A"
  };
  std::vector<Entry> entries;
};

// Reads the "results" of a results JSON: keys "METRIC,FILTER" with their "METRIC_stderr,FILTER".
// Errors name the file and the key.
Result<ResultsFile> parse_results(const nlohmann::json& j, const std::string& path);
Result<ResultsFile> load_results(const std::string& path, Env& env = Env::posix());

struct MetricDiff {
  std::string task, language, metric;
  double a = 0, b = 0, diff = 0;  // diff = b - a
  std::optional<double> combined_se;  // sqrt(se_a² + se_b²) when both files give one
  bool exceeds = false;               // |diff| > combined_se
};

// The (task, metric) pairs present in both, in A's order.
std::vector<MetricDiff> compare_results(const ResultsFile& a, const ResultsFile& b);

// A markdown table of the differences.
std::string compare_table(const std::vector<MetricDiff>& diffs, const std::string& label_a, const std::string& label_b);

// A grouped bar chart: one panel per metric, languages along x, one bar per model (the mean of
// the metric over that language's tasks) with ± its standard error (sqrt(Σ se²) / n) where every
// task has one. The legend sits above the panels, outside the data.
std::string compare_chart_svg(const std::vector<ResultsFile>& files);

}  // namespace fragua::eval
