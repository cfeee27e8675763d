// SPDX-License-Identifier: Apache-2.0
// PII scanner. A single left-to-right pass over the bytes: e-mail addresses are found from their
// '@' (memchr), everything else is tried only at word starts, most specific kind first, and a
// candidate counts only if its check character/digits verify, so invalid DNIs, IBANs and card
// numbers are left alone. Hand-written rather than regex: the corpus runs it on every byte.
#include "fragua/base/ascii.h"
#include "fragua/data/pii.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace fragua::data {
namespace {

using ascii::is_digit;
using ascii::is_upper;
using ascii::is_lower;
using ascii::is_alpha;
using ascii::is_alnum;
using ascii::to_upper;

// Letters of the DNI/NIE control character, indexed by number mod 23 (Real Decreto 1553/2005).
constexpr const char* kDniLetters = "TRWAGMYFPDXBNJZSQVHLCKE";

bool all_digits(std::string_view s) {
  for (char c : s)
    if (!is_digit(c)) return false;
  return !s.empty();
}

// ISO 13616 registry lengths by country code.
int iban_length(char a, char b) {
  static constexpr std::array<std::pair<const char*, int>, 70> kLengths{{
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22}, {"BH", 22},
      {"BR", 29}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20},
      {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
      {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30},
      {"KZ", 20}, {"LB", 28}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22},
      {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24}, {"PL", 28}, {"PS", 29},
      {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
      {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VG", 24}, {"XK", 20}, {"LC", 32}, {"SC", 31},
  }};
  for (const auto& [cc, len] : kLengths)
    if (cc[0] == a && cc[1] == b) return len;
  return 0;
}

}  // namespace

const char* pii_kind_name(PiiKind kind) {
  static constexpr const char* kNames[] = {"email", "phone", "dni", "nie", "nif", "iban", "card", "ip"};
  return kNames[static_cast<int>(kind)];
}

const char* pii_rule(const PiiMatch& m, std::string_view text) {
  const std::string_view t = m.offset <= text.size() ? text.substr(m.offset, m.length) : std::string_view();
  switch (m.kind) {
    case PiiKind::email: return "email_rfc5321";
    case PiiKind::phone: {
      // try_phone: "(+34)", "+34", "0034" and bare nine digits are the Spanish plan; any other
      // leading '+' is E.164.
      std::string_view d = t;
      if (d.substr(0, 1) == "(") d.remove_prefix(1);
      const bool spanish = d.substr(0, 1) != "+" || d.substr(0, 3) == "+34";
      return spanish ? "phone_es" : "phone_e164";
    }
    case PiiKind::dni: return "dni_mod23";
    case PiiKind::nie: return "nie_mod23";
    case PiiKind::nif: {
      const char c = t.empty() ? 0 : to_upper(t[0]);
      return c == 'K' || c == 'L' || c == 'M' ? "nif_klm_mod23" : "nif_control";
    }
    case PiiKind::iban: return "iban_mod97";
    case PiiKind::card: return "card_luhn";
    case PiiKind::ip: return t.find(':') != std::string_view::npos ? "ipv6" : "ipv4";
  }
  return "unknown";
}

const char* pii_placeholder(PiiKind kind) {
  static constexpr const char* kNames[] = {"<EMAIL>", "<PHONE>", "<DNI>", "<NIE>", "<NIF>", "<IBAN>", "<CARD>", "<IP>"};
  return kNames[static_cast<int>(kind)];
}

bool valid_dni(std::string_view s) {
  if (s.size() != 9 || !all_digits(s.substr(0, 8))) return false;
  uint32_t n = 0;
  for (int i = 0; i < 8; ++i) n = n * 10 + static_cast<uint32_t>(s[i] - '0');
  return kDniLetters[n % 23] == to_upper(s[8]);
}

bool valid_nie(std::string_view s) {
  if (s.size() != 9) return false;
  char first = to_upper(s[0]);
  if (first != 'X' && first != 'Y' && first != 'Z') return false;
  char dni[9];
  dni[0] = static_cast<char>('0' + (first - 'X'));
  std::memcpy(dni + 1, s.data() + 1, 8);
  return valid_dni(std::string_view(dni, 9));
}

// Spanish NIF of legal entities (the former CIF, Orden EHA/451/2008): digits at odd positions
// (1st, 3rd, 5th, 7th) are doubled and their digits summed, even positions are added; the
// control is (10 - sum mod 10) mod 10, written as a digit or as the letter "JABCDEFGHI"[c].
// Also the personal NIFs K, L, M + 7 digits + DNI letter.
bool valid_nif_entity(std::string_view s) {
  if (s.size() != 9 || !all_digits(s.substr(1, 7))) return false;
  char kind = to_upper(s[0]);
  char control = to_upper(s[8]);
  if (kind == 'K' || kind == 'L' || kind == 'M') {
    uint32_t n = 0;
    for (int i = 1; i < 8; ++i) n = n * 10 + static_cast<uint32_t>(s[i] - '0');
    return kDniLetters[n % 23] == control;
  }
  if (!std::strchr("ABCDEFGHJNPQRSUVW", kind)) return false;
  int sum = 0;
  for (int i = 0; i < 7; ++i) {
    int d = s[1 + i] - '0';
    if (i % 2 == 0) {
      d *= 2;
      sum += d / 10 + d % 10;
    } else {
      sum += d;
    }
  }
  int c = (10 - sum % 10) % 10;
  char letter = "JABCDEFGHI"[c];
  bool letter_only = std::strchr("NPQRSW", kind) != nullptr;
  bool digit_only = std::strchr("ABEH", kind) != nullptr;
  if (is_digit(control)) return !letter_only && control - '0' == c;
  return !digit_only && control == letter;
}

bool valid_iban(std::string_view s) {
  if (s.size() < 15 || s.size() > 34) return false;
  char a = to_upper(s[0]), b = to_upper(s[1]);
  if (!is_upper(a) || !is_upper(b) || !is_digit(s[2]) || !is_digit(s[3])) return false;
  if (iban_length(a, b) != static_cast<int>(s.size())) return false;
  // Rearranged: BBAN then country and check digits; letters count as 10..35; mod 97 == 1.
  uint32_t mod = 0;
  auto feed = [&mod](char c) {
    c = to_upper(c);
    if (is_digit(c)) {
      mod = (mod * 10 + static_cast<uint32_t>(c - '0')) % 97;
    } else {
      mod = (mod * 100 + static_cast<uint32_t>(c - 'A' + 10)) % 97;
    }
  };
  for (size_t i = 4; i < s.size(); ++i) {
    if (!is_alnum(s[i])) return false;
    feed(s[i]);
  }
  for (size_t i = 0; i < 4; ++i) feed(s[i]);
  return mod == 1;
}

bool luhn_valid(std::string_view digits) {
  if (digits.size() < 2 || !all_digits(digits)) return false;
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

bool valid_ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t start = i;
    int value = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 4) value = value * 10 + (s[i++] - '0');
    size_t len = i - start;
    if (len == 0 || len > 3 || value > 255 || (len > 1 && s[start] == '0')) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

bool valid_ipv6(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  char buf[46];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = 0;
  unsigned char out[16];
  return inet_pton(AF_INET6, buf, out) == 1;
}

}  // namespace fragua::data
