// SPDX-License-Identifier: Apache-2.0
// WARC records (ISO 28500, WARC/1.0 and 1.1) and the gzip container they travel in. A record is
// "WARC/1.x" CRLF, header fields, CRLF, Content-Length bytes of block, CRLF CRLF. Common Crawl WET
// files hold 'conversion' records whose block is plain text; WARC files hold 'response' records
// whose block is an HTTP message. Damaged records are skipped by searching for the next
// "WARC/1." at a line start. Compressed files are decoded as a stream and parsed record by
// record, so memory holds one record, not the whole file (a 1 MB gzip bomb inflates to 1 GB).
#include <algorithm>
#include <cstring>
#include <optional>

#include "fragua/base/decompress.h"
#include "fragua/base/utf8.h"
#include "fragua/data/source.h"

namespace fragua::data {

namespace {

// Largest record block parsed. Common Crawl caps response payloads at 1 MiB and WET conversion
// records are smaller; a longer record is skipped as it streams past, never buffered whole.
constexpr uint64_t kWarcMaxRecordBytes = uint64_t{64} << 20;  // 64 MiB
// Largest record header (a dozen named fields: under 2 KB in practice).
constexpr size_t kWarcMaxHeaderBytes = size_t{64} << 10;  // 64 KiB
// Decompressed bytes asked for at a time.
constexpr size_t kWarcReadChunk = size_t{1} << 20;
// Decoded bytes not yet covered by a member's checksum that are held back from parsing (so a
// record of a corrupt member is dropped whole, as WARC files gzip each record on its own); past
// this, a file gzipped as one member is parsed as it streams.
constexpr uint64_t kWarcUnverifiedSlack = uint64_t{16} << 20;
// A corpus file is streamed, so its output cap only bounds time; the ratio cap stops bombs.
constexpr uint64_t kWarcMaxDecompressed = uint64_t{64} << 30;  // 64 GiB

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// The payload of an HTTP response: after the blank line ending the headers.
std::string_view http_body(std::string_view block) {
  size_t p = block.find("\r\n\r\n");
  if (p != std::string_view::npos) return block.substr(p + 4);
  p = block.find("\n\n");
  return p == std::string_view::npos ? std::string_view() : block.substr(p + 2);
}

// The bytes of a WARC file as a window that slides forward: the mapped file itself when it is
// not compressed, or decoded chunks of it.
class WarcStream {
 public:
  explicit WarcStream(std::string_view plain) : plain_(plain), eof_(true) {}
  explicit WarcStream(DecompressReader reader) : reader_(std::move(reader)) {}

  // What can be parsed now, from stream offset base().
  std::string_view view() const {
    if (!reader_) return plain_.substr(start_);
    std::string_view v = std::string_view(buf_).substr(start_);
    // Hold back what is not yet covered by a checksum (see kWarcUnverifiedSlack).
    const uint64_t end = base_ + buf_.size(), verified = reader_->verified_output();
    if (!eof_ && end > verified && end - verified < kWarcUnverifiedSlack)
      v = v.substr(0, verified > base_ + start_ ? static_cast<size_t>(verified - base_ - start_) : 0);
    return v;
  }
  uint64_t base() const { return base_ + start_; }
  bool eof() const { return eof_; }
  // The character before view()[0] ('\n' at the start of the stream).
  char prev() const { return prev_; }
  void consume(size_t n) {
    // A corrupt member's bytes can vanish from under a record (fill() drops them): never past them.
    n = std::min(n, view().size());
    if (n == 0) return;
    prev_ = view()[n - 1];
    start_ += n;
  }
  // Decodes more; false once nothing more will come.
  bool fill(const std::string& name, SourceStats& stats) {
    if (eof_) return false;
    if (start_ > 0) {
      buf_.erase(0, start_);
      base_ += start_;
      start_ = 0;
    }
    const size_t old = buf_.size();
    buf_.resize(old + kWarcReadChunk);
    auto got = reader_->read(buf_.data() + old, kWarcReadChunk);
    buf_.resize(old + (got.ok() ? *got : 0));
    if (got.ok() && *got > 0) return true;
    eof_ = true;
    if (!got.ok()) {
      // What the broken member decoded is dropped: only checksummed bytes are parsed.
      const uint64_t verified = std::max(reader_->verified_output(), base_);
      buf_.resize(static_cast<size_t>(std::min<uint64_t>(buf_.size(), verified - base_)));
      ++stats.bad_records;
      stats.warn(fmt::format("{}; the records decoded before it are kept", got.error().message()));
    }
    return true;  // the held-back tail (if any) is now visible
  }

 private:
  std::string_view plain_;
  std::optional<DecompressReader> reader_;
  std::string buf_;
  uint64_t base_ = 0;  // stream offset of buf_[0]
  size_t start_ = 0;   // consumed bytes at the front of buf_
  bool eof_ = false;
  char prev_ = '\n';
};

// Offset in `v` of "WARC/1." at a line start (`prev` is the byte before v[0]), or npos.
size_t find_record(std::string_view v, char prev) {
  for (size_t from = 0;;) {
    size_t p = v.find("WARC/1.", from);
    if (p == std::string_view::npos) return p;
    if ((p == 0 ? prev : v[p - 1]) == '\n') return p;
    from = p + 1;
  }
}

// Moves the stream to the next record start; returns the bytes passed over.
uint64_t seek_record(WarcStream& s, const std::string& name, SourceStats& stats) {
  uint64_t passed = 0;
  for (;;) {
    std::string_view v = s.view();
    size_t p = find_record(v, s.prev());
    if (p != std::string_view::npos) {
      s.consume(p);
      return passed + p;
    }
    // Keep a tail that may be the start of a split "WARC/1.".
    size_t drop = s.eof() ? v.size() : v.size() - std::min<size_t>(v.size(), 6);
    s.consume(drop);
    passed += drop;
    if (!s.fill(name, stats) && s.view().empty()) return passed;
  }
}

// Passes over `n` bytes without keeping them.
void discard(WarcStream& s, uint64_t n, const std::string& name, SourceStats& stats) {
  while (n > 0) {
    size_t take = static_cast<size_t>(std::min<uint64_t>(n, s.view().size()));
    s.consume(take);
    n -= take;
    if (n > 0 && !s.fill(name, stats)) return;
  }
}

struct WarcHeader {
  int64_t length = -1;
  std::string type, uri, record_id, date;
};

WarcHeader parse_header(std::string_view header) {
  WarcHeader h;
  size_t line_start = header.find('\n');
  while (line_start != std::string_view::npos && line_start < header.size()) {
    size_t line_end = header.find('\n', line_start + 1);
    std::string_view line =
        header.substr(line_start + 1, (line_end == std::string_view::npos ? header.size() : line_end) - line_start - 1);
    line_start = line_end;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (iequals(key, "Content-Length")) {
      h.length = value.empty() ? -1 : 0;
      for (char c : value) {
        if (c < '0' || c > '9' || h.length > (int64_t{1} << 40)) {
          h.length = -1;
          break;
        }
        h.length = h.length * 10 + (c - '0');
      }
    } else if (iequals(key, "WARC-Type")) {
      h.type = value;
    } else if (iequals(key, "WARC-Target-URI")) {
      h.uri = value;
    } else if (iequals(key, "WARC-Record-ID")) {
      h.record_id = value;
    } else if (iequals(key, "WARC-Date")) {
      h.date = value;
    }
  }
  return h;
}

void emit(const WarcHeader& h, std::string_view block, uint64_t start, const std::string& name,
          const DocumentSink& sink, SourceStats& stats) {
  std::string text;
  if (h.type == "conversion") {
    text = utf8::sanitize(block);
  } else if (h.type == "response") {
    std::string_view body = http_body(block);
    text = html_to_text(utf8::is_valid(body) ? std::string(body) : utf8::sanitize(body));
  } else {
    return;  // warcinfo, request, metadata, ...
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return;
  Document d;
  d.text = std::move(text);
  d.id = h.record_id.empty() ? fmt::format("{}:{}", name, start) : h.record_id;
  d.source = h.uri.empty() ? name : h.uri;
  d.meta["warc_file"] = name;
  d.meta["warc_offset"] = start;
  if (!h.uri.empty()) d.meta["url"] = h.uri;
  if (!h.date.empty()) d.meta["date"] = h.date;
  stats.documents++;
  stats.bytes += d.text.size();
  sink(std::move(d));
}

void parse_stream(WarcStream& s, const std::string& name, const DocumentSink& sink, SourceStats& stats) {
  if (s.view().empty()) s.fill(name, stats);
  if (uint64_t lead = seek_record(s, name, stats); lead > 0) {
    ++stats.bad_records;
    stats.bad_bytes += lead;
    stats.warn(fmt::format("{}: offset 0: {} bytes before the first WARC record skipped", name, lead));
  }
  for (;;) {
    if (s.view().empty()) {
      if (!s.fill(name, stats)) break;
      continue;
    }
    const uint64_t start = s.base();
    auto skip_bad = [&](std::string_view why) {
      ++stats.bad_records;
      stats.warn(fmt::format("{}: offset {}: {}, record skipped", name, start, why));
      const bool any = !s.view().empty();
      s.consume(1);
      stats.bad_bytes += (any ? 1 : 0) + seek_record(s, name, stats);
    };
    size_t hdr_end;
    bool header_ok = true;
    while ((hdr_end = s.view().find("\r\n\r\n")) == std::string_view::npos || hdr_end > kWarcMaxHeaderBytes) {
      if (hdr_end != std::string_view::npos || s.view().size() > kWarcMaxHeaderBytes) {
        skip_bad(fmt::format("WARC header longer than {} bytes", kWarcMaxHeaderBytes));
        header_ok = false;
        break;
      }
      if (!s.fill(name, stats) && s.view().find("\r\n\r\n") == std::string_view::npos) {
        skip_bad("truncated WARC header");
        header_ok = false;
        break;
      }
    }
    if (!header_ok) continue;
    const WarcHeader h = parse_header(s.view().substr(0, hdr_end));
    if (h.length < 0) {
      skip_bad("missing or bad Content-Length");
      continue;
    }
    const size_t body_start = hdr_end + 4;
    const uint64_t length = static_cast<uint64_t>(h.length);
    if (length > kWarcMaxRecordBytes) {
      ++stats.bad_records;
      stats.bad_bytes += body_start + length;
      stats.warn(fmt::format("{}: offset {}: record of {} bytes is larger than the {}-byte limit, skipped", name, start,
                             length, kWarcMaxRecordBytes));
      s.consume(body_start);
      discard(s, length, name, stats);
      seek_record(s, name, stats);
      continue;
    }
    while (s.view().size() < body_start + length && s.fill(name, stats)) {}
    if (s.view().size() < body_start + length) {
      skip_bad(fmt::format("truncated record: Content-Length {} runs past the end", length));
      continue;
    }
    emit(h, s.view().substr(body_start, static_cast<size_t>(length)), start, name, sink, stats);
    s.consume(body_start + static_cast<size_t>(length));
    seek_record(s, name, stats);
  }
}

}  // namespace

void parse_warc(std::string_view data, const std::string& name, const DocumentSink& sink, SourceStats& stats) {
  if (detect_compression(data) == Compression::none) {
    WarcStream s(data);
    parse_stream(s, name, sink, stats);
    return;
  }
  DecompressLimits limits;
  limits.max_output = kWarcMaxDecompressed;
  auto reader = DecompressReader::open(data, name, limits);
  if (!reader.ok()) {
    ++stats.bad_records;
    stats.bad_bytes += data.size();
    stats.warn(reader.error().message());
    return;
  }
  WarcStream s(std::move(*reader));
  parse_stream(s, name, sink, stats);
}

}  // namespace fragua::data
