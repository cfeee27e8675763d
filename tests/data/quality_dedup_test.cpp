// SPDX-License-Identifier: Apache-2.0
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "fragua/data/dedup.h"
#include "fragua/data/quality.h"

using namespace fragua::data;

namespace {
const char* kGood =
    "La biblioteca municipal abre sus puertas de lunes a viernes por la mañana. Los lectores pueden "
    "consultar el catálogo en línea y reservar los libros que quieran leer durante el verano.";
}

TEST(Quality, KeepsOrdinaryProseAndNamesTheRule) {
  EXPECT_TRUE(check_quality(kGood, "es").keep);
  EXPECT_EQ(check_quality("muy corto", "es").reason, "too_few_words");
  std::string lines;
  for (int i = 0; i < 10; ++i) lines += "Compra ahora con descuento en nuestra tienda\n";
  EXPECT_EQ(check_quality(lines, "es").reason, "dup_line_frac");
  EXPECT_EQ(check_quality("1234 5678 9012 3456 7890 1234 5678 9012 3456 7890 1234 5678 9012 tienda", "es").reason,
            "digit_ratio");
  // Spanish stop words are absent from a Basque text judged as Spanish.
  const char* eu =
      "Udal liburutegia astelehenetik ostiralera irekitzen da goizez eta irakurleek katalogoa sarean kontsulta "
      "dezakete";
  EXPECT_EQ(check_quality(eu, "es").reason, "no_stop_words");
  EXPECT_TRUE(check_quality(eu, "eu").keep);
}

TEST(Quality, RepetitionRulesCanBeTurnedOffForCatalogs) {
  // A catalog: UI strings that share long word sequences, as gettext catalogs do.
  std::string cat;
  for (const char* obj : {"el archivo", "la carpeta", "el documento", "la imagen", "el proyecto", "la plantilla"})
    for (const char* verb : {"abrir", "guardar", "cerrar", "exportar"})
      cat += fmt::format("No se ha podido {} {} porque no tiene permisos de escritura en esta ubicación\n", verb, obj);
  const auto by_default = check_quality(cat, "es");
  EXPECT_FALSE(by_default.keep);
  EXPECT_TRUE(by_default.reason.starts_with("dup_") || by_default.reason.starts_with("top_")) << by_default.reason;
  QualityOptions o;
  disable_repetition_rules(o);
  EXPECT_TRUE(check_quality(cat, "es", o).keep) << check_quality(cat, "es", o).reason;
  // The other rules still apply.
  EXPECT_EQ(check_quality("muy corto", "es", o).reason, "too_few_words");
}

TEST(Dedup, ExactAndNearDuplicates) {
  DedupOptions o;
  o.memory_mb = 1;
  DedupIndex idx(o);
  std::string a = kGood;
  std::string a_punct =
      "La biblioteca municipal, abre sus puertas de LUNES a viernes por la mañana!! Los lectores pueden "
      "consultar el catálogo en línea y reservar los libros que quieran leer durante el verano";
  // One word changed near the end: Jaccard of 5-word shingles stays high.
  std::string a_near = a;
  a_near.replace(a_near.find("verano"), 6, "otoño");
  std::string other =
      "Udal liburutegia astelehenetik ostiralera irekitzen da goizez eta irakurleek katalogoa sarean kontsulta "
      "dezakete";
  EXPECT_EQ(idx.check_and_insert(dedup_key(a, o)), DedupVerdict::unique);
  EXPECT_EQ(idx.check_and_insert(dedup_key(a_punct, o)), DedupVerdict::exact_duplicate);
  EXPECT_GT(shingle_jaccard(a, a_near, 5), 0.8);
  EXPECT_EQ(idx.check_and_insert(dedup_key(a_near, o)), DedupVerdict::near_duplicate);
  EXPECT_LT(shingle_jaccard(a, other, 5), 0.01);
  EXPECT_EQ(idx.check_and_insert(dedup_key(other, o)), DedupVerdict::unique);
  EXPECT_EQ(idx.size(), 2u);
  EXPECT_LE(idx.memory_bytes(), size_t{1} << 20);
}

// LSH banding: P(candidate) = 1 - (1 - s^r)^b. With b = 14, r = 8: s = 0.9 -> 0.9997,
// s = 0.3 -> 0.0009. Check the empirical rate on synthetic pairs of known similarity.
TEST(Dedup, BandingMatchesTheoryForDissimilarPairs) {
  DedupOptions o;
  o.memory_mb = 4;
  int collisions = 0;
  for (int t = 0; t < 60; ++t) {
    DedupIndex idx(o);
    std::string base, other;
    for (int w = 0; w < 60; ++w) base += fmt::format("w{} ", t * 1000 + w);
    for (int w = 0; w < 60; ++w) other += fmt::format("w{} ", t * 1000 + (w < 20 ? w : 500 + w));
    (void)idx.check_and_insert(dedup_key(base, o));
    collisions += idx.check_and_insert(dedup_key(other, o)) != DedupVerdict::unique;
  }
  EXPECT_LE(collisions, 2);
}

TEST(Dedup, BoundedIndexStopsGrowing) {
  DedupOptions o;
  o.memory_mb = 1;
  o.near = false;
  DedupIndex idx(o);
  size_t inserted = 0;
  for (int i = 0; i < 200000 && !idx.full(); ++i) {
    (void)idx.check_and_insert(dedup_key("doc " + std::to_string(i), o));
    ++inserted;
  }
  EXPECT_TRUE(idx.full());
  size_t n = idx.size();
  (void)idx.check_and_insert(dedup_key("one more", o));
  EXPECT_EQ(idx.size(), n);
  EXPECT_LT(inserted, 200000u);
}
