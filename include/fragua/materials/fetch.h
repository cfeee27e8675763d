// SPDX-License-Identifier: Apache-2.0
// Downloads public Matbench datasets for users (never in tests: those use a local server).
#pragma once

#include <string>

#include "fragua/base/error.h"
#include "fragua/base/http.h"
#include "fragua/base/progress.h"

namespace fragua::materials {

// Where matbench v0.1 publishes a task: https://ml.materialsproject.org/projects/<name>.json.gz
// (the URLs of matbench's dataset metadata). Only composition tasks are supported by the readers.
Result<std::string> matbench_url(const std::string& dataset, const std::string& base_url = "");

// GETs url into path (fragua::http_download, base/http.h).
inline Status download(const std::string& url, const std::string& path, ProgressBar* bar = nullptr) {
  return http_download(url, path, bar);
}

}  // namespace fragua::materials
