// SPDX-License-Identifier: Apache-2.0
#include "materials/ubj_check.h"

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace fragua::materials {
namespace {

class UbjChecker {
 public:
  UbjChecker(std::string_view d, std::string_view origin) : d_(d), origin_(origin) {}

  Status run() {
    if (d_.empty()) return fail("empty UBJSON value");
    FRAGUA_TRY(value(next(), 0));
    if (pos_ != d_.size()) return fail("bytes after the end of the UBJSON value");
    return ok_status();
  }

 private:
  Error fail(std::string_view why) const { return corruption_error("{}: byte offset {}: {}", origin_, pos_, why); }
  char next() { return pos_ < d_.size() ? d_[pos_++] : '\0'; }
  uint64_t remaining() const { return d_.size() - pos_; }
  Status skip(uint64_t n) {
    if (n > remaining()) return fail("a length runs past the end of the data");
    pos_ += static_cast<size_t>(n);
    return ok_status();
  }
  // Payload bytes of a fixed-size type, or -1.
  static int fixed_size(char t) {
    switch (t) {
      case 'Z':
      case 'N':
      case 'T':
      case 'F':
        return 0;
      case 'i':
      case 'U':
      case 'C':
        return 1;
      case 'I':
        return 2;
      case 'l':
      case 'd':
        return 4;
      case 'L':
      case 'D':
        return 8;
      default:
        return -1;
    }
  }
  // A length or count: an integer value with its marker, non-negative.
  Result<uint64_t> length() {
    const char t = next();
    const int n = (t == 'i' || t == 'U' || t == 'I' || t == 'l' || t == 'L') ? fixed_size(t) : -1;
    if (n < 0) return fail("expected an integer length");
    if (static_cast<uint64_t>(n) > remaining()) return fail("a length runs past the end of the data");
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(d_[pos_ + static_cast<size_t>(i)]);
    const bool negative = t != 'U' && n > 0 && (static_cast<uint8_t>(d_[pos_]) & 0x80);
    pos_ += static_cast<size_t>(n);
    if (negative) return fail("negative length");
    return v;
  }
  Status value(char t, int depth) {
    if (int n = fixed_size(t); n >= 0) return skip(static_cast<uint64_t>(n));
    switch (t) {
      case 'S':
      case 'H':
        return skip(FRAGUA_TRY(length()));
      case '[':
      case '{':
        return container(t == '{', depth + 1);
      default:
        return fail(fmt::format("unknown UBJSON marker 0x{:02x}", static_cast<uint8_t>(t)));
    }
  }
  Status container(bool object, int depth) {
    if (depth > kUbjMaxDepth) return fail(fmt::format("nested deeper than {} levels", kUbjMaxDepth));
    char type = '\0';
    if (pos_ < d_.size() && d_[pos_] == '$') {
      ++pos_;
      type = next();
      if (fixed_size(type) < 0 && type != 'S' && type != 'H' && type != '[' && type != '{')
        return fail("unknown element type of a typed container");
      if (pos_ >= d_.size() || d_[pos_] != '#') return fail("a typed container without a count");
    }
    bool counted = false;
    uint64_t count = 0;
    if (pos_ < d_.size() && d_[pos_] == '#') {
      ++pos_;
      counted = true;
      count = FRAGUA_TRY(length());
      // Each element takes at least a byte (zero-size types are not written in counted form by
      // any writer Fragua reads): a count past the bytes left is a lie that would be allocated.
      if (count > remaining())
        return fail(fmt::format("a count of {} is more than the {} bytes left", count, remaining()));
      if (type != '\0' && fixed_size(type) > 0 && count * static_cast<uint64_t>(fixed_size(type)) > remaining())
        return fail("a typed array runs past the end of the data");
    }
    for (uint64_t i = 0; !counted || i < count; ++i) {
      if (!counted) {
        if (pos_ >= d_.size()) return fail("an unterminated container");
        if (d_[pos_] == (object ? '}' : ']')) {
          ++pos_;
          return ok_status();
        }
      }
      if (object) FRAGUA_TRY(skip(FRAGUA_TRY(length())));  // the key
      FRAGUA_TRY(value(type != '\0' ? type : next(), depth));
    }
    return ok_status();
  }

  std::string_view d_, origin_;
  size_t pos_ = 0;
};

}  // namespace

Status check_ubjson(std::string_view data, std::string_view origin) { return UbjChecker(data, origin).run(); }

namespace {

// A decimal integer in a JSON string, as XGBoost writes its parameters ("num_nodes": "127").
bool xgb_param_integer(const nlohmann::json& v, int64_t lo, int64_t hi, int64_t& out) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > 12) return false;
  int64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    x = x * 10 + (c - '0');
  }
  if (x < lo || x > hi) return false;
  out = x;
  return true;
}

}  // namespace

Status check_xgboost_trees(std::string_view data, std::string_view origin, size_t n_features) {
  const nlohmann::json j = nlohmann::json::from_ubjson(data, true, false);
  if (j.is_discarded()) return corruption_error("{}: not a UBJSON document XGBoost could read", origin);
  const nlohmann::json* model = nullptr;
  if (j.is_object() && j.contains("learner") && j["learner"].is_object() && j["learner"].contains("gradient_booster") &&
      j["learner"]["gradient_booster"].is_object() && j["learner"]["gradient_booster"].contains("model"))
    model = &j["learner"]["gradient_booster"]["model"];
  if (!model || !model->is_object() || !model->contains("trees") || !(*model)["trees"].is_array())
    return corruption_error("{}: no learner.gradient_booster.model.trees array (not a gbtree model)", origin);
  const auto& trees = (*model)["trees"];
  int64_t num_trees = -1;
  if (!model->contains("gbtree_model_param") || !(*model)["gbtree_model_param"].is_object() ||
      !(*model)["gbtree_model_param"].contains("num_trees") ||
      !xgb_param_integer((*model)["gbtree_model_param"]["num_trees"], 0, 1 << 24, num_trees) ||
      static_cast<size_t>(num_trees) != trees.size())
    return corruption_error("{}: gbtree_model_param.num_trees does not match the {} trees", origin, trees.size());
  if (!model->contains("tree_info") || !(*model)["tree_info"].is_array() || (*model)["tree_info"].size() != trees.size())
    return corruption_error("{}: tree_info does not have one entry per tree", origin);
  const char* per_node[] = {"left_children",    "right_children", "parents",     "split_indices", "split_conditions",
                            "default_left",     "base_weights",   "loss_changes", "sum_hessian",  "split_type"};
  for (size_t t = 0; t < trees.size(); ++t) {
    const auto& tree = trees[t];
    int64_t n = 0;
    if (!tree.is_object() || !tree.contains("tree_param") || !tree["tree_param"].is_object() ||
        !tree["tree_param"].contains("num_nodes") || !xgb_param_integer(tree["tree_param"]["num_nodes"], 1, 1 << 24, n))
      return corruption_error("{}: tree {}: tree_param.num_nodes missing or out of range", origin, t);
    for (const char* key : per_node) {
      if (!tree.contains(key) || !tree[key].is_array() || tree[key].size() != static_cast<size_t>(n))
        return corruption_error("{}: tree {}: {} is not an array of num_nodes = {} values", origin, t, key, n);
      for (const auto& v : tree[key])
        if (!v.is_number()) return corruption_error("{}: tree {}: {} holds a value that is not a number", origin, t, key);
    }
    for (const char* key : {"categories", "categories_nodes", "categories_segments", "categories_sizes"})
      if (!tree.contains(key) || !tree[key].is_array() || !tree[key].empty())
        return corruption_error("{}: tree {}: categorical splits are not supported ({})", origin, t, key);
    const auto &left = tree["left_children"], &right = tree["right_children"], &split = tree["split_indices"],
               &split_type = tree["split_type"], &parents = tree["parents"];
    for (int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<size_t>(i);
      // XGBoost keeps a node's parent with bit 31 set for a left child; the root's is 0x7fffffff.
      const double praw = parents[k].get<double>();
      const int64_t parent = praw >= 0 && praw <= 4294967295.0 ? static_cast<int64_t>(praw) & 0x7fffffff : -2;
      const bool parent_ok =
          i == 0 ? (parent == 0x7fffffff || praw == -1)
                 : (parent >= 0 && parent < i &&
                    (left[static_cast<size_t>(parent)].get<double>() == static_cast<double>(i) ||
                     right[static_cast<size_t>(parent)].get<double>() == static_cast<double>(i)));
      if (!parent_ok) return corruption_error("{}: tree {}: node {} has parent {}, not a node pointing to it", origin, t, i, praw);
      const double l = left[k].get<double>(), r = right[k].get<double>();
      const bool leaf = l == -1 && r == -1;
      if (!leaf && !(l > static_cast<double>(i) && l < static_cast<double>(n) && r > static_cast<double>(i) &&
                     r < static_cast<double>(n)))
        return corruption_error("{}: tree {}: node {} has children {} and {} (leaf -1, else after the node and below {})",
                                origin, t, i, l, r, n);
      if (!leaf && !(split[k].get<double>() >= 0 && split[k].get<double>() < static_cast<double>(n_features)))
        return corruption_error("{}: tree {}: node {} splits on feature {} of {}", origin, t, i, split[k].get<double>(),
                                n_features);
      if (split_type[k].get<double>() != 0)
        return corruption_error("{}: tree {}: node {} is a categorical split (not supported)", origin, t, i);
    }
  }
  return ok_status();
}

}  // namespace fragua::materials
