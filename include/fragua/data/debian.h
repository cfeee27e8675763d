// SPDX-License-Identifier: Apache-2.0
// The built-in corpus source any Debian machine can reproduce: packages carrying text in our
// languages, fetched with `apt-get download` into a resumable cache, unpacked with dpkg-deb and
// converted to documents (gettext catalogs with their English originals, LibreOffice help HTML,
// manual pages, fortunes, the Reina-Valera 1909 Bible from its SWORD module). Every document
// records its package, version and licence.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/decompress.h"
#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/data/source.h"

namespace fragua::data {

struct DebianPackage {
  std::string name, version, licence;
};

// "small": help pages, books and the LibreOffice catalogs (about 40 MB of downloads, minutes);
// "full": adds the Debian handbook, GNOME help, manual pages and fortunes in the contrast
// languages; fetch_debian adds to it every package the archive's Contents indices show with a
// gettext catalog in es, ca, ca@valencia, eu or gl (see find_catalog_packages).
Result<std::vector<std::string>> debian_preset(std::string_view preset);

// The Contents indices of the archives apt is configured for, one URL per (suite, component)
// and architecture plus "all": <Base-URI><component>/Contents-<arch>.gz, from the output of
// `apt-get indextargets --format '$(BASE_URI) $(COMPONENT) $(ARCHITECTURE) $(CREATED_BY)'`
// (lines whose last field is not "Packages" are ignored). Duplicates removed, order kept.
std::vector<std::string> contents_urls(std::string_view indextargets_output);

// Scans a gzip-compressed Contents index (lines "path  section/package[,section/package...]",
// the path possibly holding spaces) and adds, for every file
// usr/share/locale/<locale>/LC_MESSAGES/*.mo whose locale is in `locales`, one to
// counts[package]. Errors name the file and the compressed offset of a corrupt stream; the file
// is decoded as a stream (base/decompress.h caps) and a line longer than 64 KiB is an error.
Status scan_contents_for_catalogs(const std::string& gz_path, const std::vector<std::string>& locales,
                                  std::map<std::string, int>& counts);
// The same on one uncompressed chunk of lines (tests, fuzzing).
void scan_contents_lines(std::string_view text, const std::vector<std::string>& locales,
                         std::map<std::string, int>& counts);

// Language code of a path component used by packages: "es", "ca@valencia" -> "ca-valencia",
// "pt_BR" -> "pt", "en-US"/"en_GB" -> "en", "eu", "gl", "fr", "it", "oc", "ast". "" if not ours.
std::string debian_lang(std::string_view locale);

// Converters, on memory (fuzzable):
// roff manual page source -> text (requests dropped, escapes resolved, text of .SH/.B kept).
std::string roff_to_text(std::string_view roff);
// fortune(6) files: entries separated by lines holding only '%'.
std::vector<std::string> split_fortunes(std::string_view data);
// zlib stream (RFC 1950), as SWORD zText blocks are stored. Error on a corrupt stream, or one
// that expands past `max_output` bytes or the ratio cap (base/decompress.h).
Result<std::string> zlib_inflate(std::string_view data, const std::string& where,
                                 uint64_t max_output = kDecompressMaxOutput);
// SWORD zText module: the .bzs block index (12-byte records: offset, size, uncompressed size,
// little-endian), the .bzz compressed blocks, the .bzv verse index (10-byte records: block,
// offset, size). Returns the verses' text (OSIS markup removed), one string per verse. Each block
// is decoded within the bounds its record gives: one zlib stream that inflates to the recorded
// size, then only zero padding (SWORD's writer leaves some); anything else is a corruption error
// naming the block.
Result<std::vector<std::string>> read_sword_ztext(std::string_view bzs, std::string_view bzz, std::string_view bzv,
                                                  const std::string& where);

// Converts every text-bearing file of an unpacked package under `root` into documents
// (meta: package, version, licence, path; lang set from the path). Catalog strings carry their
// English original in meta["en"]. The tree is walked and read through env (symlinks are
// neither followed nor read).
Status extract_debian_tree(const std::string& root, const DebianPackage& pkg, const DocumentSink& sink,
                           SourceStats& stats, Env& env = Env::posix());

struct FetchOptions {
  std::string preset = "small";
  std::vector<std::string> packages;  // explicit list; overrides the preset
  std::string cache_dir;              // downloads and per-package extraction results (resumable)
  std::string out_dir;                // <lang>.jsonl, parallel/<lang>-en.jsonl, manifest.json, report.md
  int threads = 0;
  std::string apt_get = "apt-get";  // tests point this at a fake
  // "full": the locales whose catalogs select packages from the Contents indices.
  std::vector<std::string> catalog_locales = {"es", "ca", "ca@valencia", "eu", "gl"};
  Env* env = nullptr;  // file access (nullptr: Env::posix()); apt-get and dpkg-deb write their own
};
Status fetch_debian(const FetchOptions& options);

}  // namespace fragua::data
