// SPDX-License-Identifier: Apache-2.0
// Prose from Debian documentation packages: manuals whose language is a file-name part
// (LilyPond's *.ca.html, the Debian reference's ch01.es.html) or the name of a per-language doc
// folder (debian-edu-doc-es), KiCad's help under usr/share/doc, fortunes-es's *.fortunes files;
// copyright files, changelogs and fortune indices stay out.
#include <map>

#include "fragua/data/debian.h"
#include "test_util.h"

namespace fragua::data {
namespace {

TEST(DebianProse, ManualsFortunesAndWhatStaysOut) {
  fragua::test::TempDir dir;
  std::string root = dir.file("pkg");
  auto put = [&](const std::string& rel, const std::string& text) { test::write_test_file(root + "/" + rel, text); };
  put("usr/share/doc/lilypond/html/Documentation/learning/adding-text.ca.html", "<p>Afegir text a la partitura</p>");
  put("usr/share/debian-reference/ch01.es.html", "<p>Tutoriales de GNU/Linux</p>");
  put("usr/share/doc/debian-edu-doc-es/manual.html", "<p>Manual de Debian Edu</p>");
  put("usr/share/doc/kicad/help/gl/index.html", "<p>Primeiros pasos en KiCad</p>");
  put("usr/share/doc/kicad/help/index.html", "<p>English only, no language</p>");
  put("usr/share/doc/debian-edu-doc-es/copyright", "Copyright: texto legal");
  put("usr/share/doc/debian-edu-doc-es/changelog.html", "");  // empty: nothing
  put("usr/share/games/fortunes/es/amistad.fortunes",
      "Un amigo es un tesoro.\n%\nQuien tiene un amigo tiene un tesoro.\n");
  put("usr/share/games/fortunes/es/amistad.fortunes.dat", std::string("\x00\x00\x00\x02", 4));
  std::map<std::string, std::string> got;  // path -> lang
  std::map<std::string, std::string> kind;
  SourceStats st;
  DebianPackage pkg{"docs", "1", "GPL-2+"};
  auto s = extract_debian_tree(
      root, pkg,
      [&](Document&& d) {
        std::string path = d.meta["path"].get<std::string>();
        got[path] = d.lang;
        kind[path] = d.meta["kind"].get<std::string>();
      },
      st);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(got["usr/share/doc/lilypond/html/Documentation/learning/adding-text.ca.html"], "ca");
  EXPECT_EQ(got["usr/share/debian-reference/ch01.es.html"], "es");
  EXPECT_EQ(got["usr/share/doc/debian-edu-doc-es/manual.html"], "es");
  EXPECT_EQ(got["usr/share/doc/kicad/help/gl/index.html"], "gl");
  EXPECT_EQ(got.count("usr/share/doc/kicad/help/index.html"), 0u);
  EXPECT_EQ(got.count("usr/share/doc/debian-edu-doc-es/copyright"), 0u);
  EXPECT_EQ(kind["usr/share/games/fortunes/es/amistad.fortunes#0"], "fortune");
  EXPECT_EQ(kind["usr/share/games/fortunes/es/amistad.fortunes#1"], "fortune");
  EXPECT_EQ(got.count("usr/share/games/fortunes/es/amistad.fortunes.dat#0"), 0u);
  EXPECT_EQ(kind["usr/share/debian-reference/ch01.es.html"], "help");
  EXPECT_EQ(got.size(), 6u);
}

}  // namespace
}  // namespace fragua::data
