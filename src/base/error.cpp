// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/error.h"

namespace fragua {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::not_found:
      return "not found";
    case ErrorCode::corruption:
      return "corrupt input";
    case ErrorCode::unsupported:
      return "unsupported";
    case ErrorCode::invalid_argument:
      return "invalid argument";
    case ErrorCode::io:
      return "I/O error";
    case ErrorCode::resource_exhausted:
      return "resource exhausted";
  }
  return "error";
}

std::string Error::to_string() const { return fmt::format("{}: {}", error_code_name(code_), message_); }

Error Error::with_context(std::string_view context) const& {
  return Error(code_, fmt::format("{}: {}", context, message_));
}

Error Error::with_context(std::string_view context) && {
  message_ = fmt::format("{}: {}", context, message_);
  return std::move(*this);
}

}  // namespace fragua
