// SPDX-License-Identifier: Apache-2.0
// Tensor: shape, byte strides and dtype over storage that is either owned (shared, so views
// keep it alive) or borrowed (a memory-mapped model file). Shapes use GGML order: ne[0] is the
// innermost, contiguous dimension (a weight matrix of m rows of k inputs has ne = {k, m}).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/tensor/dtype.h"

namespace fragua {

// How a tensor's bytes sit in memory. Layout::rows (0) is the file's layout: ne(0) elements per
// row, row i at row(i). Any other value is opaque here: it was given by the backend that
// prepared the tensor for its kernels (backend::Backend::prepare_weight) and means something only
// to that backend, which alone reads it (the model records which backend that was). row() and
// to_f32() apply to Layout::rows alone; to_f32() refuses the others.
enum class Layout : uint8_t { rows = 0 };

class Tensor {
 public:
  static constexpr int kMaxDims = 4;

  Tensor() = default;
  // Zero-filled, owned, contiguous.
  static Result<Tensor> zeros(DType dtype, std::span<const int64_t> ne);
  static Tensor zeros_f32(std::initializer_list<int64_t> ne);
  // Borrowed contiguous view over `data` (which must outlive the tensor).
  static Result<Tensor> view(DType dtype, std::span<const int64_t> ne, const void* data, uint64_t n_bytes);
  // An owned tensor of n_bytes in `storage`, laid out as `layout`. A backend's own copy of a
  // weight comes this way: `storage` may carry the backend's deleter (memory it allocated).
  static Result<Tensor> owned(DType dtype, std::span<const int64_t> ne, std::shared_ptr<uint8_t[]> storage,
                              uint64_t n_bytes, Layout layout);

  DType dtype() const { return dtype_; }
  Layout layout() const { return layout_; }
  int n_dims() const { return n_dims_; }
  int64_t ne(int d) const { return d < n_dims_ ? ne_[static_cast<size_t>(d)] : 1; }
  uint64_t nb(int d) const { return nb_[static_cast<size_t>(d)]; }  // stride in bytes
  std::vector<int64_t> shape() const { return {ne_.begin(), ne_.begin() + n_dims_}; }
  int64_t n_elements() const;
  int64_t n_rows() const { return n_elements() / ne(0); }
  uint64_t row_bytes() const { return nb_[1]; }
  uint64_t n_bytes() const;
  bool is_contiguous() const;
  bool empty() const { return data_ == nullptr; }

  const void* data() const { return data_; }
  void* mutable_data() { return const_cast<void*>(data_); }
  // Row i of a Layout::rows tensor.
  const uint8_t* row(int64_t i) const { return static_cast<const uint8_t*>(data_) + static_cast<uint64_t>(i) * nb_[1]; }
  float* f32() { return static_cast<float*>(mutable_data()); }
  const float* f32() const { return static_cast<const float*>(data_); }

  // Dequantizes/converts any supported dtype to f32 (row by row).
  Result<Tensor> to_f32() const;
  // "q4_k [4096, 32000]"
  std::string describe() const;

 private:
  DType dtype_ = DType::f32;
  Layout layout_ = Layout::rows;
  int n_dims_ = 0;
  std::array<int64_t, kMaxDims> ne_{1, 1, 1, 1};
  std::array<uint64_t, kMaxDims> nb_{0, 0, 0, 0};
  const void* data_ = nullptr;
  std::shared_ptr<uint8_t[]> storage_;
};

}  // namespace fragua
