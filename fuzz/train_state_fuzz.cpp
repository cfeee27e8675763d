// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: what a resumed training run reads from JSON it did not necessarily write.
// The same bytes go through the checkpoint's state.json validation (format, version, step,
// adam_t, the data loader's RNG words, batch count and cursors) and TrainConfig::merge_json
// (`fragua train --config`, a run's config.json), whose accepted result must round-trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fragua/base/json.h"
#include "fragua/train/dataset.h"
#include "fragua/train/trainer.h"
#include "train/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fragua;
  auto j = parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "state.json");
  if (!j.ok()) return 0;
  auto state = train::parse_train_state(*j, "state.json");
  if (state.ok()) {
    auto ds = train::parse_data_state(state->data, "state.json");
    if (!ds.ok()) std::abort();  // parse_train_state validated "data" already
    if (ds->rng[0] == 0 && ds->rng[1] == 0 && ds->rng[2] == 0 && ds->rng[3] == 0) std::abort();
    if (state->step < 0 || state->adam_t < 0) std::abort();
  }
  train::TrainConfig cfg;
  if (cfg.merge_json(*j).ok()) {
    train::TrainConfig again;
    if (!again.merge_json(cfg.to_json()).ok()) std::abort();  // what we write, we read back
  }
  return 0;
}
