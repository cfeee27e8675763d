// SPDX-License-Identifier: Apache-2.0
// Decompression of untrusted input (gzip, zlib, bzip2, zstd), chosen by magic, with an output cap
// and a ratio cap so that a small hostile file cannot expand into gigabytes (a 1 MB gzip member
// of zeros inflates to about 1 GB: deflate's limit is about 1032:1, bzip2's and zstd's are far
// higher). One reader for every caller, streaming so that callers can consume record by record;
// every error names the input and the compressed offset at fault (DESIGN 7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fragua/base/error.h"

namespace fragua {

enum class Compression { none, gzip, zlib, bzip2, zstd };

const char* compression_name(Compression c);

// From the first bytes: gzip 1f 8b (RFC 1952), zlib CMF/FLG with CM 8 and a header checksum
// divisible by 31 (RFC 1950), bzip2 "BZh1".."BZh9", zstd frame magic 28 b5 2f fd (RFC 8878).
// Compression::none when none matches.
Compression detect_compression(std::string_view head);

// Default output cap of one stream: far above any input Fragua reads whole (datasets, manual
// pages are MBs) and large enough for streamed corpus files; callers that keep the output in
// memory pass a tighter one.
inline constexpr uint64_t kDecompressMaxOutput = uint64_t{4} << 30;  // 4 GiB
// Output may exceed the input this many times once it is past kDecompressRatioFloor. Text,
// JSON and CSV compress 3-15x with gzip, bzip2 or zstd; bombs rely on ratios of 1000 and more.
inline constexpr double kDecompressMaxRatio = 100.0;
// Below this much output the ratio is not checked: a tiny file of a highly repetitive text is fine.
inline constexpr uint64_t kDecompressRatioFloor = uint64_t{16} << 20;  // 16 MiB
// zstd frames may ask for windows up to 2 GiB; 2^27 (128 MiB) is zstd's own default limit for
// decompression without --long, and bounds the decoder's memory.
inline constexpr int kZstdWindowLogMax = 27;

struct DecompressLimits {
  uint64_t max_output = kDecompressMaxOutput;
  double max_ratio = kDecompressMaxRatio;
  uint64_t ratio_floor = kDecompressRatioFloor;
};

// Streams the decompressed bytes of `data` (which must outlive the reader). Concatenated gzip
// members, bzip2 streams and zstd frames are read one after the other, as gzip(1), bzip2(1) and
// zstd(1) do. Errors: corruption (bad or truncated data, trailing bytes that are not another
// member), resource_exhausted (a cap), unsupported (no known magic).
class DecompressReader {
 public:
  // `format` forces a codec; by default it is detected from the magic.
  static Result<DecompressReader> open(std::string_view data, std::string origin, const DecompressLimits& limits = {},
                                       std::optional<Compression> format = std::nullopt);
  DecompressReader(DecompressReader&&) noexcept;
  DecompressReader& operator=(DecompressReader&&) noexcept;
  ~DecompressReader();

  // Up to `n` bytes into `dst`; 0 at the end of the stream. An error met after some output of a
  // call is returned by the next call, so no decoded byte is lost.
  Result<size_t> read(char* dst, size_t n);
  // The same into a string ("" at the end).
  Result<std::string> read(size_t n);

  Compression format() const;
  uint64_t compressed_offset() const;  // input bytes consumed so far
  uint64_t output_bytes() const;       // output bytes produced so far
  // Output bytes up to the end of the last whole gzip member, bzip2 stream or zstd frame (the
  // ones whose trailer and checksum were read): bytes past it may still turn out corrupt.
  uint64_t verified_output() const;

 private:
  struct Impl;
  explicit DecompressReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The whole output in memory (for inputs read whole: datasets, manual pages, SWORD blocks).
Result<std::string> decompress_all(std::string_view data, std::string_view origin, const DecompressLimits& limits = {},
                                   std::optional<Compression> format = std::nullopt);

}  // namespace fragua
