#include "materials/ubj_check.h"

#include <cstdint>

namespace fragua::materials {
namespace {

class UbjChecker {
 public:
  UbjChecker(std::string_view d, std::string_view origin) : d_(d), origin_(origin) {}

  Status run() {
    if (d_.empty()) return fail("empty UBJSON value");
    FRAGUA_TRY(value(next(), 0));
    if (pos_ != d_.size()) return fail("bytes after the end of the UBJSON value");
    return ok_status();
  }

 private:
  Error fail(std::string_view why) const { return corruption_error("{}: byte offset {}: {}", origin_, pos_, why); }
  char next() { return pos_ < d_.size() ? d_[pos_++] : '\0'; }
  uint64_t remaining() const { return d_.size() - pos_; }
  Status skip(uint64_t n) {
    if (n > remaining()) return fail("a length runs past the end of the data");
    pos_ += static_cast<size_t>(n);
    return ok_status();
  }
  // Payload bytes of a fixed-size type, or -1.
  static int fixed_size(char t) {
    switch (t) {
      case 'Z':
      case 'N':
      case 'T':
      case 'F':
        return 0;
      case 'i':
      case 'U':
      case 'C':
        return 1;
      case 'I':
        return 2;
      case 'l':
      case 'd':
        return 4;
      case 'L':
      case 'D':
        return 8;
      default:
        return -1;
    }
  }
  // A length or count: an integer value with its marker, non-negative.
  Result<uint64_t> length() {
    const char t = next();
    const int n = (t == 'i' || t == 'U' || t == 'I' || t == 'l' || t == 'L') ? fixed_size(t) : -1;
    if (n < 0) return fail("expected an integer length");
    if (static_cast<uint64_t>(n) > remaining()) return fail("a length runs past the end of the data");
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(d_[pos_ + static_cast<size_t>(i)]);
    const bool negative = t != 'U' && n > 0 && (static_cast<uint8_t>(d_[pos_]) & 0x80);
    pos_ += static_cast<size_t>(n);
    if (negative) return fail("negative length");
    return v;
  }
  Status value(char t, int depth) {
    if (int n = fixed_size(t); n >= 0) return skip(static_cast<uint64_t>(n));
    switch (t) {
      case 'S':
      case 'H':
        return skip(FRAGUA_TRY(length()));
      case '[':
      case '{':
        return container(t == '{', depth + 1);
      default:
        return fail(fmt::format("unknown UBJSON marker 0x{:02x}", static_cast<uint8_t>(t)));
    }
  }
  Status container(bool object, int depth) {
    if (depth > kUbjMaxDepth) return fail(fmt::format("nested deeper than {} levels", kUbjMaxDepth));
    char type = '\0';
    if (pos_ < d_.size() && d_[pos_] == '$') {
      ++pos_;
      type = next();
      if (fixed_size(type) < 0 && type != 'S' && type != 'H' && type != '[' && type != '{')
        return fail("unknown element type of a typed container");
      if (pos_ >= d_.size() || d_[pos_] != '#') return fail("a typed container without a count");
    }
    bool counted = false;
    uint64_t count = 0;
    if (pos_ < d_.size() && d_[pos_] == '#') {
      ++pos_;
      counted = true;
      count = FRAGUA_TRY(length());
      // Each element takes at least a byte (zero-size types are not written in counted form by
      // any writer Fragua reads): a count past the bytes left is a lie that would be allocated.
      if (count > remaining())
        return fail(fmt::format("a count of {} is more than the {} bytes left", count, remaining()));
      if (type != '\0' && fixed_size(type) > 0 && count * static_cast<uint64_t>(fixed_size(type)) > remaining())
        return fail("a typed array runs past the end of the data");
    }
    for (uint64_t i = 0; !counted || i < count; ++i) {
      if (!counted) {
        if (pos_ >= d_.size()) return fail("an unterminated container");
        if (d_[pos_] == (object ? '}' : ']')) {
          ++pos_;
          return ok_status();
        }
      }
      if (object) FRAGUA_TRY(skip(FRAGUA_TRY(length())));  // the key
      FRAGUA_TRY(value(type != '\0' ? type : next(), depth));
    }
    return ok_status();
  }

  std::string_view d_, origin_;
  size_t pos_ = 0;
};

}  // namespace

Status check_ubjson(std::string_view data, std::string_view origin) { return UbjChecker(data, origin).run(); }

}  // namespace fragua::materials
