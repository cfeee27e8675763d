// SPDX-License-Identifier: Apache-2.0
// What `generate` and `chat` do alike around model::open_model: time the load and show it with
// -v (file, architecture, type, size, context, seconds), warn when the context asked for exceeds
// the model's training context, and say why a generation stopped when the context filled up.
#pragma once

#include <cstdint>
#include <string>

#include "fragua/model/generate.h"
#include "fragua/model/loaded_model.h"

namespace fragua::cli {

// open_model with the reports above (errors as Failure, exit 1). `command` names the caller in
// messages ("generate").
model::LoadedModel open_inference_model(const std::string& path, const model::OpenOptions& open,
                                        const char* command);

// One line to stderr when `r` stopped because the context of `n_ctx` tokens was full.
void report_stop_reason(const model::GenerateResult& r, int64_t n_ctx, const char* command);

}  // namespace fragua::cli
