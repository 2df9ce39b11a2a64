// Copies between views on the CPU, through the one coalesced pointwise iteration (contiguous(),
// copy_ into strided and broadcast views, more dimensions than kMaxDims), in every dtype, against a
// reference that walks the source view element by element.
#include <gtest/gtest.h>

#include "copy_test_cases.h"

namespace dlcore {
namespace {

// The elements of a view in row-major order, read through its strides one by one.
std::vector<unsigned char> walk(const Tensor& view) {
  const size_t elem = dtype_size(view.dtype());
  const auto* base = static_cast<const unsigned char*>(view.storage()->data);
  std::vector<unsigned char> out;
  std::vector<int64_t> index(view.dim(), 0);
  for (int64_t i = 0; i < view.numel(); ++i) {
    int64_t offset = view.storage_offset();
    for (int64_t d = 0; d < view.dim(); ++d) offset += index[d] * view.strides()[d];
    out.insert(out.end(), base + offset * elem, base + (offset + 1) * elem);
    for (int64_t d = view.dim() - 1; d >= 0 && ++index[d] == view.shape()[d]; --d) index[d] = 0;
  }
  return out;
}

TEST(Copies, ContiguousOfViewsMatchesAnElementWalk) {
  for (DType dtype : testing::kAllDTypes) {
    const Tensor x = testing::numbered({5, 7, 3}, dtype, Device::cpu());
    for (const Tensor& view : {ops::transpose(x, 0, 1), ops::slice(x, 1, 1, 7, 3), ops::expand(ops::slice(x, 0, 0, 1), {4, 7, 3}),
                               ops::permute(x, {2, 0, 1})}) {
      const Tensor dense = view.contiguous();
      EXPECT_TRUE(dense.is_contiguous());
      EXPECT_EQ(testing::bytes_of(dense), walk(view)) << dtype_name(dtype);
    }
  }
}

TEST(Copies, EveryCaseAgreesAcrossDtypes) {
  // The cases hold small integers, exact in every dtype but bool: each dtype's result converted to
  // float64 equals the float64 run (bool is checked by the element walk above).
  for (const testing::CopyCase& c : testing::copy_cases()) {
    const Tensor reference = testing::run_copy_case(c, DType::Float64, Device::cpu());
    for (DType dtype : testing::kAllDTypes) {
      if (dtype == DType::Bool) continue;
      const Tensor result = testing::run_copy_case(c, dtype, Device::cpu());
      EXPECT_EQ(testing::bytes_of(ops::to_dtype(result, DType::Float64)), testing::bytes_of(reference))
          << c.name << " " << dtype_name(dtype);
    }
  }
}

TEST(Copies, IntoViewsWriteOnlyTheirElements) {
  Tensor dst = Tensor::zeros({3, 8}, DType::Int64);
  ops::slice(dst, 1, 1, 8, 2).copy_(testing::numbered({3, 4}, DType::Int64, Device::cpu()));
  const int64_t* v = dst.data<int64_t>();
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t c = 0; c < 8; ++c) EXPECT_EQ(v[r * 8 + c], c % 2 == 1 ? r * 4 + c / 2 + 1 : 0) << r << "," << c;
}

}  // namespace
}  // namespace dlcore
