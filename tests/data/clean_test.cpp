// SPDX-License-Identifier: Apache-2.0
#include "fragua/data/clean.h"

#include <utf8proc.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "fragua/base/utf8.h"

using namespace fragua::data;

TEST(Clean, NfcComposes) {
  // "e" + U+0301 COMBINING ACUTE -> U+00E9; "n" + U+0303 -> U+00F1.
  EXPECT_EQ(normalize_nfc("cafe\xCC\x81 and n\xCC\x83"), "caf\xC3\xA9 and \xC3\xB1");
  EXPECT_EQ(normalize_nfc("ja està"), "ja està");
  // U+212B ANGSTROM SIGN is a singleton: NFC maps it to U+00C5.
  EXPECT_EQ(normalize_nfc("\xE2\x84\xAB"), "\xC3\x85");
}

TEST(Clean, FastPathAgreesWithUtf8proc) {
  // The fast path assumes every code point below U+0300 is NFC-stable; check with utf8proc.
  for (char32_t cp = 1; cp < 0x300; ++cp) {
    std::string s = fragua::utf8::encode(cp);
    utf8proc_uint8_t* out = nullptr;
    auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()), static_cast<utf8proc_ssize_t>(s.size()),
                          &out, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n)), s) << static_cast<uint32_t>(cp);
    std::free(out);
  }
}

TEST(Clean, SoftwareMarkup) {
  EXPECT_EQ(strip_software_markup("&Fitxer"), "Fitxer");
  EXPECT_EQ(strip_software_markup("_Obrir el fitxer %s"), "Obrir el fitxer ");
  EXPECT_EQ(strip_software_markup("Des~ar com a..."), "Desar com a...");
  EXPECT_EQ(strip_software_markup("Copiados %1$d de %2$d ficheros (%.1f%%)"), "Copiados  de  ficheros ()");
  EXPECT_EQ(strip_software_markup("Erro en {0}: {file_name} ${HOME} $(ARG) $ARG1$"), "Erro en :    ");
  EXPECT_EQ(strip_software_markup("un 10%sobre el total, snake_case, R&D"), "un 10%sobre el total, snake_case, R&D");
  EXPECT_EQ(strip_software_markup("Ferramentas > Opcións > Writer\nTexto normal."), "Texto normal.");
}

TEST(Clean, CollapseWhitespace) {
  EXPECT_EQ(collapse_whitespace("  Hola\t\t mundo \xC2\xA0 !\n\n\n\nAdéu  \n  fi  "), "Hola mundo !\n\nAdéu\nfi");
  EXPECT_EQ(clean_text("  Bon   dia  "), "Bon dia");
}

TEST(Clean, Untranslated) {
  EXPECT_TRUE(is_untranslated("&File", "File"));
  EXPECT_TRUE(is_untranslated("OK", "ok"));
  EXPECT_TRUE(is_untranslated("%s: %d", "%s: %d"));
  EXPECT_FALSE(is_untranslated("&Fitxer", "&File"));
}
