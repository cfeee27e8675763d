// SPDX-License-Identifier: Apache-2.0
// safetensors (Hugging Face's tensor container): u64 little-endian header length N, N bytes of
// JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
// "__metadata__": {"key": "string"}}, then the data section; offsets are relative to it.
// Reader: maps the file and checks the header JSON and every offset, shape and size against the
// file length before use, so a truncated or lying file is an Error naming the path and the
// tensor or byte offset at fault. Writer: 8-byte aligned header, tensors in insertion order,
// written atomically through AtomicFile.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/file.h"

namespace fragua::format {

// Element size in bytes of a safetensors dtype name ("F32", "BF16", "I64", ...), 0 if unknown.
size_t safetensors_dtype_size(std::string_view dtype);

struct SafetensorsTensor {
  std::string name;
  std::string dtype;           // "F32", "F16", "BF16", "F64", "I8".."I64", "U8".."U64", "BOOL"
  std::vector<int64_t> shape;  // row-major, outermost first (PyTorch order)
  uint64_t offset = 0;         // relative to the data section
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr;

  int64_t n_elements() const;
};

class SafetensorsFile {
 public:
  static Result<SafetensorsFile> open(const std::string& path);
  // Parses caller-owned bytes (tests, fuzzing); they must outlive the object.
  static Result<SafetensorsFile> parse(std::string_view bytes, std::string name = "<memory>");

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  const std::string& path() const;
  const std::vector<SafetensorsTensor>& tensors() const;
  const SafetensorsTensor* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const;
  // Gives back the mapped pages of a tensor already read (MappedFile::release), so that a
  // converter streaming a checkpoint larger than memory keeps only the tensor at hand resident.
  void release(const SafetensorsTensor& t) const;
  // Copies an F32 tensor of exactly `n` elements into dst; errors name the tensor.
  Status read_f32(std::string_view name, float* dst, int64_t n) const;

 private:
  SafetensorsFile();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class SafetensorsWriter {
 public:
  SafetensorsWriter();
  ~SafetensorsWriter();
  void set_metadata(std::string key, std::string value);
  // `data` must hold n_bytes = prod(shape) * dtype size and stay valid until write() returns.
  Status add_tensor(std::string name, std::string dtype, std::vector<int64_t> shape, const void* data,
                    uint64_t n_bytes);
  Status write(const std::string& path, Env& env = Env::posix()) const;
  std::string to_bytes() const;

 private:
  std::string header() const;
  struct Entry {
    std::string name, dtype;
    std::vector<int64_t> shape;
    const void* data;
    uint64_t n_bytes;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace fragua::format
