// SPDX-License-Identifier: Apache-2.0
// UTF-8 helpers (RFC 3629): validation that reports the byte offset of the first fault, and
// code point decode/encode that never reads past the end.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fragua/base/error.h"

namespace fragua::utf8 {

// Length of the valid sequence starting at s[0], or 0 if it is invalid (overlong forms,
// surrogates, > U+10FFFF, truncated sequences are invalid).
size_t sequence_length(std::string_view s);
// Offset of the first invalid byte, or nullopt if all of `s` is valid UTF-8.
std::optional<size_t> find_invalid(std::string_view s);
inline bool is_valid(std::string_view s) { return !find_invalid(s).has_value(); }
// Error naming `where` and the byte offset, or ok.
Status validate(std::string_view s, std::string_view where);
// Decodes the code point at s[pos] and advances pos; invalid bytes decode as U+FFFD, advancing 1.
char32_t decode(std::string_view s, size_t& pos);
void append(std::string& out, char32_t cp);
std::string encode(char32_t cp);
// Replaces every invalid byte with U+FFFD.
std::string sanitize(std::string_view s);
// Bytes at the end of `s` that begin a multi-byte sequence still missing continuation bytes (0 to
// 3): a stream of token pieces holds them back until the character completes.
size_t incomplete_suffix(std::string_view s);

}  // namespace fragua::utf8

namespace fragua {

// Untrusted text (a GGUF key, a tensor name, a file name) made safe to print on a terminal: the
// C0 controls, DEL and the C1 controls U+0080..U+009F (ECMA-48: ESC, CSI and OSC start escape
// sequences that move the cursor, retitle the window or write the clipboard) become \xNN or
// \u{NN}, and invalid UTF-8 bytes become \xNN (a lone 0x9B is CSI to an 8-bit terminal).
// keep_newlines keeps '\n' and '\t' (multi-line messages).
std::string terminal_safe(std::string_view s, bool keep_newlines = false);

}  // namespace fragua
