// SPDX-License-Identifier: Apache-2.0
// GGUF writer: metadata in insertion order, tensors in the order added, each tensor's data
// aligned to the file's alignment (llama.cpp reads offsets as given, so any order works).
#include <cstring>
#include <map>
#include <optional>

#include <fmt/ranges.h>

#include "fragua/format/gguf.h"

namespace fragua::format {

namespace {

template <typename T>
void put(std::string& out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out.append(buf, sizeof(T));
}

void put_string(std::string& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out += s;
}

void put_scalar(std::string& out, GgufType t, const GgufValue& v) {
  switch (t) {
    case GgufType::u8:
      put<uint8_t>(out, static_cast<uint8_t>(v.u));
      break;
    case GgufType::i8:
      put<int8_t>(out, static_cast<int8_t>(v.i));
      break;
    case GgufType::u16:
      put<uint16_t>(out, static_cast<uint16_t>(v.u));
      break;
    case GgufType::i16:
      put<int16_t>(out, static_cast<int16_t>(v.i));
      break;
    case GgufType::u32:
      put<uint32_t>(out, static_cast<uint32_t>(v.u));
      break;
    case GgufType::i32:
      put<int32_t>(out, static_cast<int32_t>(v.i));
      break;
    case GgufType::u64:
      put<uint64_t>(out, v.u);
      break;
    case GgufType::i64:
      put<int64_t>(out, v.i);
      break;
    case GgufType::f32:
      put<float>(out, static_cast<float>(v.f));
      break;
    case GgufType::f64:
      put<double>(out, v.f);
      break;
    case GgufType::boolean:
      put<uint8_t>(out, v.u ? 1 : 0);
      break;
    case GgufType::string:
      put_string(out, v.s);
      break;
    case GgufType::array:
      break;
  }
}

void put_value(std::string& out, const GgufValue& v) {
  if (v.type != GgufType::array) {
    put_scalar(out, v.type, v);
    return;
  }
  put<uint32_t>(out, static_cast<uint32_t>(v.elem_type));
  put<uint64_t>(out, v.array_size());
  GgufValue tmp;
  switch (v.elem_type) {
    case GgufType::string:
      for (const auto& s : v.strings) put_string(out, s);
      break;
    case GgufType::f32:
    case GgufType::f64:
      for (double f : v.floats) {
        tmp.f = f;
        put_scalar(out, v.elem_type, tmp);
      }
      break;
    case GgufType::array:
      for (const auto& x : v.values) put_value(out, x);
      break;
    default:
      for (int64_t i : v.ints) {
        tmp.i = i;
        tmp.u = static_cast<uint64_t>(i);
        put_scalar(out, v.elem_type, tmp);
      }
  }
}

struct PendingTensor {
  std::string name;
  std::vector<int64_t> ne;
  DType dtype;
  const void* data;
  uint64_t n_bytes;
};

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

struct GgufWriter::Impl {
  uint32_t alignment = 32;
  std::vector<GgufKV> kvs;
  std::vector<PendingTensor> tensors;

  std::string header() const {
    std::string out;
    put<uint32_t>(out, 0x46554747);
    put<uint32_t>(out, 3);
    put<uint64_t>(out, tensors.size());
    std::vector<const GgufKV*> all;
    for (const auto& kv : kvs) all.push_back(&kv);
    GgufKV align_kv{"general.alignment", GgufValue::of_u32(alignment)};
    bool has_align = false;
    for (const auto& kv : kvs) has_align |= kv.key == "general.alignment";
    if (alignment != 32 && !has_align) all.push_back(&align_kv);
    put<uint64_t>(out, all.size());
    for (const auto* kv : all) {
      put_string(out, kv->key);
      put<uint32_t>(out, static_cast<uint32_t>(kv->value.type));
      put_value(out, kv->value);
    }
    uint64_t offset = 0;
    for (const auto& t : tensors) {
      put_string(out, t.name);
      put<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
      for (auto d : t.ne) put<uint64_t>(out, static_cast<uint64_t>(d));
      put<uint32_t>(out, static_cast<uint32_t>(t.dtype));
      put<uint64_t>(out, offset);
      offset = align_up(offset + t.n_bytes, alignment);
    }
    out.resize(align_up(out.size(), alignment), '\0');
    return out;
  }
};

GgufWriter::GgufWriter() : impl_(std::make_unique<Impl>()) {}
GgufWriter::~GgufWriter() = default;
GgufWriter::GgufWriter(GgufWriter&&) noexcept = default;
GgufWriter& GgufWriter::operator=(GgufWriter&&) noexcept = default;

void GgufWriter::set_alignment(uint32_t alignment) { impl_->alignment = alignment; }

void GgufWriter::set(std::string key, GgufValue value) {
  for (auto& kv : impl_->kvs) {
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  }
  impl_->kvs.push_back({std::move(key), std::move(value)});
}

Status GgufWriter::declare_tensor(std::string name, std::vector<int64_t> ne, DType dtype) {
  if (!dtype_traits(dtype)) return unsupported_error("tensor '{}': unsupported dtype {}", name, dtype_name(dtype));
  for (const auto& d : ne)
    if (d <= 0) return add_tensor(std::move(name), std::move(ne), dtype, nullptr, 0);  // its message
  const auto bytes = ne.empty() || ne.size() > 4 ? std::optional<uint64_t>(0) : tensor_bytes(dtype, ne);
  return add_tensor(std::move(name), std::move(ne), dtype, nullptr, bytes.value_or(0));
}

Status GgufWriter::add_tensor(std::string name, std::vector<int64_t> ne, DType dtype, const void* data,
                              uint64_t n_bytes) {
  const DTypeTraits* tr = dtype_traits(dtype);
  if (!tr) return unsupported_error("tensor '{}': unsupported dtype {}", name, dtype_name(dtype));
  if (ne.empty() || ne.size() > 4) return invalid_argument_error("tensor '{}': {} dimensions", name, ne.size());
  for (size_t d = 0; d < ne.size(); ++d)
    if (ne[d] <= 0) return invalid_argument_error("tensor '{}': dimension {} is {}", name, d, ne[d]);
  if (ne[0] % tr->block_size != 0)
    return invalid_argument_error("tensor '{}': row length {} is not a multiple of block size {}", name, ne[0],
                                  tr->block_size);
  const auto bytes = tensor_bytes(dtype, ne);
  if (!bytes)
    return invalid_argument_error("tensor '{}': {} {} holds more than 2^64 bytes", name, dtype_name(dtype),
                                  fmt::join(ne, "x"));
  const uint64_t want = *bytes;
  if (want != n_bytes)
    return invalid_argument_error("tensor '{}': {} bytes given, {} expected for {} {}", name, n_bytes, want,
                                  dtype_name(dtype), fmt::join(ne, "x"));
  for (const auto& t : impl_->tensors)
    if (t.name == name) return invalid_argument_error("tensor '{}' added twice", name);
  impl_->tensors.push_back({std::move(name), std::move(ne), dtype, data, n_bytes});
  return {};
}

std::string GgufWriter::to_bytes() const {
  std::string out = impl_->header();
  for (const auto& t : impl_->tensors) {
    if (t.data)
      out.append(static_cast<const char*>(t.data), t.n_bytes);
    else
      out.append(t.n_bytes, '\0');  // declared without data: zeros stand in (header tests)
    out.resize(align_up(out.size(), impl_->alignment), '\0');
  }
  return out;
}

Status GgufWriter::write(const std::string& path, Env& env) const { return write_streaming(path, nullptr, env); }

Status GgufWriter::write_streaming(const std::string& path, const TensorSource& source, Env& env) const {
  for (const auto& t : impl_->tensors)
    if (!t.data && !source) return invalid_argument_error("{}: tensor '{}' was declared without data", path, t.name);
  auto file = FRAGUA_TRY(AtomicFile::create(path, env));
  FRAGUA_TRY(file.append(impl_->header()));
  static const char zeros[64] = {};
  std::string buffer;
  uint64_t offset = 0;
  for (size_t i = 0; i < impl_->tensors.size(); ++i) {
    const PendingTensor& t = impl_->tensors[i];
    const char* p = static_cast<const char*>(t.data);
    if (!p) {
      GgufTensorInfo info{t.name, t.ne, t.dtype, offset, t.n_bytes, nullptr};
      buffer.clear();
      FRAGUA_TRY(source(i, info, buffer));
      if (buffer.size() != t.n_bytes)
        return invalid_argument_error("{}: tensor '{}': {} bytes given, {} declared", path, t.name, buffer.size(),
                                      t.n_bytes);
      p = buffer.data();
    }
    offset = align_up(offset + t.n_bytes, impl_->alignment);
    // Append in chunks: a multi-gigabyte tensor must not need a second copy in memory.
    uint64_t left = t.n_bytes;
    while (left > 0) {
      uint64_t n = std::min<uint64_t>(left, 64u << 20);
      FRAGUA_TRY(file.append(std::string_view(p, n)));
      p += n;
      left -= n;
    }
    uint64_t pad = align_up(file.bytes_written(), impl_->alignment) - file.bytes_written();
    while (pad > 0) {
      uint64_t n = std::min<uint64_t>(pad, sizeof zeros);
      FRAGUA_TRY(file.append(std::string_view(zeros, n)));
      pad -= n;
    }
  }
  return file.commit();
}

}  // namespace fragua::format
