// SPDX-License-Identifier: Apache-2.0
#include "fragua/data/pii.h"

#include <gtest/gtest.h>

using namespace fragua::data;

namespace {
std::string kinds_of(std::string_view text) {
  std::string out;
  for (const auto& m : find_pii(text)) {
    if (!out.empty()) out += ",";
    out += pii_kind_name(m.kind);
    out.push_back('=');
    out.append(text.substr(m.offset, m.length));
  }
  return out;
}
}  // namespace

// Known vectors: 12345678Z is the DNI of the Ministry's examples; the IBANs are the ISO 13616 /
// ECBS examples; 4111111111111111 is the Visa test number.
TEST(Pii, DniControlLetter) {
  EXPECT_TRUE(valid_dni("12345678Z"));
  EXPECT_TRUE(valid_dni("12345678z"));
  EXPECT_FALSE(valid_dni("12345678A"));
  EXPECT_TRUE(valid_dni("00000000T"));
  EXPECT_FALSE(valid_dni("0000000T"));
  // Exactly one of the 23 letters checks for any number.
  for (uint32_t n : {0u, 1u, 99999999u, 45678912u}) {
    char num[16];
    std::snprintf(num, sizeof num, "%08u", n);
    int valid = 0;
    for (char l = 'A'; l <= 'Z'; ++l) valid += valid_dni(std::string(num) + l);
    EXPECT_EQ(valid, 1) << num;
  }
}

TEST(Pii, NieAndNif) {
  EXPECT_TRUE(valid_nie("X1234567L"));
  EXPECT_TRUE(valid_nie("Y1234567X"));
  EXPECT_FALSE(valid_nie("X1234567T"));
  EXPECT_TRUE(valid_nif_entity("B12345674"));
  EXPECT_FALSE(valid_nif_entity("B12345675"));
  EXPECT_TRUE(valid_nif_entity("Q1234567D"));
  EXPECT_FALSE(valid_nif_entity("Q12345674"));  // Q takes a letter only
  EXPECT_FALSE(valid_nif_entity("A1234567D"));  // A takes a digit only
  EXPECT_TRUE(valid_nif_entity("A12345674"));
}

TEST(Pii, IbanMod97) {
  EXPECT_TRUE(valid_iban("ES9121000418450200051332"));
  EXPECT_TRUE(valid_iban("GB82WEST12345698765432"));
  EXPECT_TRUE(valid_iban("DE89370400440532013000"));
  EXPECT_FALSE(valid_iban("ES9121000418450200051333"));
  EXPECT_FALSE(valid_iban("ES912100041845020005133"));  // one short for Spain
  EXPECT_FALSE(valid_iban("GB82WEST12345698765423"));   // transposed digits
}

TEST(Pii, LuhnAndIp) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_TRUE(luhn_valid("79927398713"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_TRUE(valid_ipv4("192.168.1.10"));
  EXPECT_FALSE(valid_ipv4("256.1.1.1"));
  EXPECT_FALSE(valid_ipv4("1.2.3"));
  EXPECT_FALSE(valid_ipv4("01.2.3.4"));
  EXPECT_TRUE(valid_ipv6("2001:db8::1"));
  EXPECT_FALSE(valid_ipv6("2001:db8:::1"));
}

TEST(Pii, FindsInText) {
  EXPECT_EQ(kinds_of("Escribe a maria.lopez@example.es hoy."), "email=maria.lopez@example.es");
  EXPECT_EQ(kinds_of("Mi DNI es 12345678Z y el de ella 12345678-Z."), "dni=12345678Z,dni=12345678-Z");
  EXPECT_EQ(kinds_of("NIE X1234567L, empresa B12345674."), "nie=X1234567L,nif=B12345674");
  EXPECT_EQ(kinds_of("IBAN: ES91 2100 0418 4502 0005 1332."), "iban=ES91 2100 0418 4502 0005 1332");
  EXPECT_EQ(kinds_of("Tarjeta 4111 1111 1111 1111 caduca"), "card=4111 1111 1111 1111");
  EXPECT_EQ(kinds_of("Llama al +34 612 345 678 o al 612345678."), "phone=+34 612 345 678,phone=612345678");
  EXPECT_EQ(kinds_of("Truca al (+34) 93 123 45 67"), "phone=(+34) 93 123 45 67");
  EXPECT_EQ(kinds_of("Tel. 0034 912 345 678"), "phone=0034 912 345 678");
  EXPECT_EQ(kinds_of("US office +1 202 555 0143."), "phone=+1 202 555 0143");
  EXPECT_EQ(kinds_of("Servidor 10.0.0.1 y 2001:db8::ff00:42:8329."), "ip=10.0.0.1,ip=2001:db8::ff00:42:8329");
}

TEST(Pii, NoFalsePositivesOnInvalidChecks) {
  EXPECT_EQ(kinds_of("DNI 12345678A no es válido"), "");
  EXPECT_EQ(kinds_of("NIE X1234567T"), "");
  EXPECT_EQ(kinds_of("ES91 2100 0418 4502 0005 1333"), "");
  EXPECT_EQ(kinds_of("4111 1111 1111 1112"), "");
  EXPECT_EQ(kinds_of("la versión 256.1.1.1 y 1.2.3.4.5"), "");
  EXPECT_EQ(kinds_of("Son las 12:30:45 del 2023-01-15, página 123."), "");
  EXPECT_EQ(kinds_of("el año 1492 y 3,141592653"), "");
  EXPECT_EQ(kinds_of("correo@localhost no tiene dominio"), "");
  EXPECT_EQ(kinds_of("12345678Zeta"), "");
}

TEST(Pii, RedactReplacesWithTypedPlaceholders) {
  auto r = redact_pii("Contacto: ana@correo.cat, DNI 12345678Z, tel 612 345 678.");
  EXPECT_EQ(r.text, "Contacto: <EMAIL>, DNI <DNI>, tel <PHONE>.");
  EXPECT_EQ(r.total(), 3);
  EXPECT_EQ(r.counts[static_cast<int>(PiiKind::email)], 1);
  PiiOptions only_email;
  only_email.kinds = 1u << static_cast<int>(PiiKind::email);
  EXPECT_EQ(redact_pii("ana@correo.cat 12345678Z", only_email).text, "<EMAIL> 12345678Z");
}

TEST(Pii, SurvivesArbitraryBytes) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  junk += "@@..@a.b+34(";
  auto r = redact_pii(junk);
  EXPECT_GE(r.text.size(), 1u);
}
