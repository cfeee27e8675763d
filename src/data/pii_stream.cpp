// SPDX-License-Identifier: Apache-2.0
// PiiStream: find_pii over a text that arrives in pieces, with the same result as over the whole.
//
// Why a cut is safe. Every identifier find_pii reports is made of "run" bytes: ASCII letters and
// digits, "._%+-@:()", and spaces only between a digit, capital or ')' and a letter or digit
// (the separators of IBANs, cards, phones and "12345678 Z"). So is every byte a try_* function
// reads before it fails, but the one byte it stops on. At a byte that is not a run byte (a
// "break"), then:
//  - no match spans it, and no decision before it reads past it: find_pii(text) and find_pii of
//    the text up to and including the break agree on everything before the break;
//  - the scan stands at the byte after it with no state but its position (a skipped word ends at
//    a non-letter, a match ends before the break), so a scan restarted there, with the two bytes
//    before it for starts_clean, finds what the whole scan finds.
// Hence the text up to the last break is released, and the trailing run held back. A run longer
// than 2 * kPiiMaxLookahead is cut kPiiMaxLookahead before its end, where every decision is
// settled (pii.h), at a match's end or between two letters/digits outside any match: there the
// whole scan stands at a loop top or inside a word (where no position is a word start), and a
// context of "\x01_" gives the restarted scan the same view (starts_clean refuses after '_' as
// after a letter; '\x01' stops an e-mail's local part).
#include <algorithm>

#include "fragua/base/ascii.h"
#include "fragua/data/pii.h"

namespace fragua::data {
namespace {

using ascii::is_digit;
using ascii::is_upper;
using ascii::is_alnum;

bool run_byte(char c) {
  switch (c) {
    case '.': case '_': case '%': case '+': case '-': case '@': case ':': case '(': case ')':
      return true;
    default:
      return is_alnum(c);
  }
}

// Where the trailing run of t starts (t.size() when t ends in a break), not before `from`.
size_t run_start(std::string_view t, size_t from) {
  size_t k = t.size();
  while (k > from) {
    const char c = t[k - 1];
    if (c == ' ') {
      const bool before = k >= 2 && (is_digit(t[k - 2]) || is_upper(t[k - 2]) || t[k - 2] == ')');
      const bool after = k == t.size() || is_alnum(t[k]);
      if (!before || !after) break;
    } else if (!run_byte(c)) {
      break;
    }
    --k;
  }
  return k;
}

constexpr size_t kMaxHeld = 2 * kPiiMaxLookahead;

}  // namespace

int PiiStream::total() const {
  int n = 0;
  for (int c : counts_) n += c;
  return n;
}

// Releases buf_[ctx_, cut) with its matches replaced; keeps what follows, with context before it.
std::string PiiStream::release(size_t cut, const std::vector<PiiMatch>& matches, bool keep_context) {
  std::string out;
  size_t pos = ctx_;
  for (const auto& m : matches) {
    if (m.offset < ctx_) continue;
    if (m.offset >= cut) break;
    out.append(buf_, pos, m.offset - pos);
    out.append(pii_placeholder(m.kind));
    ++counts_[static_cast<int>(m.kind)];
    pos = m.offset + m.length;
  }
  out.append(buf_, pos, cut - pos);
  // The two bytes of real text before the cut (a synthetic context is for scanning only).
  std::string before = tail_ + buf_.substr(ctx_, cut - ctx_);
  tail_ = before.substr(before.size() - std::min<size_t>(before.size(), 2));
  buf_.replace(0, cut, keep_context ? tail_ : std::string("\x01_"));
  ctx_ = keep_context ? tail_.size() : 2;
  return out;
}

std::string PiiStream::push(std::string_view text) {
  buf_.append(text);
  const size_t start = run_start(buf_, ctx_);
  if (start == ctx_ && held() <= kMaxHeld) return {};
  const std::vector<PiiMatch> matches = find_pii(buf_, options_);
  std::string out;
  if (start > ctx_) {
    out = release(start, matches, /*keep_context=*/true);
    if (held() <= kMaxHeld) return out;
  }
  // A run too long to hold: cut where the scan's state is known (see the top of the file).
  const std::vector<PiiMatch> rest = start > ctx_ ? find_pii(buf_, options_) : matches;
  const size_t limit = buf_.size() - kPiiMaxLookahead;
  size_t cut = 0;
  bool exact = false;
  size_t m = 0;
  for (size_t p = ctx_ + 1; p <= limit; ++p) {
    while (m < rest.size() && rest[m].offset + rest[m].length < p) ++m;
    const bool in_match = m < rest.size() && rest[m].offset < p && p < rest[m].offset + rest[m].length;
    if (in_match) continue;
    const bool at_end = m < rest.size() && rest[m].offset + rest[m].length == p;
    if (at_end || (is_alnum(buf_[p - 1]) && is_alnum(buf_[p]))) {
      cut = p;
      exact = true;
    }
  }
  if (!exact) {
    cut = limit;
    for (const auto& r : rest)
      if (r.offset < cut && cut < r.offset + r.length) cut = r.offset + r.length;
    while (cut > ctx_ && (static_cast<unsigned char>(buf_[cut]) & 0xC0) == 0x80) --cut;  // a character's start
    if (cut <= ctx_) return out;
    ++inexact_cuts_;
  }
  out += release(cut, rest, /*keep_context=*/false);
  return out;
}

std::string PiiStream::finish() {
  const std::vector<PiiMatch> matches = find_pii(buf_, options_);
  std::string out = release(buf_.size(), matches, /*keep_context=*/true);
  buf_.clear();
  tail_.clear();
  ctx_ = 0;
  return out;
}

}  // namespace fragua::data
