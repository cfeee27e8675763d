// SPDX-License-Identifier: Apache-2.0
// Tensor layouts: the file's rows convert to f32; a backend's own layout (any other value, opaque
// to the tensor) is refused rather than read as rows.
#include "fragua/tensor/tensor.h"

#include <cstring>
#include <memory>
#include <vector>

#include "test_util.h"

namespace fragua {
namespace {

TEST(TensorLayout, OwnedRowsConvertAndBackendLayoutsAreRefused) {
  const int64_t ne[] = {4, 2};
  const float values[] = {1, 2, 3, 4, -1, -2, -3, -4};
  auto storage = [&] {
    std::shared_ptr<uint8_t[]> s(new uint8_t[sizeof(values)]);
    std::memcpy(s.get(), values, sizeof(values));
    return s;
  };
  auto rows = Tensor::owned(DType::f32, ne, storage(), sizeof(values), Layout::rows);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->layout(), Layout::rows);
  auto f = rows->to_f32();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(std::vector<float>(f->f32(), f->f32() + 8), std::vector<float>(values, values + 8));

  auto own = Tensor::owned(DType::f32, ne, storage(), sizeof(values), Layout{7});
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->layout(), Layout{7});
  EXPECT_EQ(own->shape(), (std::vector<int64_t>{4, 2}));
  auto g = own->to_f32();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code(), ErrorCode::unsupported);
  EXPECT_NE(g.error().message().find("f32 [4, 2]"), std::string::npos) << g.error().message();

  // A view is always the file's rows.
  auto view = Tensor::view(DType::f32, ne, values, sizeof(values));
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->layout(), Layout::rows);
  // The storage size must match the shape, whatever the layout.
  EXPECT_FALSE(Tensor::owned(DType::f32, ne, storage(), sizeof(values) - 4, Layout{7}).ok());
}

}  // namespace
}  // namespace fragua
