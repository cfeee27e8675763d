// SPDX-License-Identifier: Apache-2.0
// Unicode normalization (UAX #15) through utf8proc. Only valid UTF-8 runs are normalized; an
// invalid byte is copied through, so normalization is total and never fails.
#include <cstdlib>

#include <utf8proc.h>

#include "fragua/base/utf8.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::tokenize {

namespace {

void normalize_valid(std::string_view run, Normalization form, std::string& out) {
  bool ascii = true;
  for (char c : run)
    if (static_cast<unsigned char>(c) >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii) {  // ASCII is invariant under NFC and NFKC
    out += run;
    return;
  }
  int options = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
  if (form == Normalization::nfkc) options |= UTF8PROC_COMPAT;
  utf8proc_uint8_t* dst = nullptr;
  utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(run.data()), static_cast<utf8proc_ssize_t>(run.size()),
                   &dst, static_cast<utf8proc_option_t>(options));
  if (n < 0) {
    out += run;  // cannot happen on valid UTF-8; keep the text rather than lose it
  } else {
    out.append(reinterpret_cast<const char*>(dst), static_cast<size_t>(n));
  }
  std::free(dst);
}

}  // namespace

std::string normalize(std::string_view text, Normalization form) {
  if (form == Normalization::none) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t start = 0, i = 0;
  while (i < text.size()) {
    size_t n = static_cast<unsigned char>(text[i]) < 0x80 ? 1 : utf8::sequence_length(text.substr(i));
    if (n == 0) {
      normalize_valid(text.substr(start, i - start), form, out);
      out.push_back(text[i]);
      start = ++i;
    } else {
      i += n;
    }
  }
  normalize_valid(text.substr(start), form, out);
  return out;
}

std::string_view normalization_name(Normalization form) {
  switch (form) {
    case Normalization::nfc:
      return "nfc";
    case Normalization::nfkc:
      return "nfkc";
    default:
      return "none";
  }
}

Result<Normalization> parse_normalization(std::string_view name) {
  if (name == "none" || name == "identity" || name.empty()) return Normalization::none;
  if (name == "nfc" || name == "NFC") return Normalization::nfc;
  if (name == "nfkc" || name == "NFKC") return Normalization::nfkc;
  return invalid_argument_error("unknown normalization '{}' (none, nfc, nfkc)", name);
}

}  // namespace fragua::tokenize
