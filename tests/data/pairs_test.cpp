// SPDX-License-Identifier: Apache-2.0
// Catalog pairs by English pivot: .mo catalogs written by the test go through the Debian
// extraction (cleaning, untranslated strings dropped) and are paired es<->ca/eu/gl; the files
// `corpus fetch debian` writes are paired by build_pivot_pairs, with counts, de-duplication,
// majority choice, licences and errors naming the file and line.
#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/data/debian.h"
#include "fragua/data/pairs.h"
#include "mo_fixture.h"
#include "test_util.h"

namespace fragua::data {
namespace {

using test::make_mo;

// The catalog strings of one language from an unpacked package tree, through the real extraction.
std::vector<CatalogString> strings_of(const std::string& root, const DebianPackage& pkg, const std::string& lang) {
  std::vector<CatalogString> out;
  SourceStats st;
  auto s = extract_debian_tree(
      root, pkg,
      [&](Document&& d) {
        if (d.lang != lang || !d.meta.contains("pairs")) return;
        for (const auto& p : d.meta["pairs"])
          out.push_back({p[0].get<std::string>(), p[1].get<std::string>(), pkg.name, pkg.version, pkg.licence,
                         d.meta["path"].get<std::string>().substr(d.meta["path"].get<std::string>().rfind('/') + 1)});
      },
      st);
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  return out;
}

TEST(PivotPairs, CatalogFixtureThroughExtraction) {
  fragua::test::TempDir dir;
  std::string root = dir.file("pkg");
  auto mo = [&](const std::string& loc, std::vector<std::pair<std::string, std::string>> pairs) {
    pairs.insert(pairs.begin(), {"", "Content-Type: text/plain; charset=UTF-8\n"});
    test::write_test_file(root + "/usr/share/locale/" + loc + "/LC_MESSAGES/app.mo", make_mo(pairs));
  };
  mo("es", {{"Open file", "Abrir archivo"},
            {"Save the document", "Guardar el documento"},
            {"Quit", "Salir"},
            {"Only in Spanish", "Solo en español"},
            {"Print", ""},  // untranslated: no pair
            {"Close", "Cerrar"}});
  mo("ca", {{"Open file", "Obre el fitxer"},
            {"Save the document", "Desa el document"},
            {"Quit", "Quit"},  // identical to the English: dropped by the extraction
            {"Print", "Imprimeix"},
            {"Close", "Tanca"}});
  mo("eu", {{"Open file", "Ireki fitxategia"}, {"Close", "Itxi"}});
  DebianPackage pkg{"app-l10n", "1.0-1", "GPL-2+"};
  auto es = strings_of(root, pkg, "es"), ca = strings_of(root, pkg, "ca"), eu = strings_of(root, pkg, "eu");
  ASSERT_FALSE(es.empty());
  PivotStats st;
  auto pairs = pivot_catalog_strings(es, ca, st);
  std::map<std::string, std::string> got;
  for (const auto& p : pairs) {
    got[p.source] = p.target;
    EXPECT_EQ(p.family, "app-l10n");
    EXPECT_EQ(p.licence, "GPL-2+");
  }
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"Abrir archivo", "Obre el fitxer"},
                                                     {"Guardar el documento", "Desa el document"},
                                                     {"Cerrar", "Tanca"}}));
  EXPECT_EQ(st.pairs, 3u);
  PivotStats st_eu;
  EXPECT_EQ(pivot_catalog_strings(es, eu, st_eu).size(), 2u);
}

std::string pair_record(const std::string& lang, const std::string& en, const std::string& text, const std::string& pkg,
                        const std::string& licence, const std::string& path = "") {
  nlohmann::json j = {{"en", en}, {lang, text}, {"package", pkg}, {"version", "1"}, {"licence", licence}};
  if (!path.empty()) j["path"] = path;
  return j.dump() + "\n";
}

TEST(PivotPairs, FilesOfAFetchOutput) {
  fragua::test::TempDir dir;
  std::string par = dir.file("corpus/parallel");
  // Per-language packages of one upstream meet through their family; the catalog file name keeps
  // two catalogs' same English apart; a key translated twice keeps its majority.
  test::write_test_file(par + "/es-en.jsonl",
                        pair_record("es", "Open", "Abrir", "suite-l10n-es", "MPL-2.0", "x/es/LC_MESSAGES/a.mo") +
                            pair_record("es", "Open", "Abre", "suite-l10n-es", "MPL-2.0", "x/es/LC_MESSAGES/b.mo") +
                            pair_record("es", "Table", "Tabla", "suite-l10n-es", "MPL-2.0", "x/es/LC_MESSAGES/a.mo") +
                            pair_record("es", "Table", "Tabla", "suite-l10n-es", "MPL-2.0", "x/es/LC_MESSAGES/a.mo") +
                            pair_record("es", "Table", "Mesa", "suite-l10n-es", "MPL-2.0", "x/es/LC_MESSAGES/a.mo") +
                            pair_record("es", "Tables", "Tabla", "suite-l10n-es", "MPL-2.0", "x/es/LC_MESSAGES/a.mo") +
                            pair_record("es", "Exit", "Salir", "other", "GPL-3+"));
  test::write_test_file(par + "/ca-en.jsonl",
                        pair_record("ca", "Open", "Obre", "suite-l10n-ca", "MPL-2.0", "x/ca/LC_MESSAGES/a.mo") +
                            pair_record("ca", "Open", "Obri", "suite-l10n-ca", "MPL-2.0", "x/ca/LC_MESSAGES/b.mo") +
                            pair_record("ca", "Table", "Taula", "suite-l10n-ca", "MPL-2.0", "x/ca/LC_MESSAGES/a.mo") +
                            pair_record("ca", "Tables", "Taula", "suite-l10n-ca", "MPL-2.0", "x/ca/LC_MESSAGES/a.mo") +
                            pair_record("ca", "Exit", "Surt", "other", "GPL-3+ AND LGPL-2+"));
  test::write_test_file(par + "/gl-en.jsonl", pair_record("gl", "Exit", "Saír", "elsewhere", "GPL-3+"));
  PairsOptions o;
  o.corpus_dir = dir.file("corpus");
  o.targets = {"ca", "gl", "eu"};  // eu absent: skipped
  auto r = build_pivot_pairs(o);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  const PairsReport& ca = (*r)[0];
  EXPECT_EQ(ca.target, "ca");
  // (a.mo Open) (b.mo Open) (Table: Tabla twice over Mesa) (Tables: same texts, a duplicate) (Exit).
  EXPECT_EQ(ca.stats.shared_keys, 5u);
  EXPECT_EQ(ca.stats.pairs, 4u);
  EXPECT_EQ(ca.stats.duplicates, 1u);
  EXPECT_EQ(ca.stats.ambiguous, 1u);
  EXPECT_EQ((*r)[1].stats.pairs, 0u);  // another package: never paired
  auto text = read_file(par + "/es-ca.jsonl");
  ASSERT_TRUE(text.ok());
  std::map<std::string, nlohmann::json> by_es;
  for (size_t p = 0; p < text->size();) {
    size_t nl = text->find('\n', p);
    auto j = nlohmann::json::parse(text->substr(p, nl - p));
    by_es[j["es"].get<std::string>() + "|" + j["ca"].get<std::string>()] = j;
    p = nl + 1;
  }
  ASSERT_EQ(by_es.size(), 4u);
  EXPECT_TRUE(by_es.count("Abrir|Obre") && by_es.count("Abre|Obri") && by_es.count("Tabla|Taula"));
  const auto& exit = by_es.at("Salir|Surt");
  EXPECT_EQ(exit["licence"], "GPL-3+");
  EXPECT_EQ(exit["licence_ca"], "GPL-3+ AND LGPL-2+");
  EXPECT_EQ(by_es.at("Tabla|Taula")["package"], "suite-l10n");
  EXPECT_EQ(by_es.at("Tabla|Taula")["source_packages"], nlohmann::json::array({"suite-l10n-es", "suite-l10n-ca"}));
  auto md = read_file(par + "/pairs.md");
  ASSERT_TRUE(md.ok());
  EXPECT_NE(md->find("| es-ca | 4 |"), std::string::npos) << *md;

  // A broken record names its file and line; nothing is written for that pair.
  test::write_test_file(par + "/eu-en.jsonl", pair_record("eu", "Open", "Ireki", "x", "y") + "{\"en\": 5}\n");
  o.targets = {"eu"};
  auto bad = build_pivot_pairs(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("eu-en.jsonl:2"), std::string::npos) << bad.error().message();
  EXPECT_FALSE(Env::posix().file_exists(par + "/es-eu.jsonl"));
  // No pivot file: an error that says what to run.
  o.corpus_dir = dir.file("nothing");
  auto none = build_pivot_pairs(o);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("corpus fetch debian"), std::string::npos);
}

TEST(PivotPairs, PackageFamily) {
  EXPECT_EQ(package_family("libreoffice-l10n-ca"), "libreoffice-l10n");
  EXPECT_EQ(package_family("libreoffice-help-ca-valencia"), "libreoffice-help");
  EXPECT_EQ(package_family("gimp"), "gimp");
  EXPECT_EQ(package_family("-es"), "-es");
}

}  // namespace
}  // namespace fragua::data
