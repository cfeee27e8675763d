// SPDX-License-Identifier: Apache-2.0
// `fragua corpus fetch debian` against a fake apt-get that hands out a package this test builds
// with dpkg-deb (no network), plus the converters on their own.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/data/debian.h"
#include "http_fixture.h"
#include "mo_fixture.h"
#include "test_util.h"

using namespace fragua;
using namespace fragua::data;
namespace fs = std::filesystem;

namespace {

// Options that point fetch_debian at the fake apt-get script written to dir/apt-get.
FetchOptions fake_apt_options(const test::TempDir& dir) {
  fs::permissions(dir.file("apt-get"), fs::perms::owner_all);
  FetchOptions o;
  o.cache_dir = dir.file("cache");
  o.out_dir = dir.file("out");
  o.apt_get = dir.file("apt-get");
  o.threads = 1;
  return o;
}

}  // namespace

using fragua::test::make_mo;

TEST(Debian, Converters) {
  EXPECT_EQ(debian_lang("ca@valencia"), "ca-valencia");
  EXPECT_EQ(debian_lang("pt_BR"), "pt");
  EXPECT_EQ(debian_lang("en-US"), "en");
  EXPECT_EQ(debian_lang("de"), "");
  EXPECT_EQ(roff_to_text(".TH LS 1\n.SH NOMBRE\nls \\- lista el \\fBcontenido\\fP\n.\\\" comentario\n"),
            "\nNOMBRE\nls - lista el contenido\n");
  auto f = split_fortunes("Uno\n%\nDos\nlíneas\n%\n");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1], "Dos\nlíneas\n");
  EXPECT_FALSE(zlib_inflate("not zlib", "x").ok());
}

TEST(Debian, FetchWithFakeAptGet) {
  if (test::run_command("command -v dpkg-deb > /dev/null") != 0) GTEST_SKIP() << "dpkg-deb not installed";
  test::TempDir dir;
  std::string root = dir.file("pkg");
  test::write_test_file(root + "/DEBIAN/control",
        "Package: fake-l10n\nVersion: 1.2-3\nArchitecture: all\nMaintainer: Test <t@example.org>\nDescription: test\n");
  test::write_test_file(root + "/usr/share/doc/fake-l10n/copyright",
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n");
  test::write_test_file(root + "/usr/share/locale/ca/LC_MESSAGES/fake.mo", make_mo({{"", "Content-Type: text/plain; charset=UTF-8\n"},
                                                                    {"&Open file", "&Obre el fitxer"},
                                                                    {"OK", "OK"},
                                                                    {"Save %s", "Desa %s"}}));
  test::write_test_file(root + "/usr/share/locale/ca@valencia/LC_MESSAGES/fake.mo", make_mo({{"&Open file", "&Obri el fitxer"}}));
  test::write_test_file(root + "/usr/share/help/gl/fake/index.html", "<p>Axuda do programa &amp; m&aacute;is</p>");
  test::write_test_file(root + "/usr/share/games/fortunes/es/fake", "Más vale tarde que nunca.\n%\nQuien madruga, Dios le ayuda.\n%\n");
  std::string out;
  ASSERT_EQ(test::run_command("dpkg-deb --build " + root + " " + dir.file("fake-l10n_1.2-3_all.deb") + " 2>&1", &out),
            0)
      << out;
  // The fake apt-get: `apt-get download PKG` copies the prebuilt .deb into the current folder
  // and counts its calls, so the test can see that a second run downloads nothing.
  test::write_test_file(dir.file("apt-get"), "#!/bin/sh\necho x >> " + dir.file("calls") +
                                 "\n[ \"$1\" = download ] || exit 2\n"
                                 "[ \"$2\" = fake-l10n ] || { echo \"E: Unable to locate package $2\"; exit 100; }\n"
                                 "cp " +
                                 dir.file("fake-l10n_1.2-3_all.deb") + " .\n");
  FetchOptions o = fake_apt_options(dir);
  o.packages = {"fake-l10n", "missing-pkg"};
  ASSERT_TRUE(fetch_debian(o).ok());
  auto ca = read_file(dir.file("out/ca.jsonl"));
  ASSERT_TRUE(ca.ok());
  auto j = nlohmann::json::parse(ca->substr(0, ca->find('\n')));
  EXPECT_EQ(j["text"], "Obre el fitxer\nDesa\n");  // accelerator and placeholder gone, "OK" untranslated
  EXPECT_EQ(j["package"], "fake-l10n");
  EXPECT_EQ(j["version"], "1.2-3");
  EXPECT_EQ(j["licence"], "GPL-2+");
  EXPECT_TRUE(fs::exists(dir.file("out/ca-valencia.jsonl")));
  auto pairs = read_file(dir.file("out/parallel/ca-en.jsonl"));
  ASSERT_TRUE(pairs.ok());
  EXPECT_NE(pairs->find("\"en\":\"Open file\""), std::string::npos) << *pairs;
  auto gl = read_file(dir.file("out/gl.jsonl"));
  ASSERT_TRUE(gl.ok());
  EXPECT_NE(gl->find("Axuda do programa & máis"), std::string::npos);
  auto es = read_file(dir.file("out/es.jsonl"));
  ASSERT_TRUE(es.ok());
  EXPECT_EQ(std::count(es->begin(), es->end(), '\n'), 2);
  auto manifest = nlohmann::json::parse(*read_file(dir.file("out/manifest.json")));
  EXPECT_EQ(manifest["packages"][0]["licence"], "GPL-2+");
  // Resumable: the second run finds the .deb and the extraction in the cache.
  auto calls_before = read_file(dir.file("calls"))->size();
  ASSERT_TRUE(fetch_debian(o).ok());
  EXPECT_EQ(read_file(dir.file("calls"))->size(), calls_before + 2);  // only missing-pkg is retried
}

TEST(DebianContents, UrlsFromAptIndextargets) {
  auto urls = contents_urls(
      "http://deb.debian.org/debian/dists/bookworm/ main amd64 Packages\n"
      "http://deb.debian.org/debian/dists/bookworm/ main amd64 Translations\n"
      "http://deb.debian.org/debian/dists/bookworm/ contrib amd64 Packages\n"
      "http://deb.debian.org/debian/dists/bookworm/ main amd64 Packages\n"
      "file:/media/cdrom/dists/bookworm/ main amd64 Packages\n"
      "garbage\n");
  EXPECT_EQ(urls, (std::vector<std::string>{"http://deb.debian.org/debian/dists/bookworm/main/Contents-amd64.gz",
                                            "http://deb.debian.org/debian/dists/bookworm/main/Contents-all.gz",
                                            "http://deb.debian.org/debian/dists/bookworm/contrib/Contents-amd64.gz",
                                            "http://deb.debian.org/debian/dists/bookworm/contrib/Contents-all.gz"}));
}

const char* kContents =
    "usr/share/locale/es/LC_MESSAGES/gimp20.mo                  graphics/gimp-data\n"
    "usr/share/locale/ca@valencia/LC_MESSAGES/gedit.mo          gnome/gedit-common,gnome/gedit-plugins\n"
    "usr/share/locale/eu/LC_MESSAGES/a file with spaces.mo      utils/spacey\n"
    "usr/share/locale/fr/LC_MESSAGES/gimp20.mo                  graphics/gimp-data\n"
    "usr/share/locale/gl/LC_TIME/x.mo                           utils/not-messages\n"
    "usr/share/locale/es/LC_MESSAGES/sub/y.mo                   utils/too-deep\n"
    "usr/share/locale/es/LC_MESSAGES/gimp20-tips.mo             graphics/gimp-data\n"
    "usr/share/doc/gimp/README                                  graphics/gimp\n";

TEST(DebianContents, CountsCatalogsPerPackage) {
  std::map<std::string, int> counts;
  scan_contents_lines(kContents, {"es", "ca", "ca@valencia", "eu", "gl"}, counts);
  EXPECT_EQ(counts,
            (std::map<std::string, int>{{"gedit-common", 1}, {"gedit-plugins", 1}, {"gimp-data", 2}, {"spacey", 1}}));
  test::TempDir dir;
  std::string gz = test::gzip(kContents);
  ASSERT_TRUE(write_file_atomic(dir.file("c.gz"), gz).ok());
  std::map<std::string, int> from_file;
  ASSERT_TRUE(scan_contents_for_catalogs(dir.file("c.gz"), {"es", "ca", "ca@valencia", "eu", "gl"}, from_file).ok());
  EXPECT_EQ(from_file, counts);
  // A truncated download is an error naming the file, not a silently shorter list.
  ASSERT_TRUE(write_file_atomic(dir.file("t.gz"), gz.substr(0, gz.size() / 2)).ok());
  std::map<std::string, int> partial;
  auto st = scan_contents_for_catalogs(dir.file("t.gz"), {"es"}, partial);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("t.gz"), std::string::npos) << st.error().message();
}

TEST(DebianContents, FullPresetFindsCatalogPackagesThroughContentsIndices) {
  if (test::run_command("command -v dpkg-deb > /dev/null") != 0) GTEST_SKIP() << "dpkg-deb not installed";
  test::TempDir dir;
  std::string root = dir.file("pkg");
  test::write_test_file(root + "/DEBIAN/control",
        "Package: found-l10n\nVersion: 2.0\nArchitecture: all\nMaintainer: Test <t@example.org>\nDescription: test\n");
  test::write_test_file(root + "/usr/share/locale/eu/LC_MESSAGES/found.mo",
        make_mo({{"", "Content-Type: text/plain; charset=UTF-8\n"}, {"Open the file", "Ireki fitxategia"}}));
  std::string out;
  ASSERT_EQ(test::run_command("dpkg-deb --build " + root + " " + dir.file("found-l10n_2.0_all.deb") + " 2>&1", &out), 0)
      << out;
  // The archive: a Contents index on a local server naming found-l10n (and a package apt will
  // not find); the security-like suite has no Contents file (404) and is skipped.
  test::LocalHttpServer server({{"/debian/dists/stable/main/Contents-amd64.gz",
                                 test::gzip("usr/share/locale/eu/LC_MESSAGES/found.mo  localization/found-l10n\n"
                                            "usr/share/locale/gl/LC_MESSAGES/gone.mo   localization/gone-pkg\n"
                                            "usr/bin/found                              utils/found\n")},
                                {"/debian/dists/stable/main/Contents-all.gz", test::gzip("")}});
  test::write_test_file(dir.file("apt-get"),
        "#!/bin/sh\n"
        "if [ \"$1\" = indextargets ]; then\n"
        "  echo '" +
            server.base() +
            "/debian/dists/stable/ main amd64 Packages'\n"
            "  echo '" +
            server.base() +
            "/security/dists/stable/ main amd64 Packages'\n"
            "  exit 0\nfi\n"
            "[ \"$1\" = download ] || exit 2\nshift\nrc=0\n"
            "for p in \"$@\"; do\n"
            "  if [ \"$p\" = found-l10n ]; then cp " +
            dir.file("found-l10n_2.0_all.deb") +
            " .; else rc=100; fi\n"
            "done\nexit $rc\n");
  FetchOptions o = fake_apt_options(dir);
  o.preset = "full";
  ASSERT_TRUE(fetch_debian(o).ok());
  auto eu = read_file(dir.file("out/eu.jsonl"));
  ASSERT_TRUE(eu.ok());
  EXPECT_NE(eu->find("Ireki fitxategia"), std::string::npos) << *eu;
  auto manifest = nlohmann::json::parse(*read_file(dir.file("out/manifest.json")));
  EXPECT_EQ(manifest["discovery"]["catalog_packages"], 2);
  EXPECT_EQ(manifest["discovery"]["contents_indices"].size(), 2u);  // main amd64 + all; security skipped
  EXPECT_EQ(manifest["packages"].size(), 1u);
  EXPECT_EQ(manifest["packages"][0]["package"], "found-l10n");
}
