// SPDX-License-Identifier: Apache-2.0
// GGUF reader. Every length, count and offset read from the file is checked against the bytes
// that remain before it is used; errors name the file and the byte offset of the fault.
#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_map>

#include <fmt/ranges.h>

#include "fragua/format/gguf.h"

namespace fragua::format {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian u32
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint64_t kMaxAlignment = uint64_t{1} << 20;
constexpr int kMaxDims = 4;  // GGML_MAX_DIMS
// Arrays of arrays: llama.cpp writes none; two levels leave room for a matrix of values.
constexpr int kMaxArrayDepth = 2;
// Memory the parsed metadata and tensor table may take. Each element lives in a wider C++ form
// than in the file (a u8 as an int64, an empty 12-byte nested array as a GgufValue of about 170
// bytes, a 13-byte key/value as a map entry), so a file of N bytes could cost ~15 N: 48 MB of
// nested empty arrays took 690 MB. Real models need far less: a 256k-token vocabulary with
// scores, types and merges is about 50 MB.
constexpr uint64_t kMaxHeaderMemory = uint64_t{256} << 20;

class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, const std::string& name) : p_(data), size_(size), name_(name) {}
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  // Charges n items of `each` bytes of memory, before they are allocated; `what` and `at` name
  // the item in the error.
  Status charge(uint64_t n, uint64_t each, uint64_t at, std::string_view what) {
    if (each != 0 && n > memory_left_ / each)
      return error_at(at, fmt::format("{} would take more than the {} MiB allowed for metadata in memory", what,
                                      kMaxHeaderMemory >> 20));
    memory_left_ -= n * each;
    return {};
  }

  template <typename T>
  Result<T> read(std::string_view what) {
    if (remaining() < sizeof(T))
      return corruption_error("{}: truncated at byte offset {} reading {} ({} bytes needed, {} left)", name_, pos_,
                              what, sizeof(T), remaining());
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  Result<std::string> read_string(std::string_view what) {
    uint64_t at = pos_;
    auto len = FRAGUA_TRY(read<uint64_t>(what));
    if (len > remaining())
      return corruption_error("{}: {} at byte offset {} claims {} bytes but only {} remain", name_, what, at, len,
                              remaining());
    if (len >= sizeof(std::string)) FRAGUA_TRY(charge(len + 1, 1, at, what));  // past the inline buffer
    std::string s(reinterpret_cast<const char*>(p_ + pos_), len);
    pos_ += len;
    return s;
  }

  Error error_at(uint64_t at, std::string msg) const {
    return corruption_error("{}: {} (byte offset {})", name_, msg, at);
  }
  const std::string& name() const { return name_; }

 private:
  const uint8_t* p_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& name_;
  uint64_t memory_left_ = kMaxHeaderMemory;
};

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::u8:
    case GgufType::i8:
    case GgufType::boolean:
      return 1;
    case GgufType::u16:
    case GgufType::i16:
      return 2;
    case GgufType::u32:
    case GgufType::i32:
    case GgufType::f32:
      return 4;
    case GgufType::u64:
    case GgufType::i64:
    case GgufType::f64:
      return 8;
    case GgufType::string:
      return 8;  // at least its length field
    case GgufType::array:
      return 12;  // at least type + count
  }
  return 0;
}

bool valid_type(uint32_t t) { return t <= 12; }

Result<GgufValue> read_value(Cursor& c, GgufType type, int depth, std::string_view key);

// Reads one scalar into v (integers into u or i, floats into f).
Status read_scalar(Cursor& c, GgufType type, GgufValue& v, std::string_view key) {
  uint64_t at = c.pos();
  switch (type) {
    case GgufType::u8:
      v.u = FRAGUA_TRY(c.read<uint8_t>(key));
      break;
    case GgufType::i8:
      v.i = FRAGUA_TRY(c.read<int8_t>(key));
      break;
    case GgufType::u16:
      v.u = FRAGUA_TRY(c.read<uint16_t>(key));
      break;
    case GgufType::i16:
      v.i = FRAGUA_TRY(c.read<int16_t>(key));
      break;
    case GgufType::u32:
      v.u = FRAGUA_TRY(c.read<uint32_t>(key));
      break;
    case GgufType::i32:
      v.i = FRAGUA_TRY(c.read<int32_t>(key));
      break;
    case GgufType::u64:
      v.u = FRAGUA_TRY(c.read<uint64_t>(key));
      break;
    case GgufType::i64:
      v.i = FRAGUA_TRY(c.read<int64_t>(key));
      break;
    case GgufType::f32:
      v.f = FRAGUA_TRY(c.read<float>(key));
      break;
    case GgufType::f64:
      v.f = FRAGUA_TRY(c.read<double>(key));
      break;
    case GgufType::boolean: {
      auto b = FRAGUA_TRY(c.read<uint8_t>(key));
      if (b > 1) return c.error_at(at, fmt::format("key '{}': bool value {} is neither 0 nor 1", key, b));
      v.u = b;
      break;
    }
    case GgufType::string:
      v.s = FRAGUA_TRY(c.read_string(key));
      break;
    case GgufType::array:
      break;
  }
  return {};
}

Result<GgufValue> read_array(Cursor& c, int depth, std::string_view key) {
  uint64_t at = c.pos();
  if (depth >= kMaxArrayDepth) return c.error_at(at, fmt::format("key '{}': arrays nested too deeply", key));
  GgufValue v;
  v.type = GgufType::array;
  auto et = FRAGUA_TRY(c.read<uint32_t>(key));
  if (!valid_type(et)) return c.error_at(at, fmt::format("key '{}': unknown array element type {}", key, et));
  v.elem_type = static_cast<GgufType>(et);
  auto n = FRAGUA_TRY(c.read<uint64_t>(key));
  // Each element takes at least scalar_size bytes: reject counts the file cannot hold, and counts
  // whose in-memory form exceeds the budget, before reserving memory for them.
  if (n > c.remaining() / scalar_size(v.elem_type))
    return c.error_at(at, fmt::format("key '{}': array of {} {} elements does not fit in the {} bytes left", key, n,
                                      gguf_type_name(v.elem_type), c.remaining()));
  const uint64_t each = v.elem_type == GgufType::string  ? sizeof(std::string)
                        : v.elem_type == GgufType::array ? sizeof(GgufValue)
                                                         : sizeof(int64_t);
  FRAGUA_TRY(
      c.charge(n, each, at, fmt::format("key '{}': array of {} {} elements", key, n, gguf_type_name(v.elem_type))));
  GgufValue tmp;
  switch (v.elem_type) {
    case GgufType::string:
      v.strings.reserve(n);
      for (uint64_t k = 0; k < n; ++k) v.strings.push_back(FRAGUA_TRY(c.read_string(key)));
      break;
    case GgufType::f32:
    case GgufType::f64:
      v.floats.reserve(n);
      for (uint64_t k = 0; k < n; ++k) {
        FRAGUA_TRY(read_scalar(c, v.elem_type, tmp, key));
        v.floats.push_back(tmp.f);
      }
      break;
    case GgufType::array:
      v.values.reserve(n);
      for (uint64_t k = 0; k < n; ++k) v.values.push_back(FRAGUA_TRY(read_array(c, depth + 1, key)));
      break;
    case GgufType::u64: {
      v.ints.reserve(n);
      for (uint64_t k = 0; k < n; ++k) {
        uint64_t pos = c.pos();
        auto x = FRAGUA_TRY(c.read<uint64_t>(key));
        if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          return c.error_at(pos, fmt::format("key '{}': u64 array element {} too large", key, x));
        v.ints.push_back(static_cast<int64_t>(x));
      }
      break;
    }
    default: {
      v.ints.reserve(n);
      bool sgn = v.elem_type == GgufType::i8 || v.elem_type == GgufType::i16 || v.elem_type == GgufType::i32 ||
                 v.elem_type == GgufType::i64;
      for (uint64_t k = 0; k < n; ++k) {
        FRAGUA_TRY(read_scalar(c, v.elem_type, tmp, key));
        v.ints.push_back(sgn ? tmp.i : static_cast<int64_t>(tmp.u));
      }
    }
  }
  return v;
}

Result<GgufValue> read_value(Cursor& c, GgufType type, int depth, std::string_view key) {
  if (type == GgufType::array) return read_array(c, depth, key);
  GgufValue v;
  v.type = type;
  FRAGUA_TRY(read_scalar(c, type, v, key));
  return v;
}

// general.alignment of any integer type (llama.cpp writes u32; some converters i32 or u64) that
// holds a power of two from 8 (the GGUF specification asks for a multiple of 8; below it an F16 or
// F32 tensor could start at an odd address) up to kMaxAlignment; `at` is the offset of the key.
Result<uint64_t> read_alignment(const Cursor& c, const GgufValue& v, uint64_t at) {
  const bool is_signed =
      v.type == GgufType::i8 || v.type == GgufType::i16 || v.type == GgufType::i32 || v.type == GgufType::i64;
  uint64_t a = 0;
  if (v.is_integer() && v.type != GgufType::boolean) a = is_signed ? (v.i > 0 ? static_cast<uint64_t>(v.i) : 0) : v.u;
  if (a < 8 || (a & (a - 1)) != 0 || a > kMaxAlignment)
    return c.error_at(at, fmt::format("general.alignment must be an integer power of two from 8 to {}, got {} {}",
                                      kMaxAlignment, gguf_type_name(v.type), v.to_string(2)));
  return a;
}

}  // namespace

struct GgufFile::Impl {
  std::string path;
  MappedFile map;  // empty when parsing caller-owned bytes
  const uint8_t* data = nullptr;
  uint64_t size = 0;
  uint32_t version = 0;
  uint64_t alignment = kDefaultAlignment;
  uint64_t data_offset = 0;
  std::vector<GgufKV> kvs;
  std::unordered_map<std::string, size_t> kv_index;
  std::vector<GgufTensorInfo> tensors;
  std::unordered_map<std::string, size_t> tensor_index;
  std::vector<GgufFile> parts;  // the further files of a split model, whose tensors are above
};

namespace {

Status parse_header(GgufFile::Impl& f) {
  Cursor c(f.data, f.size, f.path);
  auto magic = FRAGUA_TRY(c.read<uint32_t>("magic"));
  if (magic != kMagic) return c.error_at(0, "not a GGUF file (magic is not \"GGUF\")");
  f.version = FRAGUA_TRY(c.read<uint32_t>("version"));
  if (f.version != 2 && f.version != 3)
    return unsupported_error("{}: GGUF version {} is not supported (this reader handles versions 2 and 3)", f.path,
                             f.version);
  uint64_t at = c.pos();
  auto n_tensors = FRAGUA_TRY(c.read<uint64_t>("tensor count"));
  auto n_kv = FRAGUA_TRY(c.read<uint64_t>("metadata count"));
  // Smallest entries: a key/value of an empty key, a type and a u8 (13 bytes); a tensor of an
  // empty name, one dimension, a type and an offset (32 bytes).
  if (n_kv > c.remaining() / 13) return c.error_at(at, fmt::format("metadata count {} exceeds the file size", n_kv));
  if (n_tensors > c.remaining() / 32)
    return c.error_at(at, fmt::format("tensor count {} exceeds the file size", n_tensors));
  constexpr uint64_t kIndexEntry = 64;  // an unordered_map node and bucket, roughly
  FRAGUA_TRY(c.charge(n_kv, sizeof(GgufKV) + kIndexEntry, at, fmt::format("metadata count {}", n_kv)));
  FRAGUA_TRY(c.charge(n_tensors, sizeof(GgufTensorInfo) + kIndexEntry + kMaxDims * sizeof(int64_t), at,
                      fmt::format("tensor count {}", n_tensors)));

  f.kvs.reserve(n_kv);
  for (uint64_t k = 0; k < n_kv; ++k) {
    uint64_t kat = c.pos();
    auto key = FRAGUA_TRY(c.read_string("metadata key"));
    auto type = FRAGUA_TRY(c.read<uint32_t>("metadata type"));
    if (!valid_type(type)) return c.error_at(kat, fmt::format("key '{}': unknown value type {}", key, type));
    auto value = FRAGUA_TRY(read_value(c, static_cast<GgufType>(type), 0, key));
    if (f.kv_index.count(key)) return c.error_at(kat, fmt::format("duplicate metadata key '{}'", key));
    if (key == "general.alignment") f.alignment = FRAGUA_TRY(read_alignment(c, value, kat));
    f.kv_index.emplace(key, f.kvs.size());
    f.kvs.push_back({std::move(key), std::move(value)});
  }

  f.tensors.reserve(n_tensors);
  for (uint64_t t = 0; t < n_tensors; ++t) {
    uint64_t tat = c.pos();
    GgufTensorInfo info;
    info.name = FRAGUA_TRY(c.read_string("tensor name"));
    auto n_dims = FRAGUA_TRY(c.read<uint32_t>("tensor dimension count"));
    if (n_dims == 0 || n_dims > kMaxDims)
      return c.error_at(tat, fmt::format("tensor '{}': {} dimensions (1 to {} allowed)", info.name, n_dims, kMaxDims));
    uint64_t n_el = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      auto dim = FRAGUA_TRY(c.read<uint64_t>("tensor dimension"));
      if (dim == 0 || dim > (uint64_t{1} << 40) || n_el > (uint64_t{1} << 62) / dim)
        return c.error_at(tat, fmt::format("tensor '{}': dimension {} = {} is out of range", info.name, d, dim));
      n_el *= dim;
      info.ne.push_back(static_cast<int64_t>(dim));
    }
    auto type_id = FRAGUA_TRY(c.read<uint32_t>("tensor type"));
    info.dtype = static_cast<DType>(type_id);
    const DTypeTraits* tr = dtype_traits(info.dtype);
    if (!tr)
      return unsupported_error("{}: tensor '{}' has type id {} which Fragua does not support", f.path, info.name,
                               type_id);
    if (info.ne[0] % tr->block_size != 0)
      return c.error_at(tat, fmt::format("tensor '{}': row length {} is not a multiple of the {} block size {}",
                                         info.name, info.ne[0], tr->name, tr->block_size));
    auto n_bytes = tensor_bytes(info.dtype, info.ne);
    if (!n_bytes)
      return c.error_at(tat, fmt::format("tensor '{}': {} [{}] holds more than 2^64 bytes", info.name, tr->name,
                                         fmt::join(info.ne, ", ")));
    info.n_bytes = *n_bytes;
    info.offset = FRAGUA_TRY(c.read<uint64_t>("tensor offset"));
    if (info.offset % f.alignment != 0)
      return c.error_at(
          tat, fmt::format("tensor '{}': data offset {} is not aligned to {}", info.name, info.offset, f.alignment));
    if (f.tensor_index.count(info.name)) return c.error_at(tat, fmt::format("duplicate tensor '{}'", info.name));
    f.tensor_index.emplace(info.name, f.tensors.size());
    f.tensors.push_back(std::move(info));
  }

  // The data section starts at the next multiple of the alignment.
  uint64_t off = c.pos();
  f.data_offset = (off + f.alignment - 1) / f.alignment * f.alignment;
  if (n_tensors > 0 && f.data_offset > f.size)
    return corruption_error("{}: data section would start at byte {} but the file has {} bytes", f.path, f.data_offset,
                            f.size);
  uint64_t data_size = f.size > f.data_offset ? f.size - f.data_offset : 0;
  for (auto& t : f.tensors) {
    if (t.offset > data_size || t.n_bytes > data_size - t.offset)
      return corruption_error(
          "{}: tensor '{}' data of {} bytes at offset {} runs past the end of the file (data section holds {} bytes "
          "from offset {})",
          f.path, t.name, t.n_bytes, t.offset, data_size, f.data_offset);
    t.data = f.data + f.data_offset + t.offset;
  }
  return {};
}

}  // namespace

GgufFile::GgufFile() : impl_(std::make_unique<Impl>()) {}
GgufFile::GgufFile(GgufFile&&) noexcept = default;
GgufFile& GgufFile::operator=(GgufFile&&) noexcept = default;
GgufFile::~GgufFile() = default;

Result<GgufFile> GgufFile::open(const std::string& path) {
  GgufFile f = FRAGUA_TRY(open_single(path));
  FRAGUA_TRY(f.open_split_parts());
  return f;
}

Result<GgufFile> GgufFile::open_single(const std::string& path) {
  GgufFile f;
  f.impl_->path = path;
  f.impl_->map = FRAGUA_TRY(MappedFile::open(path));
  f.impl_->data = f.impl_->map.data();
  f.impl_->size = f.impl_->map.size();
  FRAGUA_TRY(parse_header(*f.impl_));
  return f;
}

Result<GgufFile> GgufFile::parse(std::string_view bytes, std::string name) {
  GgufFile f;
  f.impl_->path = std::move(name);
  f.impl_->data = reinterpret_cast<const uint8_t*>(bytes.data());
  f.impl_->size = bytes.size();
  FRAGUA_TRY(parse_header(*f.impl_));
  return f;
}

const std::string& GgufFile::path() const { return impl_->path; }
uint32_t GgufFile::version() const { return impl_->version; }
uint64_t GgufFile::alignment() const { return impl_->alignment; }
uint64_t GgufFile::data_offset() const { return impl_->data_offset; }
uint64_t GgufFile::file_size() const { return impl_->size; }
const std::vector<GgufKV>& GgufFile::metadata() const { return impl_->kvs; }
const std::vector<GgufTensorInfo>& GgufFile::tensors() const { return impl_->tensors; }
void GgufFile::prefetch() const {
  impl_->map.prefetch();
  for (const auto& part : impl_->parts) part.prefetch();
}
// MappedFile::release ignores a range outside its mapping, so each part takes what is its own.
void GgufFile::release(const void* p, uint64_t n) const {
  impl_->map.release(p, n);
  for (const auto& part : impl_->parts) part.release(p, n);
}

std::vector<std::string> GgufFile::part_paths() const {
  std::vector<std::string> paths{impl_->path};
  for (const auto& part : impl_->parts) paths.push_back(part.path());
  return paths;
}

Status GgufFile::adopt_part(GgufFile part) {
  for (const auto& t : part.impl_->tensors) {
    if (impl_->tensor_index.count(t.name))
      return corruption_error("{}: tensor '{}' is also in an earlier part of the split model {}", part.path(),
                              t.name, impl_->path);
    impl_->tensor_index.emplace(t.name, impl_->tensors.size());
    impl_->tensors.push_back(t);  // data points into the part's mapping, which `parts` keeps
  }
  impl_->parts.push_back(std::move(part));
  return {};
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = impl_->kv_index.find(std::string(key));
  return it == impl_->kv_index.end() ? nullptr : &impl_->kvs[it->second].value;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = impl_->tensor_index.find(std::string(name));
  return it == impl_->tensor_index.end() ? nullptr : &impl_->tensors[it->second];
}

namespace {
Error missing(const std::string& path, std::string_view key) {
  return not_found_error("{}: metadata key '{}' is missing", path, key);
}
Error wrong_type(const std::string& path, std::string_view key, const GgufValue& v, std::string_view want) {
  return corruption_error("{}: metadata key '{}' is {} but {} was expected", path, key, gguf_type_name(v.type), want);
}
bool is_signed_type(GgufType t) {
  return t == GgufType::i8 || t == GgufType::i16 || t == GgufType::i32 || t == GgufType::i64;
}
}  // namespace

Result<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(impl_->path, key);
  if (v->type != GgufType::string) return wrong_type(impl_->path, key, *v, "a string");
  return v->s;
}

Result<uint64_t> GgufFile::get_uint(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(impl_->path, key);
  if (!v->is_integer()) return wrong_type(impl_->path, key, *v, "an integer");
  if (is_signed_type(v->type)) {
    if (v->i < 0) return corruption_error("{}: metadata key '{}' is negative ({})", impl_->path, key, v->i);
    return static_cast<uint64_t>(v->i);
  }
  return v->u;
}

Result<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(impl_->path, key);
  if (!v->is_integer()) return wrong_type(impl_->path, key, *v, "an integer");
  if (is_signed_type(v->type)) return v->i;
  if (v->u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return corruption_error("{}: metadata key '{}' = {} is too large", impl_->path, key, v->u);
  return static_cast<int64_t>(v->u);
}

Result<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(impl_->path, key);
  if (v->is_float()) return v->f;
  if (v->is_integer()) return is_signed_type(v->type) ? static_cast<double>(v->i) : static_cast<double>(v->u);
  return wrong_type(impl_->path, key, *v, "a number");
}

Result<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(impl_->path, key);
  if (v->type != GgufType::boolean) return wrong_type(impl_->path, key, *v, "a bool");
  return v->u != 0;
}

Result<const std::vector<std::string>*> GgufFile::get_strings(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(impl_->path, key);
  if (v->type != GgufType::array || v->elem_type != GgufType::string)
    return wrong_type(impl_->path, key, *v, "an array of strings");
  return &v->strings;
}

Result<const std::vector<double>*> GgufFile::get_floats(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(impl_->path, key);
  if (v->type != GgufType::array || (v->elem_type != GgufType::f32 && v->elem_type != GgufType::f64))
    return wrong_type(impl_->path, key, *v, "an array of floats");
  return &v->floats;
}

Result<const std::vector<int64_t>*> GgufFile::get_ints(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return missing(impl_->path, key);
  if (v->type != GgufType::array || v->elem_type == GgufType::string || v->elem_type == GgufType::array ||
      v->elem_type == GgufType::f32 || v->elem_type == GgufType::f64)
    return wrong_type(impl_->path, key, *v, "an array of integers");
  return &v->ints;
}

Result<uint64_t> GgufFile::get_uint_or(std::string_view key, uint64_t def) const {
  return find(key) ? get_uint(key) : Result<uint64_t>(def);
}
Result<double> GgufFile::get_float_or(std::string_view key, double def) const {
  return find(key) ? get_float(key) : Result<double>(def);
}
Result<std::string> GgufFile::get_string_or(std::string_view key, std::string def) const {
  return find(key) ? get_string(key) : Result<std::string>(std::move(def));
}

}  // namespace fragua::format
