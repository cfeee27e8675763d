// SPDX-License-Identifier: Apache-2.0
// `fragua plot`: training curves from a metrics.jsonl (fragua train) drawn as an SVG: training
// and validation loss, validation bits per byte per language, learning rate, gradient norm.
#pragma once

#include <string>

#include "fragua/base/error.h"

namespace fragua::eval {

// Writes `out` (.svg) atomically. Errors name the metrics file and line.
Status plot_metrics(const std::string& metrics_path, const std::string& out);

}  // namespace fragua::eval
