// SPDX-License-Identifier: Apache-2.0
// One streaming decompressor for gzip/zlib (zlib), bzip2 (libbz2) and zstd (libzstd); see
// decompress.h for the caps and why they exist.
#include "fragua/base/decompress.h"

#include <bzlib.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cstring>

namespace fragua {

const char* compression_name(Compression c) {
  switch (c) {
    case Compression::none:
      return "uncompressed";
    case Compression::gzip:
      return "gzip";
    case Compression::zlib:
      return "zlib";
    case Compression::bzip2:
      return "bzip2";
    case Compression::zstd:
      return "zstd";
  }
  return "?";
}

namespace {

bool is_zstd_skippable(std::string_view h) {
  if (h.size() < 4) return false;
  uint32_t m;
  std::memcpy(&m, h.data(), 4);             // little-endian on every platform Fragua builds for
  return (m & 0xFFFFFFF0u) == 0x184D2A50u;  // RFC 8878 section 3.1.2
}

// zlib and bzip2 count input and output windows in unsigned ints: at most 1 GiB is passed at once.
constexpr size_t kMaxInputWindow = size_t{1} << 30;

enum class Step { more, member_end, truncated, corrupt, no_memory };

}  // namespace

Compression detect_compression(std::string_view h) {
  auto b = [&h](size_t i) { return static_cast<unsigned char>(h[i]); };
  if (h.size() >= 2 && b(0) == 0x1f && b(1) == 0x8b) return Compression::gzip;
  if (h.size() >= 4 && b(0) == 0x28 && b(1) == 0xb5 && b(2) == 0x2f && b(3) == 0xfd) return Compression::zstd;
  if (h.size() >= 4 && h.substr(0, 3) == "BZh" && b(3) >= '1' && b(3) <= '9') return Compression::bzip2;
  if (h.size() >= 2 && (b(0) & 0x0f) == 8 && (b(0) >> 4) <= 7 && ((b(0) << 8) | b(1)) % 31 == 0)
    return Compression::zlib;
  return Compression::none;
}

struct DecompressReader::Impl {
  std::string_view in;
  std::string origin;
  DecompressLimits limits;
  Compression format = Compression::none;
  size_t pos = 0;  // input consumed
  uint64_t out = 0, verified = 0;
  uint64_t members = 0;  // whole members/streams/frames read
  bool in_member = false, done = false;
  std::optional<Error> error;  // sticky once met
  std::string codec_message;   // the library's own words for a corrupt stream

  z_stream z{};
  bool z_ready = false;
  bz_stream bz{};
  bool bz_ready = false;
  ZSTD_DCtx* zd = nullptr;

  ~Impl() {
    if (z_ready) inflateEnd(&z);
    if (bz_ready) BZ2_bzDecompressEnd(&bz);
    ZSTD_freeDCtx(zd);
  }

  Status start_member();
  Step step(char* dst, size_t want, size_t* produced);
  Step step_zlib(char* dst, size_t want, size_t* produced);
  Step step_bzip2(char* dst, size_t want, size_t* produced);
  Step step_zstd(char* dst, size_t want, size_t* produced);
};

Status DecompressReader::Impl::start_member() {
  std::string_view rest = in.substr(pos);
  if (members > 0) {
    // What follows a whole member must be another one. gzip(1) also ignores trailing zero
    // bytes (padding added by tape and block devices).
    bool next = format == Compression::gzip    ? detect_compression(rest) == Compression::gzip
                : format == Compression::bzip2 ? detect_compression(rest) == Compression::bzip2
                : format == Compression::zstd ? detect_compression(rest) == Compression::zstd || is_zstd_skippable(rest)
                                              : false;
    if (!next) {
      if (format == Compression::gzip && rest.find_first_not_of('\0') == std::string_view::npos) {
        pos = in.size();
        done = true;
        return ok_status();
      }
      return corruption_error("{}: compressed offset {}: {} bytes after the end of the {} data", origin, pos,
                              rest.size(), compression_name(format));
    }
  }
  switch (format) {
    case Compression::gzip:
    case Compression::zlib:
      if (z_ready) {
        inflateReset(&z);
      } else {
        // 16 + MAX_WBITS: a gzip header and trailer; MAX_WBITS alone: zlib (zlib manual, inflateInit2).
        if (inflateInit2(&z, format == Compression::gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK)
          return resource_exhausted_error("{}: cannot start the zlib decoder", origin);
        z_ready = true;
      }
      break;
    case Compression::bzip2:
      if (bz_ready) BZ2_bzDecompressEnd(&bz);
      bz = bz_stream{};
      bz_ready = false;
      if (BZ2_bzDecompressInit(&bz, 0, 0) != BZ_OK)
        return resource_exhausted_error("{}: cannot start the bzip2 decoder", origin);
      bz_ready = true;
      break;
    case Compression::zstd:
      if (!zd) {
        zd = ZSTD_createDCtx();
        if (!zd) return resource_exhausted_error("{}: cannot start the zstd decoder", origin);
        ZSTD_DCtx_setParameter(zd, ZSTD_d_windowLogMax, kZstdWindowLogMax);
      } else {
        ZSTD_DCtx_reset(zd, ZSTD_reset_session_only);
      }
      break;
    case Compression::none:
      return unsupported_error("{}: not compressed data", origin);
  }
  in_member = true;
  return ok_status();
}

Step DecompressReader::Impl::step_zlib(char* dst, size_t want, size_t* produced) {
  const size_t window = std::min(in.size() - pos, kMaxInputWindow);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + pos));
  z.avail_in = static_cast<uInt>(window);
  z.next_out = reinterpret_cast<Bytef*>(dst);
  z.avail_out = static_cast<uInt>(want);
  int rc = inflate(&z, Z_NO_FLUSH);
  *produced = want - z.avail_out;
  pos += window - z.avail_in;
  if (rc == Z_STREAM_END) return Step::member_end;
  if (rc == Z_OK || rc == Z_BUF_ERROR) {
    // Output room left and no input left: the stream stops before its end.
    if (pos == in.size() && z.avail_out != 0) return Step::truncated;
    return Step::more;
  }
  if (rc == Z_MEM_ERROR) return Step::no_memory;
  codec_message = rc == Z_NEED_DICT ? "needs a preset dictionary" : z.msg ? z.msg : "invalid data";
  return Step::corrupt;
}

Step DecompressReader::Impl::step_bzip2(char* dst, size_t want, size_t* produced) {
  const size_t window = std::min(in.size() - pos, kMaxInputWindow);
  bz.next_in = const_cast<char*>(in.data() + pos);
  bz.avail_in = static_cast<unsigned>(window);
  bz.next_out = dst;
  bz.avail_out = static_cast<unsigned>(want);
  int rc = BZ2_bzDecompress(&bz);
  *produced = want - bz.avail_out;
  pos += window - bz.avail_in;
  if (rc == BZ_STREAM_END) return Step::member_end;
  if (rc == BZ_OK) return pos == in.size() && bz.avail_out != 0 ? Step::truncated : Step::more;
  if (rc == BZ_MEM_ERROR) return Step::no_memory;
  codec_message = rc == BZ_DATA_ERROR_MAGIC ? "bad stream magic" : "invalid data (block CRC or structure)";
  return Step::corrupt;
}

Step DecompressReader::Impl::step_zstd(char* dst, size_t want, size_t* produced) {
  ZSTD_inBuffer ib{in.data() + pos, in.size() - pos, 0};
  ZSTD_outBuffer ob{dst, want, 0};
  size_t r = ZSTD_decompressStream(zd, &ob, &ib);
  *produced = ob.pos;
  pos += ib.pos;
  if (ZSTD_isError(r)) {
    if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation) return Step::no_memory;
    codec_message = ZSTD_getErrorName(r);
    if (ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge)
      codec_message += fmt::format(" (windows above 2^{} bytes are refused)", kZstdWindowLogMax);
    return Step::corrupt;
  }
  if (r == 0) return Step::member_end;
  return pos == in.size() && ob.pos < ob.size ? Step::truncated : Step::more;
}

Step DecompressReader::Impl::step(char* dst, size_t want, size_t* produced) {
  switch (format) {
    case Compression::gzip:
    case Compression::zlib:
      return step_zlib(dst, want, produced);
    case Compression::bzip2:
      return step_bzip2(dst, want, produced);
    case Compression::zstd:
      return step_zstd(dst, want, produced);
    case Compression::none:
      break;
  }
  return Step::corrupt;
}

DecompressReader::DecompressReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DecompressReader::DecompressReader(DecompressReader&&) noexcept = default;
DecompressReader& DecompressReader::operator=(DecompressReader&&) noexcept = default;
DecompressReader::~DecompressReader() = default;

Result<DecompressReader> DecompressReader::open(std::string_view data, std::string origin,
                                                const DecompressLimits& limits, std::optional<Compression> format) {
  auto im = std::make_unique<Impl>();
  im->in = data;
  im->origin = std::move(origin);
  im->limits = limits;
  im->format = format ? *format : detect_compression(data);
  if (im->format == Compression::none)
    return unsupported_error("{}: offset 0: not gzip, zlib, bzip2 or zstd data (no known magic)", im->origin);
  return DecompressReader(std::move(im));
}

Result<size_t> DecompressReader::read(char* dst, size_t n) {
  Impl& im = *impl_;
  if (im.error) return *im.error;
  size_t total = 0;
  auto fail = [&](Error e) -> Result<size_t> {
    im.error = std::move(e);
    im.done = true;
    if (total > 0) return total;
    return *im.error;
  };
  while (total < n && !im.done) {
    if (!im.in_member) {
      if (im.pos == im.in.size() && im.members > 0) {
        im.done = true;
        break;
      }
      if (Status s = im.start_member(); !s.ok()) return fail(s.error());
      if (im.done) break;
    }
    // One byte past the cap is asked for, so that reaching the cap exactly is not an error.
    const uint64_t room = im.limits.max_output - std::min(im.out, im.limits.max_output);
    const size_t want =
        static_cast<size_t>(std::min<uint64_t>({n - total, room == UINT64_MAX ? room : room + 1, kMaxInputWindow}));
    size_t produced = 0;
    const size_t at = im.pos;
    Step st = im.step(dst + total, want, &produced);
    im.out += produced;
    total += produced;
    if (im.out > im.limits.max_output) {
      total -= static_cast<size_t>(im.out - im.limits.max_output);
      im.out = im.limits.max_output;
      return fail(
          resource_exhausted_error("{}: compressed offset {}: {} data expands past the output limit of {} bytes",
                                   im.origin, im.pos, compression_name(im.format), im.limits.max_output));
    }
    if (im.out > im.limits.ratio_floor &&
        static_cast<double>(im.out) > im.limits.max_ratio * static_cast<double>(im.pos))
      return fail(resource_exhausted_error(
          "{}: compressed offset {}: {} data expands more than {}:1 ({} bytes from {}): a decompression bomb?",
          im.origin, im.pos, compression_name(im.format), im.limits.max_ratio, im.out, im.pos));
    switch (st) {
      case Step::more:
        if (produced == 0 && im.pos == at)  // no progress: the codec is stuck on this input
          return fail(corruption_error("{}: compressed offset {}: {} data does not progress", im.origin, im.pos,
                                       compression_name(im.format)));
        break;
      case Step::member_end:
        im.in_member = false;
        ++im.members;
        im.verified = im.out;
        break;
      case Step::truncated:
        return fail(corruption_error("{}: compressed offset {}: {} data truncated (the input ends inside a stream)",
                                     im.origin, im.pos, compression_name(im.format)));
      case Step::corrupt:
        return fail(corruption_error("{}: compressed offset {}: corrupt {} data: {}", im.origin, im.pos,
                                     compression_name(im.format), im.codec_message));
      case Step::no_memory:
        return fail(resource_exhausted_error("{}: compressed offset {}: out of memory in the {} decoder", im.origin,
                                             im.pos, compression_name(im.format)));
    }
  }
  return total;
}

Result<std::string> DecompressReader::read(size_t n) {
  std::string s(n, '\0');
  size_t got = FRAGUA_TRY(read(s.data(), n));
  s.resize(got);
  return s;
}

Compression DecompressReader::format() const { return impl_->format; }
uint64_t DecompressReader::compressed_offset() const { return impl_->pos; }
uint64_t DecompressReader::output_bytes() const { return impl_->out; }
uint64_t DecompressReader::verified_output() const { return impl_->verified; }

Result<std::string> decompress_all(std::string_view data, std::string_view origin, const DecompressLimits& limits,
                                   std::optional<Compression> format) {
  auto r = FRAGUA_TRY(DecompressReader::open(data, std::string(origin), limits, format));
  std::string out;
  std::string buf(size_t{1} << 16, '\0');
  for (;;) {
    size_t got = FRAGUA_TRY(r.read(buf.data(), buf.size()));
    if (got == 0) break;
    out.append(buf.data(), got);
  }
  return out;
}

}  // namespace fragua
