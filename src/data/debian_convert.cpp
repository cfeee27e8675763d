// SPDX-License-Identifier: Apache-2.0
// Converters for the text formats found in Debian packages.
#include <cstring>
#include <optional>

#include "fragua/base/decompress.h"
#include "fragua/base/utf8.h"
#include "fragua/data/debian.h"

namespace fragua::data {
namespace {

// Decompressed text of one SWORD module, all blocks together: a whole Bible with its OSIS
// markup is about 15 MB.
constexpr uint64_t kSwordMaxTextBytes = uint64_t{256} << 20;  // 256 MiB

}  // namespace

std::string debian_lang(std::string_view loc) {
  std::string l(loc);
  if (l == "ca@valencia" || l == "ca-valencia" || l == "ca_ES@valencia") return "ca-valencia";
  size_t cut = l.find_first_of("_@-.");
  std::string base = cut == std::string::npos ? l : l.substr(0, cut);
  static constexpr const char* kOurs[] = {"es", "ca", "eu", "gl", "pt", "en", "fr", "it", "oc", "ast"};
  for (const char* o : kOurs)
    if (base == o) return base;
  return "";
}

// groff(7): requests start with '.' or '\'' at a line start; inline escapes start with '\'.
std::string roff_to_text(std::string_view roff) {
  std::string out;
  size_t pos = 0;
  while (pos < roff.size()) {
    size_t nl = roff.find('\n', pos);
    size_t end = nl == std::string_view::npos ? roff.size() : nl;
    std::string_view line = roff.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && (line[0] == '.' || line[0] == '\'')) {
      // Requests whose arguments are text: headings and font changes.
      size_t sp = line.find(' ');
      std::string_view req = line.substr(1, sp == std::string_view::npos ? std::string_view::npos : sp - 1);
      bool text_req = req == "SH" || req == "SS" || req == "B" || req == "I" || req == "BI" || req == "IB" ||
                      req == "BR" || req == "RB" || req == "IR" || req == "RI";
      if (req == "PP" || req == "P" || req == "LP" || req == "TP" || req == "IP" || req == "SH" || req == "SS" ||
          req == "br")
        out.push_back('\n');
      if (!text_req || sp == std::string_view::npos) continue;
      line = line.substr(sp + 1);
    }
    for (size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (c == '"') continue;
      if (c != '\\' || i + 1 >= line.size()) {
        out.push_back(c);
        continue;
      }
      char e = line[++i];
      if (e == '"') break;         // comment to end of line
      if (e == 'f' || e == 's') {  // \fB, \f(CW, \s+2: font and size changes
        if (i + 1 < line.size() && line[i + 1] == '(')
          i += 3;
        else if (i + 1 < line.size() && (line[i + 1] == '+' || line[i + 1] == '-'))
          i += 2;
        else
          ++i;
      } else if (e == '(') {  // \(em, \(co ... two-letter special characters
        std::string_view name = line.substr(i + 1, 2);
        out += name == "em" ? "\xE2\x80\x94" : name == "en" ? "\xE2\x80\x93" : name == "co" ? "\xC2\xA9" : " ";
        i += 2;
      } else if (e == '-' || e == 'e' || e == '\\') {
        out.push_back(e == 'e' ? '\\' : e);
      } else if (e == '&' || e == '^' || e == '|' || e == ')') {
        // zero-width
      } else if (e == ' ' || e == '~' || e == '0') {
        out.push_back(' ');
      } else if (e == '*') {  // string interpolation \*x or \*(xx
        if (i + 1 < line.size() && line[i + 1] == '(')
          i += 3;
        else
          ++i;
      } else {
        out.push_back(e);
      }
    }
    out.push_back('\n');
  }
  return out;
}

std::vector<std::string> split_fortunes(std::string_view data) {
  std::vector<std::string> out;
  std::string cur;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    size_t end = nl == std::string_view::npos ? data.size() : nl;
    std::string_view line = data.substr(pos, end - pos);
    pos = end + 1;
    if (line == "%" || line == "%\r") {
      if (cur.find_first_not_of(" \t\n") != std::string::npos) out.push_back(cur);
      cur.clear();
    } else {
      cur.append(line);
      cur.push_back('\n');
    }
  }
  if (cur.find_first_not_of(" \t\n") != std::string::npos) out.push_back(cur);
  return out;
}

Result<std::string> zlib_inflate(std::string_view data, const std::string& where, uint64_t max_output) {
  DecompressLimits limits;
  limits.max_output = max_output;
  return decompress_all(data, where, limits, Compression::zlib);
}

namespace {

// One block of a SWORD .bzz file, delimited by its .bzs record. SWORD's writer stores a block as
// one zlib stream followed by padding that the record's size counts: every block of the
// Reina-Valera 1909 module (sword-text-sparv 2.60, written by SWORD 1.9.0) ends in 1,024 zero
// bytes. So the stream must end inside the block, inflate to exactly the uncompressed size the
// record states, and be followed by zero bytes only. The decompressor keeps refusing trailing
// bytes for every other input; only here, where an index bounds the block, is padding allowed.
Result<std::string> inflate_sword_block(std::string_view block, uint64_t expected, const std::string& where,
                                        uint64_t budget) {
  DecompressLimits limits;
  limits.max_output = budget;
  auto reader = FRAGUA_TRY(DecompressReader::open(block, where, limits, Compression::zlib));
  std::string out;
  std::optional<Error> failed;
  for (;;) {
    auto chunk = reader.read(size_t{1} << 16);
    if (!chunk.ok()) {
      failed = std::move(chunk).error();
      break;
    }
    if (chunk->empty()) break;
    out += *chunk;
  }
  if (failed) {
    // The one error allowed: the stream ended (its Adler-32 checked) and bytes follow it.
    const uint64_t end = reader.compressed_offset();
    bool stream_ended = reader.verified_output() == reader.output_bytes() && end > 0 && end < block.size();
    // With no output, verified_output() cannot tell an ended stream from a failed start.
    if (stream_ended && out.empty())
      stream_ended = decompress_all(block.substr(0, end), where, limits, Compression::zlib).ok();
    if (!stream_ended) return std::move(*failed);
    if (block.find_first_not_of('\0', end) != std::string_view::npos)
      return corruption_error(
          "{}: compressed offset {}: non-zero bytes after the zlib stream (only zero padding may follow it)", where,
          block.find_first_not_of('\0', end));
  }
  if (out.size() != expected)
    return corruption_error("{}: inflates to {} bytes, the .bzs record says {}", where, out.size(), expected);
  return out;
}

}  // namespace

Result<std::vector<std::string>> read_sword_ztext(std::string_view bzs, std::string_view bzz, std::string_view bzv,
                                                  const std::string& where) {
  auto u32 = [](std::string_view s, size_t off) {
    uint32_t v;
    std::memcpy(&v, s.data() + off, 4);
    return v;
  };
  if (bzs.size() % 12 != 0)
    return corruption_error("{}.bzs: {} bytes, not a whole number of 12-byte block records", where, bzs.size());
  if (bzv.size() % 10 != 0)
    return corruption_error("{}.bzv: {} bytes, not a whole number of 10-byte verse records", where, bzv.size());
  std::vector<std::string> blocks;
  uint64_t budget = kSwordMaxTextBytes;  // shared by all blocks: many small bombs add up too
  for (size_t off = 0; off + 12 <= bzs.size(); off += 12) {
    uint64_t start = u32(bzs, off), size = u32(bzs, off + 4), expected = u32(bzs, off + 8);
    if (start + size > bzz.size())
      return corruption_error("{}.bzs: offset {}: block runs past the end of the .bzz file", where, off);
    if (expected > budget)
      return resource_exhausted_error("{}.bzs: offset {}: blocks add up to more than {} bytes of text", where, off,
                                      kSwordMaxTextBytes);
    auto text =
        inflate_sword_block(bzz.substr(start, size), expected,
                            fmt::format("{}.bzz block {} (bytes {}-{})", where, off / 12, start, start + size), budget);
    if (!text.ok()) return text.error();
    budget -= text->size();
    blocks.push_back(std::move(*text));
  }
  std::vector<std::string> verses;
  for (size_t off = 0; off + 10 <= bzv.size(); off += 10) {
    uint32_t block = u32(bzv, off), start = u32(bzv, off + 4);
    uint16_t size;
    std::memcpy(&size, bzv.data() + off + 8, 2);
    if (size == 0) continue;
    if (block >= blocks.size() || uint64_t{start} + size > blocks[block].size())
      return corruption_error("{}.bzv: offset {}: verse points outside its block", where, off);
    std::string v = html_to_text(std::string_view(blocks[block]).substr(start, size));
    for (char& c : v)
      if (c == '\n') c = ' ';
    v = utf8::sanitize(v);
    size_t first = v.find_first_not_of(' ');
    if (first != std::string::npos) verses.push_back(v.substr(first, v.find_last_not_of(' ') - first + 1));
  }
  return verses;
}

}  // namespace fragua::data
