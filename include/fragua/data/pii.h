// Personal data detection and redaction: e-mail addresses, phone numbers (Spanish and E.164
// international), Spanish identity numbers (DNI, NIE, NIF of companies and K/L/M holders) with
// their control character checked, IBANs with the ISO 13616 mod-97 check, payment card numbers
// with the Luhn check, IPv4 and IPv6 addresses. Used by the corpus pipeline and, later, by the
// server's guardrails: pure functions over UTF-8 text, thread-safe, no allocation but the result.
#pragma once

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
