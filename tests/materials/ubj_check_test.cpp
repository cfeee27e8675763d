// SPDX-License-Identifier: Apache-2.0
#include "materials/ubj_check.h"

#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "fragua/materials/model.h"
#include "fragua/materials/property_model.h"
#include "test_util.h"

namespace fragua::materials {
namespace {

std::string be64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
  return s;
}

TEST(HardeningUbj, StructureIsCheckedBeforeXgboostSeesIt) {
  // {"name": "reg", "v": [$d#i2 1.0f 2.0f]}
  std::string ok = "{L" + be64(4) + "nameSi\x03reg" + "i\x01v[$d#i\x02" + std::string(8, '\0') + "}";
  EXPECT_TRUE(check_ubjson(ok, "m").ok()) << check_ubjson(ok, "m").error().to_string();
  struct Case {
    std::string data, msg;
  };
  for (const auto& c : std::vector<Case>{
           {"{L" + be64(4) + "nameSL" + be64(uint64_t{1} << 46) + "x}",
            "m: byte offset 24: a length runs past the end"},
           {"[#L" + be64(uint64_t{1} << 40) + "i\x01", "a count of 1099511627776 is more than"},
           {"[$D#i\x02" + std::string(8, '\0'), "a typed array runs past the end"},
           {"SL" + be64(~uint64_t{0}), "negative length"},
           {std::string(100, '[') + std::string(100, ']'), "nested deeper than 64 levels"},
           {"{i\x01"
            "aQ}",
            "unknown UBJSON marker 0x51"},
           {"[i\x01", "an unterminated container"},
           {"Z", ""},
           {"Zjunk", "bytes after the end"},
       }) {
    auto st = check_ubjson(c.data, "m");
    if (c.msg.empty()) {
      EXPECT_TRUE(st.ok());
      continue;
    }
    ASSERT_FALSE(st.ok()) << c.msg;
    EXPECT_NE(st.error().message().find(c.msg), std::string::npos) << st.error().message();
  }
}

// The fuzz finding: a model member whose UBJSON string length is 2^46 crashed inside libxgboost.
TEST(HardeningUbj, ModelWithALyingMemberIsAnError) {
  for (const char* seed : {"regress-ubj-string-length", "regress-float-count.model"}) {
    auto m = Model::load(test::source_dir() + "/fuzz/corpus/materials_xgb_model_fuzz/" + seed);
    ASSERT_FALSE(m.ok()) << seed;
    EXPECT_EQ(m.error().code(), ErrorCode::corruption) << m.error().to_string();
    EXPECT_NE(m.error().message().find(seed), std::string::npos) << m.error().message();
  }
}

// The fuzz finding of fuzz/materials_ensemble_model_fuzz.cpp: structurally valid UBJSON whose
// tree arrays disagree with num_nodes made libxgboost read past an array (SEGV in
// RegTree::LoadModel). Each tree is checked against what the loader and predictor trust.
TEST(HardeningUbj, TreeArraysAreCheckedAgainstNumNodes) {
  TrainConfig cfg;
  cfg.n_models = 1;
  cfg.n_rounds = 3;
  cfg.eta = 0.3;
  cfg.colsample = 1;
  cfg.subsample = 1;
  cfg.max_depth = 2;
  cfg.zero_gate = "off";
  cfg.log_target = "off";
  std::vector<float> x;
  std::vector<double> y;
  for (int i = 0; i < 40; ++i) {
    x.push_back(static_cast<float>(i));
    x.push_back(static_cast<float>(i % 7));
    y.push_back(0.5 * i + (i % 7));
  }
  auto m = Model::train(x, 2, y, cfg, "sig");
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  const std::string file = *m->to_bytes({});
  const size_t eol = file.find('\n', file.find('\n') + 1);
  const std::string member = file.substr(eol + 1);
  ASSERT_TRUE(check_xgboost_trees(member, "m", 2).ok()) << check_xgboost_trees(member, "m", 2).error().to_string();
  EXPECT_TRUE(Model::parse(file, "good.model").ok());
  auto j = nlohmann::json::from_ubjson(member);
  // A tree whose root splits (the mutations below break a split node).
  size_t split_tree = 0;
  const auto& trees = j["learner"]["gradient_booster"]["model"]["trees"];
  while (split_tree + 1 < trees.size() && trees[split_tree]["left_children"][0] == -1) ++split_tree;
  ASSERT_NE(trees[split_tree]["left_children"][0], -1);
  auto mutate = [&](const std::function<void(nlohmann::json&)>& f) {
    nlohmann::json k = j;
    f(k["learner"]["gradient_booster"]["model"]["trees"][split_tree]);
    std::vector<uint8_t> b = nlohmann::json::to_ubjson(k);
    return check_xgboost_trees(std::string(b.begin(), b.end()), "m", 2);
  };
  struct Case {
    std::function<void(nlohmann::json&)> f;
    const char* msg;
  };
  for (const auto& c : std::vector<Case>{
           {[](nlohmann::json& t) { t["left_children"].erase(t["left_children"].size() - 1); },
            "left_children is not an array of num_nodes"},
           {[](nlohmann::json& t) { t["tree_param"]["num_nodes"] = "1000"; }, "is not an array of num_nodes = 1000"},
           {[](nlohmann::json& t) { t["left_children"][0] = 0; }, "node 0 has children 0 and"},
           {[](nlohmann::json& t) { t["right_children"][0] = 99; }, "node 0 has children"},
           {[](nlohmann::json& t) { t["split_indices"][0] = 7; }, "node 0 splits on feature 7 of 2"},
           {[](nlohmann::json& t) { t["categories"] = {1}; }, "categorical splits are not supported"},
           {[](nlohmann::json& t) { t["parents"][1] = 0x227a6572; }, "node 1 has parent"},
           {[](nlohmann::json& t) { t["parents"][0] = 0; }, "node 0 has parent"},
           {[](nlohmann::json& t) { t.erase("tree_param"); }, "tree_param.num_nodes missing"},
       }) {
    auto st = mutate(c.f);
    ASSERT_FALSE(st.ok()) << c.msg;
    EXPECT_NE(st.error().to_string().find(c.msg), std::string::npos) << st.error().to_string();
  }
  auto seed = test::source_dir() + "/fuzz/corpus/materials_ensemble_model_fuzz/regress-tree-node-arrays";
  auto bad = load_property_model(seed);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().to_string().find("regress-tree-node-arrays"), std::string::npos) << bad.error().to_string();
}

}  // namespace
}  // namespace fragua::materials
