// SPDX-License-Identifier: Apache-2.0
// Finding every Debian package that ships gettext catalogs in our languages, from the archive's
// Contents indices (dists/<suite>/<component>/Contents-<arch>.gz: one line per file of every
// package, "path  section/package,section/package"; Debian wiki "DebianRepository/Format").
#include <cstdio>
#include <set>

#include "fragua/base/decompress.h"
#include "fragua/base/file.h"
#include "fragua/data/debian.h"

namespace fragua::data {

std::vector<std::string> contents_urls(std::string_view out) {
  std::vector<std::string> urls;
  std::set<std::string> seen;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t eol = out.find('\n', pos);
    std::string_view line = out.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? out.size() : eol + 1;
    std::vector<std::string> f;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
      if (j > i) f.emplace_back(line.substr(i, j - i));
      i = j;
    }
    if (f.size() != 4 || f[3] != "Packages" || !(f[0].starts_with("http://") || f[0].starts_with("https://"))) continue;
    std::string base = f[0];
    if (!base.ends_with('/')) base += '/';
    for (const std::string& arch : {f[2], std::string("all")}) {
      std::string url = base + f[1] + "/Contents-" + arch + ".gz";
      if (seen.insert(url).second) urls.push_back(url);
    }
  }
  return urls;
}

namespace {

// A Contents line is a path and a package list: paths are under 4 KB (PATH_MAX), lists of a
// few hundred packages for the most shared files stay far below 64 KiB.
constexpr size_t kContentsMaxLineBytes = size_t{64} << 10;
// Decompressed Contents index: bookworm's largest (main, amd64) is about 1 GB; read as a stream,
// so the cap only bounds time.
constexpr uint64_t kContentsMaxBytes = uint64_t{16} << 30;  // 16 GiB

// "usr/share/locale/<locale>/LC_MESSAGES/<name>.mo" -> locale, or "" when the path is not one.
std::string_view catalog_locale(std::string_view path) {
  constexpr std::string_view kPrefix = "usr/share/locale/", kMid = "/LC_MESSAGES/";
  if (!path.starts_with(kPrefix) || !path.ends_with(".mo")) return {};
  size_t slash = path.find('/', kPrefix.size());
  if (slash == std::string_view::npos || path.compare(slash, kMid.size(), kMid) != 0) return {};
  if (path.find('/', slash + kMid.size()) != std::string_view::npos) return {};
  return path.substr(kPrefix.size(), slash - kPrefix.size());
}

}  // namespace

void scan_contents_lines(std::string_view text, const std::vector<std::string>& locales,
                         std::map<std::string, int>& counts) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    // The location list is the last whitespace-separated field; the path is what precedes it.
    size_t sep = line.find_last_of(" \t");
    if (sep == std::string_view::npos) continue;
    std::string_view where = line.substr(sep + 1), path = line.substr(0, sep);
    while (!path.empty() && (path.back() == ' ' || path.back() == '\t')) path.remove_suffix(1);
    std::string_view loc = catalog_locale(path);
    if (loc.empty()) continue;
    bool wanted = false;
    for (const auto& l : locales) wanted |= loc == l;
    if (!wanted) continue;
    size_t s = 0;
    while (s < where.size()) {
      size_t comma = where.find(',', s);
      std::string_view entry = where.substr(s, comma == std::string_view::npos ? std::string_view::npos : comma - s);
      s = comma == std::string_view::npos ? where.size() : comma + 1;
      size_t slash = entry.rfind('/');
      std::string_view pkg = slash == std::string_view::npos ? entry : entry.substr(slash + 1);
      if (!pkg.empty()) ++counts[std::string(pkg)];
    }
  }
}

Status scan_contents_for_catalogs(const std::string& gz_path, const std::vector<std::string>& locales,
                                  std::map<std::string, int>& counts) {
  auto file = FRAGUA_TRY(MappedFile::open(gz_path));
  DecompressLimits limits;
  limits.max_output = kContentsMaxBytes;
  auto reader = FRAGUA_TRY(DecompressReader::open(file.view(), gz_path, limits));
  std::string carry;
  std::string buf(size_t{1} << 20, '\0');
  for (;;) {
    size_t n = FRAGUA_TRY(reader.read(buf.data(), buf.size()));
    if (n == 0) break;
    carry.append(buf.data(), n);
    size_t last = carry.rfind('\n');
    if (last == std::string::npos) {
      if (carry.size() > kContentsMaxLineBytes)
        return corruption_error("{}: decompressed offset {}: a line longer than {} bytes: not a Contents index",
                                gz_path, reader.output_bytes() - carry.size(), kContentsMaxLineBytes);
      continue;
    }
    scan_contents_lines(std::string_view(carry).substr(0, last + 1), locales, counts);
    carry.erase(0, last + 1);
  }
  scan_contents_lines(carry, locales, counts);
  return ok_status();
}

}  // namespace fragua::data
