// SPDX-License-Identifier: Apache-2.0
// Sentence pairs between two of our languages derived from gettext catalogs by pivoting on the
// shared English original: two translations of the same msgid in the same catalog of the same
// upstream package are translations of each other. .mo catalogs hold no fuzzy entries (msgfmt
// leaves them out unless --use-fuzzy), and the Debian extraction already drops untranslated
// strings and those identical to their English original, so every pair is two real
// translations.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/file.h"

namespace fragua::data {

// One translated catalog string, as `corpus fetch debian` writes it to parallel/<lang>-en.jsonl.
struct CatalogString {
  std::string en, text;  // English original, translation (cleaned)
  std::string package, version, licence;
  std::string catalog;  // the .mo file name ("sw.mo"), "" when the record does not say
};

// A pair keyed by (package family, catalog, English): the package family is the binary package
// name without a trailing language part ("libreoffice-l10n-ca" -> "libreoffice-l10n"), so
// languages split into per-language packages still meet.
std::string package_family(std::string_view package);

struct PivotPair {
  std::string source, target, en;
  std::string family, source_package, target_package, licence, target_licence;
};

struct PivotStats {
  uint64_t pairs = 0;        // written, after de-duplication
  uint64_t shared_keys = 0;  // keys translated in both languages
  uint64_t ambiguous = 0;    // keys with several translations in one language (majority kept)
  uint64_t duplicates = 0;   // (source, target) pairs already written from another key
};

// Joins two languages' catalog strings on (family, catalog, English). Where one language has
// several translations of a key, the most frequent is kept (ties: the smallest text). Pairs
// are de-duplicated on (source, target) text, keeping the first in key order; the output is
// sorted by key, so it does not depend on the input order.
std::vector<PivotPair> pivot_catalog_strings(const std::vector<CatalogString>& source,
                                             const std::vector<CatalogString>& target, PivotStats& stats);

// Reads parallel/<lang>-en.jsonl of a `corpus fetch debian` output. Errors name the file and
// line.
Result<std::vector<CatalogString>> read_catalog_strings(const std::string& path, const std::string& lang,
                                                        Env& env = Env::posix());

struct PairsOptions {
  std::string corpus_dir;  // holds parallel/<lang>-en.jsonl
  std::string out_dir;     // "" : <corpus_dir>/parallel
  std::string pivot = "es";
  std::vector<std::string> targets = {"ca", "ca-valencia", "eu", "gl"};
  Env* env = nullptr;  // nullptr: Env::posix()
};

struct PairsReport {
  std::string source, target, path;
  PivotStats stats;
};

// Writes <out_dir>/<pivot>-<target>.jsonl for each target (one object per pair: the two texts
// under their language codes, "en", "package" (the family), "source_packages", "licence" and,
// when it differs, "licence_<target>"), each file written whole or not at all (AtomicFile), and
// pairs.md, the counts table. A target whose parallel file is absent is skipped with a warning.
Result<std::vector<PairsReport>> build_pivot_pairs(const PairsOptions& options);

}  // namespace fragua::data
