#pragma once
#include <string_view>
#include "fragua/tensor/dtype.h"
#include "fragua/base/thread_pool.h"
namespace fragua::cpu {
void matmul(const void* w, DType wtype, int64_t m, int64_t k, const float* x, int64_t n, float* y, ThreadPool& pool);
}
