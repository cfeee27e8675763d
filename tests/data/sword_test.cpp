// SPDX-License-Identifier: Apache-2.0
// SWORD zText modules (the Reina-Valera 1909 of sword-text-sparv): blocks addressed by the .bzs
// index, each a zlib stream followed by the zero padding SWORD's writer leaves (1,024 bytes in
// the Debian package), verses addressed by the .bzv index. The fixtures are built here from the
// formats' definitions: zlib streams of stored deflate blocks (RFC 1950, RFC 1951 3.2.4) with
// their Adler-32, little-endian index records.
#include <map>

#include "fragua/data/debian.h"
#include "test_util.h"

namespace fragua::data {
namespace {

void put_le(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A zlib stream holding `text` in one stored (uncompressed) deflate block.
std::string sword_test_zlib(const std::string& text) {
  std::string z = "\x78\x01";  // CM 8, 32K window; (0x78 << 8 | 0x01) % 31 == 0
  z.push_back('\x01');         // BFINAL 1, BTYPE 00
  put_le(z, text.size(), 2);
  put_le(z, ~text.size() & 0xffff, 2);
  z += text;
  uint32_t a = 1, b = 0;  // Adler-32 (RFC 1950 8.2), stored big-endian
  for (unsigned char c : text) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  uint32_t adler = b << 16 | a;
  for (int i = 3; i >= 0; --i) z.push_back(static_cast<char>((adler >> (8 * i)) & 0xff));
  return z;
}

struct SwordFixture {
  std::string bzs, bzz, bzv;
  // Appends a block of `text` followed by `padding`.
  void block(const std::string& text, const std::string& padding, int64_t stated_size = -1) {
    std::string z = sword_test_zlib(text) + padding;
    put_le(bzs, bzz.size(), 4);
    put_le(bzs, z.size(), 4);
    put_le(bzs, stated_size < 0 ? text.size() : static_cast<uint64_t>(stated_size), 4);
    bzz += z;
  }
  void verse(uint32_t block, uint32_t start, uint16_t size) {
    put_le(bzv, block, 4);
    put_le(bzv, start, 4);
    put_le(bzv, size, 2);
  }
};

const std::string kSwordPad(1024, '\0');
const std::string kSwordBlock0 = "<title>Génesis</title><w lemma=\"strong:H7225\">EN el principio</w> crió Dios";
const std::string kSwordBlock1 = "<w>Y dijo</w> Dios: Sea la luz:\ny fué la luz.";

// Two blocks padded as sword-text-sparv's are; an empty verse record (SWORD's module heading)
// and verses from both blocks.
SwordFixture padded_module() {
  SwordFixture m;
  m.block(kSwordBlock0, kSwordPad);
  m.block(kSwordBlock1, kSwordPad);
  m.verse(0, 0, 0);
  const auto title_end = static_cast<uint16_t>(kSwordBlock0.find("<w"));
  m.verse(0, 0, title_end);
  m.verse(0, title_end, static_cast<uint16_t>(kSwordBlock0.size() - title_end));
  m.verse(1, 0, static_cast<uint16_t>(kSwordBlock1.size()));
  return m;
}

TEST(SwordZText, PaddedBlocksThroughTheIndex) {
  SwordFixture m = padded_module();
  auto v = read_sword_ztext(m.bzs, m.bzz, m.bzv, "ot");
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  ASSERT_EQ(v->size(), 3u);
  EXPECT_EQ((*v)[0], "Génesis");
  EXPECT_EQ((*v)[1], "EN el principio crió Dios");
  EXPECT_EQ((*v)[2], "Y dijo Dios: Sea la luz: y fué la luz.");
  // The global decompressor stays strict: a padded block alone is refused.
  EXPECT_FALSE(zlib_inflate(m.bzz.substr(0, m.bzz.size() / 2), "block").ok());
}

TEST(SwordZText, UnpaddedBlocksToo) {
  SwordFixture m;
  m.block(kSwordBlock1, "");
  m.verse(0, 0, static_cast<uint16_t>(kSwordBlock1.size()));
  auto v = read_sword_ztext(m.bzs, m.bzz, m.bzv, "nt");
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  ASSERT_EQ(v->size(), 1u);
  EXPECT_EQ((*v)[0], "Y dijo Dios: Sea la luz: y fué la luz.");
}

std::string sword_error(const SwordFixture& m) {
  auto v = read_sword_ztext(m.bzs, m.bzz, m.bzv, "nt");
  return v.ok() ? "" : v.error().message();
}

TEST(SwordZText, CorruptModulesNameTheBlock) {
  {  // Padding must be zeros: anything else after the stream is not SWORD's.
    SwordFixture m;
    m.block(kSwordBlock0, kSwordPad);
    m.block(kSwordBlock1, std::string(10, '\0') + "x" + std::string(5, '\0'));
    std::string e = sword_error(m);
    EXPECT_NE(e.find("nt.bzz block 1"), std::string::npos) << e;
    EXPECT_NE(e.find("non-zero bytes after the zlib stream"), std::string::npos) << e;
  }
  {  // A second zlib stream in the padding is not padding either.
    SwordFixture m;
    m.block(kSwordBlock0, sword_test_zlib("más"));
    EXPECT_NE(sword_error(m).find("nt.bzz block 0"), std::string::npos);
  }
  {  // The record's uncompressed size must match.
    SwordFixture m;
    m.block(kSwordBlock0, kSwordPad, static_cast<int64_t>(kSwordBlock0.size()) + 1);
    std::string e = sword_error(m);
    EXPECT_NE(e.find("the .bzs record says"), std::string::npos) << e;
  }
  {  // A stream cut short by its record (the Adler-32 missing) is truncated, padding or not.
    SwordFixture m;
    m.block(kSwordBlock0, "");
    m.bzs[4] = static_cast<char>(m.bzs[4] - 2);
    EXPECT_NE(sword_error(m).find("truncated"), std::string::npos) << sword_error(m);
  }
  {  // A flipped text byte fails the Adler-32.
    SwordFixture m = padded_module();
    m.bzz[10] = static_cast<char>(m.bzz[10] ^ 0x20);
    EXPECT_NE(sword_error(m).find("nt.bzz block 0"), std::string::npos) << sword_error(m);
  }
  {  // Only zeros where the stream should start: not an empty block.
    SwordFixture m;
    m.block("", "");
    m.bzz = std::string(m.bzz.size() + 8, '\0');
    m.bzs[4] = static_cast<char>(m.bzz.size());
    EXPECT_FALSE(sword_error(m).empty());
  }
  {  // Torn index files.
    SwordFixture m = padded_module();
    m.bzs.pop_back();
    EXPECT_NE(sword_error(m).find("12-byte block records"), std::string::npos);
    m = padded_module();
    m.bzv.pop_back();
    EXPECT_NE(sword_error(m).find("10-byte verse records"), std::string::npos);
  }
  {  // A verse past its block.
    SwordFixture m = padded_module();
    m.verse(1, 4, static_cast<uint16_t>(kSwordBlock1.size()));
    EXPECT_NE(sword_error(m).find("verse points outside its block"), std::string::npos);
  }
}

TEST(SwordZText, ExtractedAsBibleDocumentsOfItsLanguage) {
  fragua::test::TempDir dir;
  std::string root = dir.file("pkg");
  SwordFixture m = padded_module();
  std::string mod = root + "/usr/share/sword/modules/texts/ztext/spaRV1909eb/";
  test::write_test_file(root + "/usr/share/sword/mods.d/sparv1909eb.conf", "[spaRV1909eb]\nModDrv=zText\nLang=es\n");
  test::write_test_file(mod + "ot.bzs", m.bzs);
  test::write_test_file(mod + "ot.bzz", m.bzz);
  test::write_test_file(mod + "ot.bzv", m.bzv);
  std::map<std::string, std::string> got;
  SourceStats st;
  auto s = extract_debian_tree(
      root, DebianPackage{"sword-text-sparv", "2.60-1", "public-domain"},
      [&](Document&& d) {
        EXPECT_EQ(d.lang, "es");
        EXPECT_EQ(d.meta["kind"], "bible");
        got[d.meta["path"].get<std::string>()] = d.text;
      },
      st);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(st.bad_records, 0u);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got["usr/share/sword/modules/texts/ztext/spaRV1909eb/ot.bzs#0"],
            "Génesis\nEN el principio crió Dios\nY dijo Dios: Sea la luz: y fué la luz.\n");
}

}  // namespace
}  // namespace fragua::data
