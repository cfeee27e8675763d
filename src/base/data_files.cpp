// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/data_files.h"

#include <filesystem>

#include "fragua/base/runtime_options.h"

namespace fragua {

namespace fs = std::filesystem;

std::vector<std::string> data_dirs() {
  std::vector<std::string> dirs;
  if (std::string d = runtime_options().data_dir; !d.empty()) dirs.push_back(d);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back((exe.parent_path().parent_path() / "share" / "fragua").string());
    dirs.push_back((exe.parent_path() / "share" / "fragua").string());
  }
  return dirs;
}

Result<std::string> find_data_file(std::string_view relative) {
  std::string tried;
  for (const auto& d : data_dirs()) {
    fs::path p = fs::path(d) / relative;
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
    tried += (tried.empty() ? "" : ", ") + p.string();
  }
  return not_found_error(
      "bundled data file {} not found (looked in: {}); set FRAGUA_DATA_DIR to the folder that "
      "holds langid/ and materials/",
      relative, tried.empty() ? "nowhere" : tried);
}

}  // namespace fragua
