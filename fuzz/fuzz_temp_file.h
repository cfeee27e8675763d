// SPDX-License-Identifier: Apache-2.0
// A per-process temporary file for fuzz targets whose loader reads a path: the bytes of each
// input are written to it, and it is removed when the fuzzer exits (a run used to leave one
// file per process in the temporary directory).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace fragua::fuzz {

class TempFile {
 public:
  explicit TempFile(const char* stem) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir && *dir ? dir : "/tmp") + "/" + stem + "-" + std::to_string(::getpid()) + ".bin";
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  // Writes the input; false when the file cannot be written (the input is then skipped).
  bool write(const uint8_t* data, size_t size) const {
    FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) return false;
    const bool ok = std::fwrite(data, 1, size, f) == size;
    return std::fclose(f) == 0 && ok;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace fragua::fuzz
