// SPDX-License-Identifier: Apache-2.0
// Personal data detection and redaction: e-mail addresses, phone numbers (Spanish and E.164
// international), Spanish identity numbers (DNI, NIE, NIF of companies and K/L/M holders) with
// their control character checked, IBANs with the ISO 13616 mod-97 check, payment card numbers
// with the Luhn check, IPv4 and IPv6 addresses. Used by the corpus pipeline and by the server's
// guardrails (PiiStream for streamed answers): pure functions over UTF-8 text, thread-safe, no
// allocation but the result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fragua::data {

enum class PiiKind : uint8_t { email, phone, dni, nie, nif, iban, card, ip };
inline constexpr int kPiiKindCount = 8;

// "email", "phone", ... (lower case, stable: used in reports and JSON).
const char* pii_kind_name(PiiKind kind);
// The typed placeholder written in place of a match: "<EMAIL>", "<PHONE>", "<DNI>", ...
const char* pii_placeholder(PiiKind kind);

struct PiiMatch {
  PiiKind kind;
  size_t offset = 0;  // byte offset in the scanned text
  size_t length = 0;  // bytes
};

struct PiiOptions {
  // Bit i enables PiiKind(i); all kinds by default.
  uint32_t kinds = (1u << kPiiKindCount) - 1;
  bool enabled(PiiKind k) const { return (kinds >> static_cast<int>(k)) & 1u; }
};

// All matches, in text order, never overlapping.
std::vector<PiiMatch> find_pii(std::string_view text, const PiiOptions& options = {});

struct RedactResult {
  std::string text;
  int counts[kPiiKindCount] = {};
  int total() const;
};
// Replaces every match with its placeholder.
RedactResult redact_pii(std::string_view text, const PiiOptions& options = {});

// The rule that matched `m` in `text` (the text find_pii scanned), as Presidio names the
// recognizer of each result: "email_rfc5321", "phone_es" (nine digits from 6, optional +34 or
// 0034), "phone_e164" (+ and 8 to 15 digits), "dni_mod23", "nie_mod23", "nif_control" (company
// control character) or "nif_klm_mod23", "iban_mod97", "card_luhn", "ipv4", "ipv6".
const char* pii_rule(const PiiMatch& m, std::string_view text);

// How far the scanner reads from a position: e-mail parts are read up to RFC 5321's limits, the
// longest other identifier (an IBAN of 34 characters in groups) spans 67 bytes, and whether a
// word is an identifier may depend on the next e-mail's start (its '@' up to 64 bytes on, its
// domain up to 255 after that). Bytes this far before the end of a text are settled: no text
// appended later changes what find_pii reports before them.
inline constexpr size_t kEmailLocalMax = 64;    // RFC 5321 4.5.3.1.1
inline constexpr size_t kEmailDomainMax = 255;  // RFC 5321 4.5.3.1.2
inline constexpr size_t kPiiMaxIdentifier = 70;  // 67 bytes, the peek past it, margin
inline constexpr size_t kPiiMaxLookahead = 400;
static_assert(kPiiMaxLookahead >= kPiiMaxIdentifier + kEmailLocalMax + 1 + kEmailDomainMax + 1);

// Redaction of a text that arrives in pieces (a streamed answer), so that no piece ever carries
// part of an identifier that is redacted later: the concatenated output equals
// redact_pii(whole text), counts included. What is held back is the trailing run of bytes that
// an identifier could still grow from (ASCII letters, digits, "._%+-@:()" and a space between
// a digit, capital or ')' and a letter or digit: every identifier is made of those), usually a
// word or two; a run longer than 2 * kPiiMaxLookahead (a long token with no break) is released
// up to kPiiMaxLookahead from its end, cut at a place the scanner would restart from the same
// state (a match's end, or between two letters or digits outside any match). Output is cut only
// between characters when the input is UTF-8. pii_stream.cpp gives the argument.
class PiiStream {
 public:
  explicit PiiStream(PiiOptions options = {}) : options_(options) {}
  // Adds text; returns what became final, redacted (often empty).
  std::string push(std::string_view text);
  // End of the text: the rest, redacted.
  std::string finish();
  // Redactions in what was returned so far, by kind.
  const int* counts() const { return counts_; }
  int total() const;
  // Bytes held back now.
  size_t held() const { return buf_.size() - ctx_; }
  // Runs cut where the scanner's state could differ from a whole-text scan (only a run of more
  // than 800 bytes of punctuation with no letter, digit or identifier in it): 0 in practice.
  int inexact_cuts() const { return inexact_cuts_; }

 private:
  std::string release(size_t cut, const std::vector<PiiMatch>& matches, bool keep_context);
  PiiOptions options_;
  std::string buf_;   // ctx_ bytes of context (already released), then the held text
  std::string tail_;  // the last two bytes released
  size_t ctx_ = 0;
  int counts_[kPiiKindCount] = {};
  int inexact_cuts_ = 0;
};

// The validators, usable on their own (input: the bare identifier, no spaces or dashes, upper
// or lower case).
bool valid_dni(std::string_view s);         // 12345678Z: 8 digits + letter, number mod 23
bool valid_nie(std::string_view s);         // X1234567L: X/Y/Z -> 0/1/2, then as a DNI
bool valid_nif_entity(std::string_view s);  // CIF: letter + 7 digits + control digit/letter
bool valid_iban(std::string_view s);        // ISO 13616: country length, mod 97 == 1
bool luhn_valid(std::string_view digits);   // ISO/IEC 7812 check digit
bool valid_ipv4(std::string_view s);
bool valid_ipv6(std::string_view s);

}  // namespace fragua::data
