// SPDX-License-Identifier: Apache-2.0
// Out-of-fold gate probabilities of Fragua's extremely randomized trees (materials/extra_trees.h)
// on the folds of a `fragua materials cv --predictions` file, for bench/materials_third_family.py
// (--p-third), so that the offline three-family probe can use this implementation instead of
// scikit-learn's.
//   bench_materials_extra_trees_oof OOF.csv FEATURES.csv SEED [TREES 500] [MAX_FEATURES 0.3] > p.csv
// FEATURES.csv is `fragua materials featurize` of the same data (same rows, same order; its last
// column is the target). Writes "id,p_third" and prints the training time to stderr.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fragua/materials/csv_reader.h"
#include "fragua/materials/extra_trees.h"

using namespace fragua;
using namespace fragua::materials;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s OOF.csv FEATURES.csv SEED [TREES] [MAX_FEATURES]\n", argv[0]);
    return 2;
  }
  auto oof = read_csv(argv[1]);
  auto feat = read_csv(argv[2]);
  if (!oof.ok() || !feat.ok()) {
    std::fprintf(stderr, "%s\n", (!oof.ok() ? oof.error() : feat.error()).to_string().c_str());
    return 1;
  }
  ExtraTreesConfig cfg;
  cfg.seed = static_cast<uint32_t>(std::atol(argv[3]));
  if (argc > 4) cfg.n_trees = std::atoi(argv[4]);
  if (argc > 5) cfg.max_features = std::atof(argv[5]);
  const size_t n = oof->rows.size();
  if (feat->rows.size() != n) {
    std::fprintf(stderr, "%zu rows against %zu\n", feat->rows.size(), n);
    return 1;
  }
  const size_t c_fold = *oof->column("fold"), c_target = *oof->column("target"), c_id = *oof->column("id");
  const size_t d = feat->header.size() - 3;  // id, composition, ..., target
  std::vector<float> x(n * d);
  std::vector<int> fold(n);
  std::vector<double> y(n);
  for (size_t i = 0; i < n; ++i) {
    if (feat->rows[i][0].text != oof->rows[i][c_id].text) {
      std::fprintf(stderr, "row %zu: ids differ\n", i);
      return 1;
    }
    for (size_t j = 0; j < d; ++j) {
      const std::string& t = feat->rows[i][j + 2].text;
      x[i * d + j] = t.empty() || t == "nan" || t == "NaN" ? NAN : std::strtof(t.c_str(), nullptr);
    }
    fold[i] = std::atoi(oof->rows[i][c_fold].text.c_str());
    y[i] = std::atof(oof->rows[i][c_target].text.c_str()) == 0 ? 1.0 : 0.0;  // label 1 = gap exactly 0
  }
  std::vector<double> p(n, 0.0);
  double seconds = 0;
  for (int k = 0; k < 5; ++k) {
    std::vector<float> xtr, xte;
    std::vector<double> ytr;
    std::vector<size_t> te;
    for (size_t i = 0; i < n; ++i) {
      auto& dst = fold[i] == k ? xte : xtr;
      dst.insert(dst.end(), x.begin() + static_cast<long>(i * d), x.begin() + static_cast<long>((i + 1) * d));
      if (fold[i] == k)
        te.push_back(i);
      else
        ytr.push_back(y[i]);
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto m = ExtraTreesClassifier::train(xtr, d, ytr, cfg);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!m.ok()) {
      std::fprintf(stderr, "%s\n", m.error().to_string().c_str());
      return 1;
    }
    auto q = m->predict_proba(xte, d);
    if (!q.ok()) return 1;
    for (size_t i = 0; i < te.size(); ++i) p[te[i]] = (*q)[i];
    std::fprintf(stderr, "fold %d: %zu trees, %zu nodes\n", k, m->n_trees(), m->n_nodes());
  }
  std::fprintf(stderr, "training %.1f s over 5 folds (%d trees, max_features %.2f)\n", seconds, cfg.n_trees,
               cfg.max_features);
  std::printf("id,p_third\n");
  for (size_t i = 0; i < n; ++i) std::printf("%s,%.9g\n", oof->rows[i][c_id].text.c_str(), p[i]);
  return 0;
}
