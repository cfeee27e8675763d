// SPDX-License-Identifier: Apache-2.0
#include "fragua/tensor/tensor.h"

#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace fragua {

namespace {
Status check_shape(DType dtype, std::span<const int64_t> ne) {
  const DTypeTraits* tr = dtype_traits(dtype);
  if (!tr) return unsupported_error("dtype {} is not supported", dtype_name(dtype));
  if (ne.empty() || ne.size() > Tensor::kMaxDims)
    return invalid_argument_error("a tensor has 1 to {} dimensions, got {}", Tensor::kMaxDims, ne.size());
  for (size_t d = 0; d < ne.size(); ++d)
    if (ne[d] <= 0) return invalid_argument_error("dimension {} is {}", d, ne[d]);
  if (ne[0] % tr->block_size != 0)
    return invalid_argument_error("row length {} is not a multiple of the {} block size {}", ne[0], tr->name,
                                  tr->block_size);
  // Every stride, size and element count below is then a product that fits 64 bits.
  int64_t n_el = 1;
  for (int64_t d : ne)
    if (__builtin_mul_overflow(n_el, d, &n_el))
      return invalid_argument_error("a {} tensor of this shape has more than 2^63 elements", tr->name);
  if (!tensor_bytes(dtype, ne))
    return invalid_argument_error("a {} tensor of this shape has more than 2^64 bytes", tr->name);
  return {};
}
}  // namespace

int64_t Tensor::n_elements() const {
  int64_t n = 1;
  for (int d = 0; d < n_dims_; ++d) n *= ne_[static_cast<size_t>(d)];
  return n_dims_ ? n : 0;
}

uint64_t Tensor::n_bytes() const {
  if (n_dims_ == 0) return 0;
  return nb_[1] * static_cast<uint64_t>(n_rows());
}

bool Tensor::is_contiguous() const {
  uint64_t expect = nb_[1];
  for (int d = 1; d < kMaxDims; ++d) {
    if (nb_[static_cast<size_t>(d)] != expect) return false;
    expect *= static_cast<uint64_t>(ne_[static_cast<size_t>(d)]);
  }
  return true;
}

Result<Tensor> Tensor::view(DType dtype, std::span<const int64_t> ne, const void* data, uint64_t n_bytes) {
  FRAGUA_TRY(check_shape(dtype, ne));
  Tensor t;
  t.dtype_ = dtype;
  t.n_dims_ = static_cast<int>(ne.size());
  for (size_t d = 0; d < ne.size(); ++d) t.ne_[d] = ne[d];
  const DTypeTraits* tr = dtype_traits(dtype);
  t.nb_[0] = tr->type_size;
  t.nb_[1] = row_size(dtype, t.ne_[0]);
  for (size_t d = 2; d < kMaxDims; ++d) t.nb_[d] = t.nb_[d - 1] * static_cast<uint64_t>(t.ne_[d - 1]);
  if (t.n_bytes() != n_bytes)
    return invalid_argument_error("{} needs {} bytes, {} given", t.describe(), t.n_bytes(), n_bytes);
  t.data_ = data;
  return t;
}

Result<Tensor> Tensor::zeros(DType dtype, std::span<const int64_t> ne) {
  FRAGUA_TRY(check_shape(dtype, ne));
  const uint64_t bytes = *tensor_bytes(dtype, ne);
  std::shared_ptr<uint8_t[]> storage(new (std::nothrow) uint8_t[bytes]());
  if (!storage) return resource_exhausted_error("cannot allocate {} bytes for a tensor", bytes);
  auto t = FRAGUA_TRY(view(dtype, ne, storage.get(), bytes));
  t.storage_ = std::move(storage);
  return t;
}

Result<Tensor> Tensor::owned(DType dtype, std::span<const int64_t> ne, std::shared_ptr<uint8_t[]> storage,
                             uint64_t n_bytes, Layout layout) {
  auto t = FRAGUA_TRY(view(dtype, ne, storage.get(), n_bytes));
  t.storage_ = std::move(storage);
  t.layout_ = layout;
  return t;
}

Tensor Tensor::zeros_f32(std::initializer_list<int64_t> ne) {
  std::vector<int64_t> v(ne);
  auto r = zeros(DType::f32, v);
  return r.ok() ? std::move(r).value() : Tensor();
}

Result<Tensor> Tensor::to_f32() const {
  const DTypeTraits* tr = dtype_traits(dtype_);
  if (!tr || !tr->to_float) return unsupported_error("cannot convert {} to f32", dtype_name(dtype_));
  if (layout_ != Layout::rows)
    return unsupported_error("cannot convert {} to f32: it is in a backend's own layout ({}), not the file's rows",
                             describe(), static_cast<int>(layout_));
  auto out = FRAGUA_TRY(zeros(DType::f32, shape()));
  for (int64_t r = 0; r < n_rows(); ++r) tr->to_float(row(r), out.f32() + r * ne(0), ne(0));
  return out;
}

std::string Tensor::describe() const { return fmt::format("{} [{}]", dtype_name(dtype_), fmt::join(shape(), ", ")); }

}  // namespace fragua
