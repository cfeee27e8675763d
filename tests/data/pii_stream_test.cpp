// SPDX-License-Identifier: Apache-2.0
// PiiStream against redact_pii over the whole text: every way of cutting a text that holds each
// kind of identifier gives the same redacted text and counts, so no piece ever carries a part of
// an identifier that is redacted (the whole-text redaction has none).
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "fragua/data/pii.h"

using namespace fragua::data;

namespace {

// Every kind, in prose, with the separators the scanner accepts, and near-misses beside them.
const char* kText =
    "Hola, soy Ana (DNI 12345678Z, NIE X1234567L, CIF B12345674). Escríbeme a ana.garcia+web@correo.es o "
    "llama al +34 612 34 56 78 / 0034-912345678 / (+34) 699.123.456. IBAN ES91 2100 0418 4502 0005 1332, "
    "tarjeta 4111-1111-1111-1111; IP 192.168.1.20 y 2001:db8::ff00:42:8329. No son: 12345678A, 1.612345678, "
    "ñandú 4111111111111112, a@b, 3,141592653.\n";

struct Out {
  std::string text;
  std::vector<std::string> pieces;
  int counts[kPiiKindCount] = {};
  int inexact = 0;
  size_t max_held = 0;
};

Out stream(std::string_view text, const std::vector<size_t>& cuts, PiiOptions o = {}) {
  PiiStream s(o);
  Out out;
  size_t pos = 0;
  for (size_t c : cuts) {
    out.pieces.push_back(s.push(text.substr(pos, c - pos)));
    out.max_held = std::max(out.max_held, s.held());
    pos = c;
  }
  out.pieces.push_back(s.push(text.substr(pos)));
  out.pieces.push_back(s.finish());
  for (const auto& p : out.pieces) out.text += p;
  for (int k = 0; k < kPiiKindCount; ++k) out.counts[k] = s.counts()[k];
  out.inexact = s.inexact_cuts();
  return out;
}

void expect_same(std::string_view text, const Out& got, PiiOptions o, const std::string& where) {
  const RedactResult want = redact_pii(text, o);
  ASSERT_EQ(got.text, want.text) << where;
  for (int k = 0; k < kPiiKindCount; ++k) EXPECT_EQ(got.counts[k], want.counts[k]) << where << " kind " << k;
  EXPECT_EQ(got.inexact, 0) << where;
}

}  // namespace

TEST(PiiStream, EverySplitPointGivesTheWholeTextRedaction) {
  const std::string_view text = kText;
  const RedactResult whole = redact_pii(text);
  // Each kind is in the text once at least (the test would prove nothing otherwise).
  for (int k = 0; k < kPiiKindCount; ++k) EXPECT_GE(whole.counts[k], 1) << pii_kind_name(PiiKind(k));
  for (size_t c = 0; c <= text.size(); ++c) expect_same(text, stream(text, {c}), {}, "cut at " + std::to_string(c));
  for (size_t a = 0; a <= text.size(); a += 7)
    for (size_t b = a; b <= text.size(); b += 3) expect_same(text, stream(text, {a, b}), {}, "cuts " + std::to_string(a) + "," + std::to_string(b));
}

TEST(PiiStream, ByteByByteAndKindsSwitchedOff) {
  std::vector<size_t> every;
  for (size_t c = 1; c < std::strlen(kText); ++c) every.push_back(c);
  const Out one = stream(kText, every);
  expect_same(kText, one, {}, "byte by byte");
  // Whole words go out while the text streams: the held tail stays short.
  EXPECT_LT(one.max_held, 64u);
  PiiOptions only_phones;
  only_phones.kinds = 1u << static_cast<int>(PiiKind::phone);
  expect_same(kText, stream(kText, every, only_phones), only_phones, "phones only");
}

// Text with no break for thousands of bytes (identifiers glued with dots) is still released
// while it streams, and still equal to the whole-text redaction.
TEST(PiiStream, LongRunIsCutWhereTheScannerRestartsTheSame) {
  std::string text;
  for (int i = 0; i < 60; ++i) text += "token.12345678Z.x" + std::to_string(i) + "@correo.es.ES9121000418450200051332.";
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::vector<size_t> cuts;
    for (size_t c = 0; c < text.size(); c += 1 + rng() % 9) cuts.push_back(c);
    const Out got = stream(text, cuts);
    expect_same(text, got, {}, "round " + std::to_string(round));
    EXPECT_LE(got.max_held, 2 * kPiiMaxLookahead + 9);
  }
}

TEST(PiiStream, RandomTextsAgainstTheWholeScan) {
  // Random strings over the bytes identifiers are made of, so matches and near-misses are dense.
  const std::string alphabet = "0123456789012345678XYZBLESaz.-+@:() ,ñ";
  std::mt19937 rng(11);
  for (int round = 0; round < 300; ++round) {
    std::string text;
    const size_t n = rng() % 300;
    for (size_t i = 0; i < n; ++i) text += alphabet[rng() % alphabet.size()];
    std::vector<size_t> cuts;
    for (size_t c = 0; c < text.size(); c += 1 + rng() % 5) cuts.push_back(c);
    expect_same(text, stream(text, cuts), {}, "text '" + text + "'");
  }
}
