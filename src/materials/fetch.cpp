// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/fetch.h"

#include "fragua/base/file.h"

namespace fragua::materials {

Result<std::string> matbench_url(const std::string& dataset, const std::string& base_url) {
  static const char* kKnown[] = {"matbench_expt_gap", "matbench_expt_is_metal", "matbench_glass", "matbench_steels"};
  bool known = false;
  for (const char* k : kKnown) known |= dataset == k;
  if (!known)
    return invalid_argument_error(
        "unknown dataset '{}' (composition tasks: matbench_expt_gap, matbench_expt_is_metal, matbench_glass, "
        "matbench_steels)",
        dataset);
  std::string base = base_url.empty() ? "https://ml.materialsproject.org/projects" : base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/" + dataset + ".json.gz";
}

}  // namespace fragua::materials
