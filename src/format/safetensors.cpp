// SPDX-License-Identifier: Apache-2.0
#include "fragua/format/safetensors.h"
#include "fragua/base/json.h"

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

namespace fragua::format {

using nlohmann::json;

namespace {

// The reference implementation caps the header at 100 MB; anything larger is hostile.
constexpr uint64_t kMaxHeader = 100ull << 20;
// JSON values in the header, counted before parsing: a model's header holds about 8 per tensor
// (a 3000-tensor shard: ~25k), while 100 MB of shape zeros would be 50M values and 2.7 GB of
// parse tree (measured under ASan, 76 s) before any check.
constexpr size_t kMaxHeaderValues = size_t{1} << 20;
// Dimensions of one tensor: numpy's NPY_MAXDIMS (64 since numpy 2.0).
constexpr size_t kMaxShapeDims = 64;

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

Result<std::vector<int64_t>> parse_shape(const json& j, const std::string& where) {
  if (!j.is_array()) return corruption_error("{}: \"shape\" is not an array", where);
  if (j.size() > kMaxShapeDims)
    return corruption_error("{}: shape has {} dimensions (at most {})", where, j.size(), kMaxShapeDims);
  std::vector<int64_t> shape;
  for (const auto& d : j) {
    if (!d.is_number_unsigned())
      return corruption_error("{}: shape entry {} is not a non-negative integer", where, json_preview(d));
    uint64_t v = d.get<uint64_t>();
    if (v > (1ull << 40)) return corruption_error("{}: shape entry {} is implausibly large", where, v);
    shape.push_back(static_cast<int64_t>(v));
  }
  return shape;
}

}  // namespace

size_t safetensors_dtype_size(std::string_view d) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
  return 0;
}

int64_t SafetensorsTensor::n_elements() const {
  // The reader checked prod(shape) x element size against the file, except that a 0 anywhere
  // makes the product 0 whatever the other (up to 2^40) dimensions multiply to.
  int64_t n = 1;
  for (int64_t d : shape)
    if (d == 0) return 0;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n)) return INT64_MAX;
  return n;
}

struct SafetensorsFile::Impl {
  std::string path;
  MappedFile mapped;
  std::vector<SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata;
};

SafetensorsFile::SafetensorsFile() : impl_(std::make_unique<Impl>()) {}
SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

const std::string& SafetensorsFile::path() const { return impl_->path; }
const std::vector<SafetensorsTensor>& SafetensorsFile::tensors() const { return impl_->tensors; }
const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return impl_->metadata; }

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  for (const auto& t : impl_->tensors)
    if (t.name == name) return &t;
  return nullptr;
}

void SafetensorsFile::release(const SafetensorsTensor& t) const {
  if (t.n_bytes > 0) impl_->mapped.release(t.data, t.n_bytes);  // parse() of caller bytes: a no-op mapping
}

Status SafetensorsFile::read_f32(std::string_view name, float* dst, int64_t n) const {
  const SafetensorsTensor* t = find(name);
  if (!t) return not_found_error("{}: no tensor '{}'", impl_->path, name);
  if (t->dtype != "F32") return unsupported_error("{}: tensor '{}' is {}, expected F32", impl_->path, name, t->dtype);
  if (t->n_elements() != n)
    return invalid_argument_error("{}: tensor '{}' has {} elements, expected {}", impl_->path, name, t->n_elements(),
                                  n);
  if (n > 0) std::memcpy(dst, t->data, static_cast<size_t>(n) * 4);
  return ok_status();
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto mapped = FRAGUA_TRY(MappedFile::open(path));
  std::string_view bytes = mapped.view();
  auto file = FRAGUA_TRY(parse(bytes, path));
  file.impl_->mapped = std::move(mapped);  // the mapping's address is stable across the move
  return file;
}

Result<SafetensorsFile> SafetensorsFile::parse(std::string_view bytes, std::string name) {
  SafetensorsFile file;
  file.impl_->path = name;
  const auto* base = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 8)
    return corruption_error("{}: {} bytes is too short for a safetensors header length", name, bytes.size());
  uint64_t n_header = read_u64_le(base);
  if (n_header > kMaxHeader)
    return corruption_error("{}: header length {} at offset 0 exceeds the 100 MB limit", name, n_header);
  if (n_header > bytes.size() - 8)
    return corruption_error("{}: header length {} at offset 0 runs past the end of the file ({} bytes)", name, n_header,
                            bytes.size());
  if (size_t at = json_value_count_violation(bytes.substr(8, n_header), kMaxHeaderValues); at != std::string_view::npos)
    return corruption_error("{}: header holds more than {} JSON values (byte offset {})", name, kMaxHeaderValues,
                            8 + at);
  json header = FRAGUA_TRY(parse_json(bytes.substr(8, n_header), name, 8));
  if (!header.is_object()) return corruption_error("{}: header JSON at offset 8 is not an object", name);
  const uint64_t data_start = 8 + n_header;
  const uint64_t data_len = bytes.size() - data_start;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) return corruption_error("{}: \"__metadata__\" is not an object", name);
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          return corruption_error("{}: metadata value of '{}' is not a string", name, m.key());
        file.impl_->metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    std::string where = fmt::format("{}: tensor '{}'", name, key);
    if (!v.is_object()) return corruption_error("{}: entry is not an object", where);
    if (!v.contains("dtype") || !v["dtype"].is_string()) return corruption_error("{}: missing string \"dtype\"", where);
    if (!v.contains("shape")) return corruption_error("{}: missing \"shape\"", where);
    if (!v.contains("data_offsets")) return corruption_error("{}: missing \"data_offsets\"", where);
    SafetensorsTensor t;
    t.name = key;
    t.dtype = v["dtype"].get<std::string>();
    size_t elsize = safetensors_dtype_size(t.dtype);
    if (elsize == 0) return unsupported_error("{}: unknown dtype '{}'", where, t.dtype);
    t.shape = FRAGUA_TRY(parse_shape(v["shape"], where));
    const json& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      return corruption_error("{}: \"data_offsets\" is not a pair of non-negative integers", where);
    uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end) return corruption_error("{}: data_offsets [{}, {}] are reversed", where, begin, end);
    if (end > data_len)
      return corruption_error("{}: data_offsets end {} (file offset {}) runs past the end of the file ({} bytes)",
                              where, end, data_start + end, bytes.size());
    // Checked product (UINT64_MAX: past 64 bits); a zero dimension anywhere makes it 0 whatever
    // the dimensions before it multiply to.
    uint64_t n_bytes = elsize;
    for (int64_t d : t.shape)
      if (d == 0) n_bytes = 0;
    for (int64_t d : t.shape)
      if (n_bytes != 0 && __builtin_mul_overflow(n_bytes, static_cast<uint64_t>(d), &n_bytes)) n_bytes = UINT64_MAX;
    if (n_bytes != UINT64_MAX && n_bytes > data_len) n_bytes = UINT64_MAX;  // cannot fit the file either way
    if (n_bytes != end - begin)
      return corruption_error("{}: shape needs {} bytes but data_offsets [{}, {}] hold {}", where,
                              n_bytes == UINT64_MAX ? std::string("more than the file") : std::to_string(n_bytes),
                              begin, end, end - begin);
    t.offset = begin;
    t.n_bytes = n_bytes;
    t.data = base + data_start + begin;
    file.impl_->tensors.push_back(std::move(t));
  }
  // Overlapping tensors would alias each other's bytes: reject, naming both.
  std::vector<const SafetensorsTensor*> sorted;
  for (const auto& t : file.impl_->tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i]->offset < sorted[i - 1]->offset + sorted[i - 1]->n_bytes)
      return corruption_error("{}: tensors '{}' and '{}' overlap at data offset {}", name, sorted[i - 1]->name,
                              sorted[i]->name, sorted[i]->offset);
  return file;
}

SafetensorsWriter::SafetensorsWriter() = default;
SafetensorsWriter::~SafetensorsWriter() = default;

void SafetensorsWriter::set_metadata(std::string key, std::string value) {
  metadata_[std::move(key)] = std::move(value);
}

Status SafetensorsWriter::add_tensor(std::string name, std::string dtype, std::vector<int64_t> shape, const void* data,
                                     uint64_t n_bytes) {
  size_t elsize = safetensors_dtype_size(dtype);
  if (elsize == 0) return invalid_argument_error("safetensors: tensor '{}': unknown dtype '{}'", name, dtype);
  if (name == "__metadata__") return invalid_argument_error("safetensors: '__metadata__' is reserved");
  for (const auto& e : entries_)
    if (e.name == name) return invalid_argument_error("safetensors: duplicate tensor '{}'", name);
  uint64_t n = elsize;
  for (int64_t d : shape) {
    if (d < 0) return invalid_argument_error("safetensors: tensor '{}': negative dimension", name);
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n))
      return invalid_argument_error("safetensors: tensor '{}': shape holds more than 2^64 bytes", name);
  }
  if (n != n_bytes)
    return invalid_argument_error("safetensors: tensor '{}': shape needs {} bytes, got {}", name, n, n_bytes);
  entries_.push_back({std::move(name), std::move(dtype), std::move(shape), data, n_bytes});
  return ok_status();
}

std::string SafetensorsWriter::header() const {
  // ordered_json keeps insertion order, so the header reads in data order.
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata_.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata_) m[k] = v;
    h["__metadata__"] = m;
  }
  uint64_t off = 0;
  for (const auto& e : entries_) {
    h[e.name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {off, off + e.n_bytes}}};
    off += e.n_bytes;
  }
  std::string s = h.dump();
  // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does).
  while ((8 + s.size()) % 8 != 0) s.push_back(' ');
  std::string out(8, '\0');
  uint64_t n = s.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + s;
}

std::string SafetensorsWriter::to_bytes() const {
  std::string out = header();
  for (const auto& e : entries_) out.append(static_cast<const char*>(e.data), e.n_bytes);
  return out;
}

Status SafetensorsWriter::write(const std::string& path, Env& env) const {
  auto file = FRAGUA_TRY(AtomicFile::create(path, env));
  FRAGUA_TRY(file.append(header()));
  for (const auto& e : entries_) {
    // Append in slices so a multi-GB tensor never needs a second copy in memory.
    const char* p = static_cast<const char*>(e.data);
    for (uint64_t done = 0; done < e.n_bytes;) {
      uint64_t n = std::min<uint64_t>(e.n_bytes - done, 64ull << 20);
      FRAGUA_TRY(file.append(std::string_view(p + done, n)));
      done += n;
    }
  }
  return file.commit();
}

}  // namespace fragua::format
