// WARC records (ISO 28500, WARC/1.0 and 1.1) and the gzip container they travel in. A record is
// "WARC/1.x" CRLF, header fields, CRLF, Content-Length bytes of block, CRLF CRLF. Common Crawl WET
// files hold 'conversion' records whose block is plain text; WARC files hold 'response' records
// whose block is an HTTP message. Damaged records are skipped by searching for the next
// "WARC/1." at a line start.
#include <zlib.h>

#include <cstring>

#include "fragua/base/utf8.h"
#include "fragua/data/source.h"

namespace fragua::data {

std::string gunzip(std::string_view data, int64_t* error_offset) {
  *error_offset = -1;
  std::string out;
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  // 16 + MAX_WBITS: gzip header and trailer (zlib manual, inflateInit2).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    *error_offset = 0;
    return out;
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(std::min<size_t>(data.size(), 1u << 30));
  char buf[1 << 16];
  size_t complete = 0;  // output size at the end of the last member whose CRC checked
  while (true) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    int rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_STREAM_END) {
      complete = out.size();
      if (zs.avail_in == 0) break;
      inflateReset(&zs);  // next gzip member (WARC files gzip each record on its own)
      continue;
    }
    if (rc == Z_OK) {
      if (zs.avail_in == 0 && zs.avail_out != 0) {  // input ran out mid-member: truncated
        *error_offset = static_cast<int64_t>(zs.total_in);
        break;
      }
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_out != 0) {
      *error_offset = static_cast<int64_t>(data.size() - zs.avail_in);
      break;
    }
    if (rc != Z_BUF_ERROR) {
      *error_offset = static_cast<int64_t>(data.size() - zs.avail_in);
      break;
    }
  }
  inflateEnd(&zs);
  // A member cut short is not verified by its CRC: keep only whole members.
  if (*error_offset >= 0) out.resize(complete);
  return out;
}

namespace {

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

size_t next_record(std::string_view s, size_t from) {
  while (true) {
    size_t p = s.find("WARC/1.", from);
    if (p == std::string_view::npos) return s.size();
    if (p == 0 || s[p - 1] == '\n') return p;
    from = p + 1;
  }
}

// The payload of an HTTP response: after the blank line ending the headers.
std::string_view http_body(std::string_view block) {
  size_t p = block.find("\r\n\r\n");
  if (p != std::string_view::npos) return block.substr(p + 4);
  p = block.find("\n\n");
  return p == std::string_view::npos ? std::string_view() : block.substr(p + 2);
}

}  // namespace

void parse_warc(std::string_view data, const std::string& name, const DocumentSink& sink, SourceStats& stats) {
  std::string inflated;
  if (data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f && static_cast<unsigned char>(data[1]) == 0x8b) {
    int64_t err = -1;
    inflated = gunzip(data, &err);
    if (err >= 0) {
      ++stats.bad_records;
      stats.warn(fmt::format("{}: compressed offset {}: truncated or corrupt gzip stream; keeping {} bytes decoded before it",
                             name, err, inflated.size()));
    }
    data = inflated;
  }
  size_t pos = next_record(data, 0);
  if (pos > 0) {
    ++stats.bad_records;
    stats.bad_bytes += pos;
    stats.warn(fmt::format("{}: offset 0: {} bytes before the first WARC record skipped", name, pos));
  }
  while (pos < data.size()) {
    size_t start = pos;
    size_t hdr_end = data.find("\r\n\r\n", pos);
    auto skip_bad = [&](std::string_view why) {
      size_t next = next_record(data, start + 1);
      ++stats.bad_records;
      stats.bad_bytes += next - start;
      stats.warn(fmt::format("{}: offset {}: {}, record skipped", name, start, why));
      pos = next;
    };
    if (hdr_end == std::string_view::npos) {
      skip_bad("truncated WARC header");
      continue;
    }
    std::string_view header = data.substr(pos, hdr_end - pos);
    int64_t length = -1;
    std::string type, uri, record_id, date, content_type;
    size_t line_start = header.find('\n');
    while (line_start != std::string_view::npos && line_start < header.size()) {
      size_t line_end = header.find('\n', line_start + 1);
      std::string_view line = header.substr(line_start + 1, (line_end == std::string_view::npos ? header.size() : line_end) - line_start - 1);
      line_start = line_end;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
      if (iequals(key, "Content-Length")) {
        length = 0;
        for (char c : value) {
          if (c < '0' || c > '9' || length > (int64_t{1} << 40)) {
            length = -1;
            break;
          }
          length = length * 10 + (c - '0');
        }
      } else if (iequals(key, "WARC-Type")) {
        type = value;
      } else if (iequals(key, "WARC-Target-URI")) {
        uri = value;
      } else if (iequals(key, "WARC-Record-ID")) {
        record_id = value;
      } else if (iequals(key, "WARC-Date")) {
        date = value;
      } else if (iequals(key, "Content-Type")) {
        content_type = value;
      }
    }
    if (length < 0) {
      skip_bad("missing or bad Content-Length");
      continue;
    }
    size_t body_start = hdr_end + 4;
    if (static_cast<uint64_t>(length) > data.size() - body_start) {
      skip_bad(fmt::format("truncated record: Content-Length {} runs past the end", length));
      continue;
    }
    std::string_view block = data.substr(body_start, static_cast<size_t>(length));
    pos = next_record(data, body_start + static_cast<size_t>(length));
    std::string text;
    if (type == "conversion") {
      text = utf8::sanitize(block);
    } else if (type == "response") {
      std::string_view body = http_body(block);
      text = html_to_text(utf8::is_valid(body) ? std::string(body) : utf8::sanitize(body));
    } else {
      continue;  // warcinfo, request, metadata, ...
    }
    if (text.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    Document d;
    d.text = std::move(text);
    d.id = record_id.empty() ? fmt::format("{}:{}", name, start) : record_id;
    d.source = uri.empty() ? name : uri;
    d.meta["warc_file"] = name;
    d.meta["warc_offset"] = start;
    if (!uri.empty()) d.meta["url"] = uri;
    if (!date.empty()) d.meta["date"] = date;
    stats.documents++;
    stats.bytes += d.text.size();
    sink(std::move(d));
  }
}

}  // namespace fragua::data
