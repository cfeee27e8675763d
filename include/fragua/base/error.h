// SPDX-License-Identifier: Apache-2.0
// One error type for the whole library (DESIGN 7, after LevelDB's Status): a short code list and
// a message that names the place in the input at fault (path, byte offset, field, line).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace fragua {

enum class ErrorCode { not_found, corruption, unsupported, invalid_argument, io, resource_exhausted };

const char* error_code_name(ErrorCode code);

class [[nodiscard]] Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corruption: model.gguf: tensor 'x' data at offset 4096 runs past the end of the file"
  std::string to_string() const;

  // Prepends context: err.with_context("loading model.gguf").
  Error with_context(std::string_view context) const&;
  Error with_context(std::string_view context) &&;

 private:
  ErrorCode code_;
  std::string message_;
};

// Helpers that format with fmt: return corruption_error("{}: bad magic at offset {}", path, 0);
template <typename... Args>
Error make_error(ErrorCode code, fmt::format_string<Args...> f, Args&&... args) {
  return Error(code, fmt::format(f, std::forward<Args>(args)...));
}
#define FRAGUA_DEFINE_ERROR_HELPER(name)                                        \
  template <typename... Args>                                                   \
  Error name##_error(fmt::format_string<Args...> f, Args&&... args) {           \
    return Error(ErrorCode::name, fmt::format(f, std::forward<Args>(args)...)); \
  }
FRAGUA_DEFINE_ERROR_HELPER(not_found)
FRAGUA_DEFINE_ERROR_HELPER(corruption)
FRAGUA_DEFINE_ERROR_HELPER(unsupported)
FRAGUA_DEFINE_ERROR_HELPER(invalid_argument)
FRAGUA_DEFINE_ERROR_HELPER(io)
FRAGUA_DEFINE_ERROR_HELPER(resource_exhausted)
#undef FRAGUA_DEFINE_ERROR_HELPER

// Result<T>: a value or an Error. Result<void> is the plain status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    assert(!ok());
    return std::get<1>(v_);
  }
  Error&& error() && {
    assert(!ok());
    return std::get<1>(std::move(v_));
  }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}  // NOLINT

  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  void value() const { assert(ok()); }
  const Error& error() const& {
    assert(!ok());
    return *e_;
  }
  Error&& error() && {
    assert(!ok());
    return std::move(*e_);
  }

 private:
  std::optional<Error> e_;
};

using Status = Result<void>;
inline Status ok_status() { return {}; }

}  // namespace fragua

// Evaluates a Result; on error returns the Error from the enclosing function, otherwise yields
// the value: auto file = FRAGUA_TRY(open(path)); (GNU statement expression: gcc and clang.)
#define FRAGUA_TRY(expr)                                                        \
  ({                                                                            \
    auto&& fragua_try_result_ = (expr);                                         \
    if (!fragua_try_result_.ok()) return std::move(fragua_try_result_).error(); \
    std::move(fragua_try_result_).value();                                      \
  })
