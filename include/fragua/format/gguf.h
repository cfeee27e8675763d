// SPDX-License-Identifier: Apache-2.0
// GGUF v3 (llama.cpp's self-describing model format: header, typed key/value metadata, tensor
// table, aligned tensor data). Reader: memory-maps the file and checks every count, length,
// offset and size against the file length before use, so a truncated, oversized or lying file
// is an Error naming the byte offset, never an out-of-bounds read. Writer: builds a file from
// metadata and tensors and writes it atomically.
//
// Layout (all little-endian): "GGUF" u32 version u64 n_tensors u64 n_kv, then n_kv of
// {string key, u32 type, value}, then n_tensors of {string name, u32 n_dims, u64 ne[n_dims],
// u32 ggml_type, u64 offset}, padding to `general.alignment` (default 32), tensor data.
// A string is u64 length + bytes (no terminator). An array is u32 element type, u64 count,
// elements.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/tensor/dtype.h"

namespace fragua::format {

enum class GgufType : uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};
std::string_view gguf_type_name(GgufType t);

// A metadata value. Scalars keep their declared type; integers are readable as any integer
// type that holds them, floats as double. Arrays keep their element type and hold the elements
// in the matching vector (ints, floats, strings or, for nested arrays, values).
struct GgufValue {
  GgufType type = GgufType::u32;
  GgufType elem_type = GgufType::u32;  // arrays only
  uint64_t u = 0;                      // u8..u64, bool
  int64_t i = 0;                       // i8..i64
  double f = 0;                        // f32, f64
  std::string s;                       // string
  std::vector<int64_t> ints;           // arrays of integers/bools (u64 beyond INT64_MAX is rejected)
  std::vector<double> floats;          // arrays of f32/f64
  std::vector<std::string> strings;    // arrays of strings
  std::vector<GgufValue> values;       // arrays of arrays

  static GgufValue of_u32(uint32_t v);
  static GgufValue of_i32(int32_t v);
  static GgufValue of_u64(uint64_t v);
  static GgufValue of_f32(float v);
  static GgufValue of_bool(bool v);
  static GgufValue of_string(std::string v);
  static GgufValue of_strings(std::vector<std::string> v);
  static GgufValue of_f32s(std::vector<float> v);
  static GgufValue of_i32s(std::vector<int32_t> v);

  bool is_integer() const;
  bool is_float() const { return type == GgufType::f32 || type == GgufType::f64; }
  uint64_t array_size() const;
  // Human-readable, arrays abbreviated: "[32000 strings: "<unk>", "<s>", ...]".
  std::string to_string(size_t max_items = 8) const;
};

struct GgufKV {
  std::string key;
  GgufValue value;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // GGML order: ne[0] is the contiguous (row) dimension
  DType dtype = DType::f32;
  uint64_t offset = 0;  // relative to the data section
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr;  // into the mapped file (reader) or caller memory (writer)

  int64_t n_elements() const;
};

// llama.cpp's gguf-split layout: a model in N files PREFIX-00001-of-0000N.gguf ..
// PREFIX-0000N-of-0000N.gguf (llama_split_path's "%s-%05d-of-%05d.gguf"), each a GGUF of its own
// with the keys split.no (0-based), split.count and, in the first, split.tensors.count (the total);
// the metadata is in the first file and the tensors are spread over all of them.
std::string gguf_split_path(std::string_view prefix, int no, int count);  // no: 1-based
struct GgufSplitName {
  std::string prefix;  // "dir/model-q4_k_m"
  int no = 0;          // 1-based
  int count = 0;
};
// A path or hub file name of that form (five digits each, no <= count); nullopt otherwise.
std::optional<GgufSplitName> parse_gguf_split_name(std::string_view path);

class GgufFile {
 public:
  // Maps and validates `path`. Errors name the path and byte offset. The first part of a split
  // model (split.count > 1) opens every part: tensors() holds all of them, each with its data in
  // its own file; a part that is missing, of another split.count or split.no, repeating a tensor,
  // or a total that disagrees with split.tensors.count is an error naming the part, and so is
  // opening any part but the first.
  static Result<GgufFile> open(const std::string& path);
  // Parses bytes owned by the caller (fuzzing, tests); they must outlive the GgufFile.
  static Result<GgufFile> parse(std::string_view bytes, std::string name = "<memory>");

  GgufFile(GgufFile&&) noexcept;
  GgufFile& operator=(GgufFile&&) noexcept;
  ~GgufFile();

  const std::string& path() const;
  uint32_t version() const;
  uint64_t alignment() const;
  uint64_t data_offset() const;  // absolute offset of the data section (of the first part)
  uint64_t file_size() const;    // of the first part
  // The files this model was read from: the path alone, or every part of a split model in order.
  std::vector<std::string> part_paths() const;

  const std::vector<GgufKV>& metadata() const;
  const GgufValue* find(std::string_view key) const;
  const std::vector<GgufTensorInfo>& tensors() const;
  const GgufTensorInfo* find_tensor(std::string_view name) const;

  // Typed getters: not_found when absent, corruption when of another type or out of range.
  Result<std::string> get_string(std::string_view key) const;
  Result<uint64_t> get_uint(std::string_view key) const;
  Result<int64_t> get_int(std::string_view key) const;
  Result<double> get_float(std::string_view key) const;
  Result<bool> get_bool(std::string_view key) const;
  Result<const std::vector<std::string>*> get_strings(std::string_view key) const;
  Result<const std::vector<double>*> get_floats(std::string_view key) const;
  Result<const std::vector<int64_t>*> get_ints(std::string_view key) const;
  // Defaults when the key is absent (still an error when present with a wrong type).
  Result<uint64_t> get_uint_or(std::string_view key, uint64_t def) const;
  Result<double> get_float_or(std::string_view key, double def) const;
  Result<std::string> get_string_or(std::string_view key, std::string def) const;

  void prefetch() const;  // madvise(WILLNEED) over the tensor data
  // Gives back the pages of [p, p + n) inside the mapping (MappedFile::release).
  void release(const void* p, uint64_t n) const;

  struct Impl;  // opaque

 private:
  GgufFile();
  static Result<GgufFile> open_single(const std::string& path);
  Status open_split_parts();         // gguf_split.cpp
  Status adopt_part(GgufFile part);  // the part's tensors join this file's table
  std::unique_ptr<Impl> impl_;
};

class GgufWriter {
 public:
  GgufWriter();
  ~GgufWriter();
  GgufWriter(GgufWriter&&) noexcept;
  GgufWriter& operator=(GgufWriter&&) noexcept;
  void set_alignment(uint32_t alignment);      // default 32; written as general.alignment if not 32
  void set(std::string key, GgufValue value);  // replaces an existing key
  // The data is copied when the file is written; `data` must hold row_size(dtype, ne[0]) *
  // (ne[1] * ne[2] * ...) bytes and stay valid until write() returns.
  Status add_tensor(std::string name, std::vector<int64_t> ne, DType dtype, const void* data, uint64_t n_bytes);
  // Streaming, for models larger than memory: a tensor declared without its data (checked as
  // add_tensor checks it) has its size, hence every offset in the header, known up front;
  // write_streaming() writes the header, then asks `source` for each declared tensor's bytes in
  // file order, so only one tensor needs to be in memory at a time. A source that fails, or
  // gives another number of bytes than declared, aborts the write and leaves no file.
  Status declare_tensor(std::string name, std::vector<int64_t> ne, DType dtype);
  using TensorSource = std::function<Status(size_t index, const GgufTensorInfo& info, std::string& bytes)>;
  Status write_streaming(const std::string& path, const TensorSource& source, Env& env = Env::posix()) const;
  // Writes through AtomicFile: the target is replaced only when everything is written. A
  // declared tensor without data is an error here (use write_streaming).
  Status write(const std::string& path, Env& env = Env::posix()) const;
  // Whole file as bytes (tests, fuzz seeds); declared tensors without data read as zeros.
  std::string to_bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fragua::format
