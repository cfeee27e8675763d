// SPDX-License-Identifier: Apache-2.0
// Trains the language-id model: multinomial naive Bayes counts over hashed features (additive
// smoothing), then perceptron passes (Collins 2002) that push the weights of the features of
// misclassified sentences towards the right class, then quantization to 8-bit costs.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "fragua/base/lang.h"
#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "fragua/data/langid.h"
#include "langid_features.h"
#include "langid_impl.h"

namespace fragua::data {
using namespace langid_detail;

Result<LangIdModel> LangIdModel::train(const std::vector<LabeledText>& data, const LangIdTrainOptions& o) {
  if (data.empty()) return invalid_argument_error("language-id training: no sentences");
  if (o.clean_passes > 0) {
    LangIdTrainOptions first = o;
    first.clean_passes = 0;
    first.perceptron_epochs = 0;  // naive Bayes alone: the perceptron would learn the noise
    auto m0 = FRAGUA_TRY(train(data, first));
    std::vector<LabeledText> kept;
    kept.reserve(data.size());
    size_t dropped = 0;
    for (const auto& d : data) {
      if (count_words(d.text) >= 3) {
        LangGuess g = m0.identify(d.text);
        if (g.base_lang != std::string(base_language(d.lang)) && g.confidence >= o.clean_confidence) {
          ++dropped;
          continue;
        }
      }
      kept.push_back(d);
    }
    log_info("langid cleaning: dropped {} of {} training sentences that read as another language", dropped,
             data.size());
    LangIdTrainOptions next = o;
    next.clean_passes = o.clean_passes - 1;
    return train(kept, next);
  }
  if (o.n_buckets_log2 < 10 || o.n_buckets_log2 > 22) return invalid_argument_error("bucket bits must be 10..22");
  std::vector<std::string> langs;
  for (const auto& d : data)
    if (std::find(langs.begin(), langs.end(), d.lang) == langs.end()) langs.push_back(d.lang);
  std::sort(langs.begin(), langs.end());
  if (langs.size() > kStride) return invalid_argument_error("at most {} languages, got {}", kStride, langs.size());
  const int L = static_cast<int>(langs.size());
  const size_t B = size_t{1} << o.n_buckets_log2;
  std::vector<int> label(data.size());
  for (size_t i = 0; i < data.size(); ++i)
    label[i] = static_cast<int>(std::find(langs.begin(), langs.end(), data[i].lang) - langs.begin());

  // Naive Bayes: log P(feature | class) with additive smoothing; uniform class prior.
  std::vector<float> w(B * kStride, 0.0f);
  std::vector<double> total(L, 0.0);
  {
    ProgressBar bar("langid counts", data.size(), "sent");
    for (size_t i = 0; i < data.size(); ++i) {
      int l = label[i];
      for_each_feature(data[i].text, o.n_buckets_log2, [&](uint32_t b) {
        w[static_cast<size_t>(b) * kStride + l] += 1.0f;
        total[l] += 1.0;
      });
      if (i % 4096 == 0) bar.set(i);
    }
    bar.finish();
  }
  for (size_t b = 0; b < B; ++b)
    for (int l = 0; l < L; ++l) {
      float& x = w[b * kStride + l];
      x = static_cast<float>(std::log((x + o.alpha) / (total[l] + o.alpha * static_cast<double>(B))));
    }

  // Perceptron passes with a margin; confusions between a language and its own variant are
  // left to naive Bayes (most of their sentences are identical).
  std::vector<size_t> order(data.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(o.seed);
  std::vector<uint32_t> feats;
  const float lr = 0.05f, margin = 2.0f;
  for (int epoch = 0; epoch < o.perceptron_epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    size_t errors = 0;
    ProgressBar bar(fmt::format("langid epoch {}", epoch + 1), data.size(), "sent");
    for (size_t k = 0; k < order.size(); ++k) {
      size_t i = order[k];
      feats.clear();
      for_each_feature(data[i].text, o.n_buckets_log2, [&](uint32_t b) { feats.push_back(b); });
      float s[kStride] = {};
      for (uint32_t b : feats) {
        const float* row = &w[static_cast<size_t>(b) * kStride];
        for (int l = 0; l < kStride; ++l) s[l] += row[l];
      }
      int gold = label[i];
      int rival = -1;
      for (int l = 0; l < L; ++l) {
        if (l == gold || std::string(base_language(langs[l])) == std::string(base_language(langs[gold]))) continue;
        if (rival < 0 || s[l] > s[rival]) rival = l;
      }
      if (rival < 0 || s[gold] - s[rival] >= margin) continue;
      ++errors;
      for (uint32_t b : feats) {
        w[static_cast<size_t>(b) * kStride + gold] += lr;
        w[static_cast<size_t>(b) * kStride + rival] -= lr;
      }
      if (k % 4096 == 0) bar.set(k);
    }
    bar.finish();
    log_info("langid epoch {}: {} margin violations of {} sentences", epoch + 1, errors, data.size());
  }

  // Quantize: per bucket, relative to the best class, clamped at -scale nats.
  LangIdModel m;
  auto& im = *m.impl_;
  im.langs = langs;
  im.bits = o.n_buckets_log2;
  im.scale = 10.0;
  im.table.assign(B * kStride, 0);
  for (size_t b = 0; b < B; ++b) {
    float mx = -1e30f;
    for (int l = 0; l < L; ++l) mx = std::max(mx, w[b * kStride + l]);
    for (int l = 0; l < L; ++l) {
      double rel = std::clamp(static_cast<double>(w[b * kStride + l] - mx), -im.scale, 0.0);
      im.table[b * kStride + l] = static_cast<uint8_t>(std::lround(-rel * 255.0 / im.scale));
    }
    for (int l = L; l < kStride; ++l) im.table[b * kStride + l] = 255;
  }
  std::map<std::string, size_t> per_lang;
  for (const auto& d : data) per_lang[d.lang]++;
  im.provenance = {{"trainer", "fragua corpus langid train"},
                   {"fragua", FRAGUA_VERSION},
                   {"sentences", per_lang},
                   {"alpha", o.alpha},
                   {"perceptron_epochs", o.perceptron_epochs},
                   {"source", o.provenance}};
  im.finish_setup();
  return m;
}

}  // namespace fragua::data
