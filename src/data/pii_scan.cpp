// SPDX-License-Identifier: Apache-2.0
// The PII scanner proper (validators are in pii.cpp). Each try_* looks at text[i..] where i is a
// word start and returns the matched length, or 0.
#include <cstring>

#include "fragua/base/ascii.h"
#include "fragua/data/pii.h"

namespace fragua::data {
namespace {

using ascii::is_digit;
using ascii::is_upper;
using ascii::is_lower;
using ascii::is_alpha;
using ascii::is_alnum;
using ascii::is_hex;

// A match must not run into a following letter or digit ("12345678Zeta" is not a DNI).
bool ends_clean(std::string_view t, size_t end) { return end >= t.size() || !is_alnum(t[end]); }
// Numbers glued to a preceding digit group ("1.612345678", "3,141592653") are not identifiers.
bool starts_clean(std::string_view t, size_t i) {
  if (i == 0) return true;
  char p = t[i - 1];
  if (is_alnum(p) || p == '+' || p == '@' || p == '_' || p == '/' || p == '-') return false;
  if ((p == '.' || p == ',' || p == ':') && i >= 2 && is_digit(t[i - 2])) return false;
  return true;
}

bool email_local(char c) { return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'; }
bool email_domain(char c) { return is_alnum(c) || c == '.' || c == '-'; }

// The e-mail around the '@' at `at`: [begin, end) or begin == end when none. The local part and
// the domain are read up to RFC 5321's limits (4.5.3.1.1: 64 octets; 4.5.3.1.2: 255), which bounds
// how far the scanner looks from any position (kPiiMaxLookahead, what a stream holds back).
std::pair<size_t, size_t> email_at(std::string_view t, size_t at) {
  size_t b = at;
  while (b > 0 && at - b < kEmailLocalMax && email_local(t[b - 1])) --b;
  while (b < at && (t[b] == '.' || t[b] == '-')) ++b;
  if (b == at) return {at, at};
  size_t e = at + 1;
  while (e < t.size() && e - at - 1 < kEmailDomainMax && email_domain(t[e])) ++e;
  while (e > at + 1 && (t[e - 1] == '.' || t[e - 1] == '-')) --e;
  std::string_view domain = t.substr(at + 1, e - at - 1);
  size_t dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || domain.find("..") != std::string_view::npos) return {at, at};
  std::string_view tld = domain.substr(dot + 1);
  if (tld.size() < 2) return {at, at};
  for (char c : tld)
    if (!is_alpha(c)) return {at, at};
  return {b, e};
}

// Gathers up to `want` characters accepted by `ok`, allowing one separator from `seps` between
// them; returns the compact string and sets *len to the bytes consumed (ending on a character).
template <typename Ok>
std::string gather(std::string_view t, size_t i, size_t want, const char* seps, Ok ok, size_t* len) {
  std::string out;
  size_t j = i, last_end = i;
  while (j < t.size() && out.size() < want) {
    if (ok(t[j])) {
      out.push_back(t[j++]);
      last_end = j;
    } else if (!out.empty() && std::strchr(seps, t[j]) && t[j] != 0 && j + 1 < t.size() && ok(t[j + 1])) {
      ++j;
    } else {
      break;
    }
  }
  *len = last_end - i;
  return out;
}

size_t try_iban(std::string_view t, size_t i) {
  if (i + 15 > t.size() || !is_upper(t[i]) || !is_upper(t[i + 1]) || !is_digit(t[i + 2]) || !is_digit(t[i + 3]))
    return 0;
  size_t len = 0;
  std::string s = gather(
      t, i, 34, " -", [](char c) { return is_digit(c) || is_upper(c); }, &len);
  // Try the longest prefix first; the printed form groups by four, so a group may be cut.
  for (size_t n = s.size(); n >= 15; --n) {
    if (!valid_iban(std::string_view(s).substr(0, n))) continue;
    size_t consumed = 0, got = 0;
    while (got < n) {
      if (is_alnum(t[i + consumed])) ++got;
      ++consumed;
    }
    if (ends_clean(t, i + consumed)) return consumed;
  }
  return 0;
}

// "12345678Z", "12345678-Z", "12345678 Z"; NIE "X1234567L"; NIF "B12345674".
size_t try_id(std::string_view t, size_t i, PiiKind* kind, const PiiOptions& o) {
  auto take = [&](size_t n_body, size_t* consumed) -> std::string {
    if (i + n_body >= t.size()) return {};
    std::string s(t.substr(i, n_body));
    size_t j = i + n_body;
    if ((t[j] == '-' || t[j] == ' ') && j + 1 < t.size() && is_alnum(t[j + 1])) ++j;
    s.push_back(t[j]);
    *consumed = j + 1 - i;
    return s;
  };
  size_t consumed = 0;
  char c = t[i];
  if (i + 8 >= t.size()) return 0;
  for (size_t k = 1; k < 8; ++k)
    if (!is_digit(t[i + k])) return 0;
  if (is_digit(c) && o.enabled(PiiKind::dni)) {
    std::string s = take(8, &consumed);
    if (!s.empty() && is_alpha(s[8]) && valid_dni(s) && ends_clean(t, i + consumed)) {
      *kind = PiiKind::dni;
      return consumed;
    }
    return 0;
  }
  if (!is_alpha(c)) return 0;
  std::string s = take(8, &consumed);
  if (s.empty() || !is_alnum(s[8]) || !ends_clean(t, i + consumed)) return 0;
  if (o.enabled(PiiKind::nie) && valid_nie(s)) {
    *kind = PiiKind::nie;
    return consumed;
  }
  if (o.enabled(PiiKind::nif) && valid_nif_entity(s)) {
    *kind = PiiKind::nif;
    return consumed;
  }
  return 0;
}

size_t try_ipv4(std::string_view t, size_t i) {
  size_t j = i;
  while (j < t.size() && (is_digit(t[j]) || t[j] == '.') && j - i < 16) ++j;
  while (j > i && t[j - 1] == '.') --j;  // sentence-final dot
  if (!valid_ipv4(t.substr(i, j - i)) || !ends_clean(t, j)) return 0;
  if (j + 1 < t.size() && t[j] == '.' && is_digit(t[j + 1])) return 0;  // 1.2.3.4.5
  return j - i;
}

size_t try_ipv6(std::string_view t, size_t i) {
  size_t j = i, colons = 0, hex = 0;
  while (j < t.size() && j - i < 45 && (is_hex(t[j]) || t[j] == ':' || t[j] == '.')) {
    colons += t[j] == ':';
    hex += is_hex(t[j]);
    ++j;
  }
  while (j > i && (t[j - 1] == '.' || (t[j - 1] == ':' && !(j - i >= 2 && t[j - 2] == ':')))) --j;
  if (colons < 2 || hex < 3 || !ends_clean(t, j)) return 0;
  return valid_ipv6(t.substr(i, j - i)) ? j - i : 0;
}

size_t try_card(std::string_view t, size_t i) {
  size_t len = 0;
  std::string digits = gather(t, i, 20, " -", is_digit, &len);
  if (digits.size() < 13 || digits.size() > 19 || !ends_clean(t, i + len)) return 0;
  // One separator kind throughout ("4111 1111 1111 1111", "4111-1111-...").
  bool space = false, dash = false;
  for (size_t k = i; k < i + len; ++k) {
    space |= t[k] == ' ';
    dash |= t[k] == '-';
  }
  if (space && dash) return 0;
  if (digits[0] < '2' || digits[0] > '6') return 0;  // ISO/IEC 7812 major industry identifiers
  return luhn_valid(digits) ? len : 0;
}

// Spanish numbers: optional +34 / 0034 / (+34), then nine digits starting 6, 7, 8 or 9 (Plan
// nacional de numeración). International: '+', then 8 to 15 digits in all (ITU-T E.164).
size_t try_phone(std::string_view t, size_t i) {
  size_t j = i;
  bool paren = false, plus = false;
  if (t[j] == '(' && j + 1 < t.size() && t[j + 1] == '+') {
    paren = true;
    ++j;
  }
  if (j < t.size() && t[j] == '+') {
    plus = true;
    ++j;
  } else if (t.substr(j, 4) == "0034") {
    j += 4;
    plus = true;
    if (j < t.size() && (t[j] == ' ' || t[j] == '-' || t[j] == '.')) ++j;
    size_t len = 0;
    std::string d = gather(t, j, 10, " .-", is_digit, &len);
    if (d.size() == 9 && d[0] >= '6' && ends_clean(t, j + len)) return j + len - i;
    return 0;
  }
  if (plus) {
    // Country code and the rest; a ')' may close "(+34)".
    size_t len = 0;
    std::string d = gather(t, j, 16, " .-", is_digit, &len);
    size_t end = j + len;
    if (paren) {
      if (end >= t.size() || t[end] != ')') return 0;
      size_t k = end + 1;
      if (k < t.size() && t[k] == ' ') ++k;
      size_t len2 = 0;
      std::string rest = gather(t, k, 16, " .-", is_digit, &len2);
      d += rest;
      end = k + len2;
      if (rest.empty()) return 0;
    }
    if (d.size() < 8 || d.size() > 15 || d[0] == '0' || !ends_clean(t, end)) return 0;
    return end - i;
  }
  if (!is_digit(t[i]) || t[i] < '6') return 0;
  size_t len = 0;
  std::string d = gather(t, i, 10, " .-", is_digit, &len);
  if (d.size() != 9 || !ends_clean(t, i + len)) return 0;
  return len;
}

}  // namespace

int RedactResult::total() const {
  int n = 0;
  for (int c : counts) n += c;
  return n;
}

std::vector<PiiMatch> find_pii(std::string_view t, const PiiOptions& o) {
  std::vector<PiiMatch> out;
  // E-mails first, from each '@'.
  std::vector<std::pair<size_t, size_t>> emails;
  if (o.enabled(PiiKind::email)) {
    const char* base = t.data();
    size_t pos = 0;
    while (pos < t.size()) {
      const void* hit = std::memchr(base + pos, '@', t.size() - pos);
      if (!hit) break;
      size_t at = static_cast<size_t>(static_cast<const char*>(hit) - base);
      auto [b, e] = email_at(t, at);
      if (e > b && (emails.empty() || b >= emails.back().second)) emails.emplace_back(b, e);
      pos = std::max(at + 1, e);
    }
  }
  size_t next_email = 0;
  size_t i = 0;
  const size_t n = t.size();
  while (i < n) {
    if (next_email < emails.size() && i >= emails[next_email].first) {
      out.push_back({PiiKind::email, emails[next_email].first, emails[next_email].second - emails[next_email].first});
      i = emails[next_email].second;
      ++next_email;
      continue;
    }
    char c = t[i];
    bool candidate = is_alnum(c) || c == '+' || c == '(' || c == ':';
    if (!candidate || !starts_clean(t, i)) {
      ++i;
      continue;
    }
    size_t limit = next_email < emails.size() ? emails[next_email].first : n;
    std::string_view v = t.substr(0, limit);
    PiiKind kind = PiiKind::ip;
    size_t len = 0;
    if (is_digit(c)) {
      if (o.enabled(PiiKind::ip) && (len = try_ipv4(v, i)))
        kind = PiiKind::ip;
      else if ((len = try_id(v, i, &kind, o))) {
      } else if (o.enabled(PiiKind::card) && (len = try_card(v, i)))
        kind = PiiKind::card;
      else if (o.enabled(PiiKind::phone) && (len = try_phone(v, i)))
        kind = PiiKind::phone;
      else if (o.enabled(PiiKind::ip) && (len = try_ipv6(v, i)))
        kind = PiiKind::ip;
    } else if (is_alpha(c)) {
      if (o.enabled(PiiKind::iban) && (len = try_iban(v, i)))
        kind = PiiKind::iban;
      else if ((len = try_id(v, i, &kind, o))) {
      } else if (o.enabled(PiiKind::ip) && is_hex(c) && (len = try_ipv6(v, i)))
        kind = PiiKind::ip;
    } else if (c == ':') {
      if (o.enabled(PiiKind::ip) && (len = try_ipv6(v, i))) kind = PiiKind::ip;
    } else if (o.enabled(PiiKind::phone)) {
      if ((len = try_phone(v, i))) kind = PiiKind::phone;
    }
    if (len) {
      out.push_back({kind, i, len});
      i += len;
      continue;
    }
    // Skip the rest of the word: later positions in it are not word starts.
    ++i;
    while (i < limit && is_alnum(t[i])) ++i;
  }
  return out;
}

RedactResult redact_pii(std::string_view text, const PiiOptions& options) {
  RedactResult r;
  auto matches = find_pii(text, options);
  if (matches.empty()) {
    r.text.assign(text);
    return r;
  }
  r.text.reserve(text.size());
  size_t pos = 0;
  for (const auto& m : matches) {
    r.text.append(text.substr(pos, m.offset - pos));
    r.text.append(pii_placeholder(m.kind));
    ++r.counts[static_cast<int>(m.kind)];
    pos = m.offset + m.length;
  }
  r.text.append(text.substr(pos));
  return r;
}

}  // namespace fragua::data
