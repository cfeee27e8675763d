// SPDX-License-Identifier: Apache-2.0
// The decompressor of base/ (gzip, zlib, bzip2, zstd): the first byte picks the format (or
// detection) and the read size, the rest is the compressed input. Small caps keep each run fast
// and exercise the cap paths.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fragua/base/decompress.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fragua;
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::optional<Compression> format;
  switch (data[0] & 7) {
    case 1:
      format = Compression::gzip;
      break;
    case 2:
      format = Compression::zlib;
      break;
    case 3:
      format = Compression::bzip2;
      break;
    case 4:
      format = Compression::zstd;
      break;
    default:
      break;  // by magic
  }
  DecompressLimits limits;
  limits.max_output = 8 << 20;
  limits.ratio_floor = 1 << 20;
  auto r = DecompressReader::open(in, "fuzz", limits, format);
  if (!r.ok()) return 0;
  const size_t chunk = size_t{1} << (data[0] >> 4);  // 1 byte to 32 KiB per read
  std::string buf(chunk, '\0');
  uint64_t total = 0;
  for (;;) {
    auto got = r->read(buf.data(), buf.size());
    if (!got.ok() || *got == 0) break;
    total += *got;
    if (total > limits.max_output || r->verified_output() > r->output_bytes()) __builtin_trap();
  }
  return 0;
}
