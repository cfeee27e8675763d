// SPDX-License-Identifier: Apache-2.0
// Extremely randomized trees for binary classification (Geurts, Ernst & Wehenkel, "Extremely
// randomized trees", Mach. Learn. 63, 3-42 (2006)), the algorithm of scikit-learn's
// ExtraTreesClassifier: every tree sees all training rows; at each node up to max_features of the
// features are drawn at random (a feature constant in the node does not count), each gets one
// split threshold drawn uniformly between its minimum and maximum in the node, and the split with
// the largest decrease of Gini impurity is kept; nodes split until they are pure or hold fewer
// than min_samples_split rows. A leaf holds the fraction of label-1 rows that reached it, and the
// forest's probability is the mean over the trees.
//
// Why it is here: probed offline on the Matbench band gaps, these trees as a third gate beside
// the boosted trees and the attention model were the one change that moved the ensemble's
// cross-fitted error below 0.28 eV at two seeds (docs/benchmarks/materials.md, "A third family").
// No Debian package provides them (XGBoost's random-forest mode splits at the best threshold).
//
// Missing values (NaN) are replaced by the training column's mean, at training and prediction
// alike (scikit-learn's SimpleImputer before its ExtraTreesClassifier). Tree t draws from its own
// generator seeded with seed and t, so the forest does not depend on the thread count.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"

namespace fragua::materials {

struct ExtraTreesConfig {
  int n_trees = 500;
  double max_features = 0.3;  // fraction of the features drawn at a node: max(1, floor(f * n))
  int min_samples_split = 2;
  uint32_t seed = 42;
  int threads = 0;  // 0 = all cores
};

class ExtraTreesClassifier {
 public:
  // x row-major (rows = labels.size()), NaN for a missing value; labels 0 or 1. Errors on a bad
  // shape, a label other than 0/1, no rows or a setting out of range.
  static Result<ExtraTreesClassifier> train(const std::vector<float>& x, size_t n_features,
                                            const std::vector<double>& labels, const ExtraTreesConfig& cfg);
  // p(label 1) for each row of x (row-major, n_features columns). Errors on a width that differs
  // from the training data's.
  Result<std::vector<double>> predict_proba(const std::vector<float>& x, size_t n_features, int threads = 0) const;

  size_t n_features() const { return means_.size(); }
  size_t n_trees() const { return trees_.size(); }
  size_t n_nodes() const;

  // A self-contained binary form ("FRGXTRE1", little-endian): the means, then each tree's nodes.
  // parse() checks every count, index, feature and value before it accepts a byte; `name` appears
  // in its errors.
  std::string to_bytes() const;
  static Result<ExtraTreesClassifier> parse(std::string_view data, const std::string& name);

  // One tree as flat arrays; node 0 is the root, a leaf has feature -1, and children always come
  // after their parent (so a walk from the root ends).
  struct Tree {
    std::vector<int32_t> feature, left, right;
    std::vector<float> threshold, value;
  };

 private:
  std::vector<float> means_;
  std::vector<Tree> trees_;
};

}  // namespace fragua::materials
