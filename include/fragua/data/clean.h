// SPDX-License-Identifier: Apache-2.0
// Text cleaning: Unicode NFC (UAX #15, through utf8proc), removal of software-string residue
// (printf/format placeholders, keyboard accelerators, menu paths) and whitespace collapsing.
#pragma once

#include <string>
#include <string_view>

namespace fragua::data {

struct CleanOptions {
  bool nfc = true;
  // For strings from software catalogs (.mo, help): "%s", "%1$d", "{0}", "{name}", "${var}",
  // "$(var)", accelerators "&File", "_File", "~File", and lines that are only a menu path
  // ("Tools > Options > Writer").
  bool software_strings = false;
  bool collapse_whitespace = true;
};

// NFC; returns the input unchanged (no copy in the caller's view) when it is already NFC.
std::string normalize_nfc(std::string_view text);
// Removes placeholders and accelerators (see CleanOptions::software_strings).
std::string strip_software_markup(std::string_view text);
// Runs of spaces/tabs/no-break spaces become one space, lines are trimmed, runs of blank lines
// become one blank line, and the result has no leading or trailing whitespace.
std::string collapse_whitespace(std::string_view text);
std::string clean_text(std::string_view text, const CleanOptions& options = {});

// A catalog translation left in English: identical to the original once both are cleaned and
// case-folded, or holding no letter at all.
bool is_untranslated(std::string_view translation, std::string_view original);

}  // namespace fragua::data
