// SPDX-License-Identifier: Apache-2.0
// The language-id model's state (internal header, shared with the trainer).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/data/langid.h"

namespace fragua::data {

struct LangIdModel::Impl {
  struct Scores {
    uint32_t cost[16] = {};
    uint32_t n = 0;
    uint32_t words = 0;  // count_langid_words of the text: picks the calibration's length bucket
  };
  std::vector<std::string> langs;
  std::vector<int> variant_of;  // index of the base language for a variant class, else -1
  std::vector<int> base_index;  // class -> index in base_names
  std::vector<std::string> base_names;
  LangIdCalibration calibration;
  int bits = 18;
  double scale = 10.0;           // nats per 255 cost units
  double variant_margin = 40.0;  // nats the variant class must lead by when no marker word decides
  std::vector<uint8_t> table;    // 2^bits x 16
  nlohmann::json provenance = nlohmann::json::object();

  void score(std::string_view text, Scores& s) const;
  // Log-likelihoods per class in nats (relative, from the integer costs).
  void class_nats(const Scores& s, double* nats) const;
  // Calibrated log-posteriors per base language (normalized), given the class nats.
  void base_log_posteriors(const double* nats, uint32_t n_features, uint32_t words, const LangIdCalibration& c,
                           double* out) const;
  LangGuess decide(const Scores& s) const;
  // ca vs ca-valencia by marker words (see langid.cpp), when the text has any.
  void refine_variant(std::string_view text, LangGuess& g) const;
  void finish_setup();
};

}  // namespace fragua::data
