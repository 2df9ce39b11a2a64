// Tests of the CUDA elementwise and layout kernels against the CPU backend: fills, axpy,
// scale_shift (in place too), broadcast arithmetic in every broadcast pattern, strided copies
// between strided and broadcast views of several element sizes, and the equality kernels.
// Results must match exactly or to rounding.
#include <cstring>

#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::strides_for;
using testing::make_shape;
using testing::DeviceBuffer;
using testing::random_vector;



int64_t extent(const BroadcastShape& s, const int64_t* strides) {
  int64_t last = 0;
  for (int d = 0; d < s.ndim; ++d) last += (s.sizes[d] - 1) * strides[d];
  return last + 1;
}

TEST(CudaKernelsElementwise, FillScaleShift) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (int64_t n : {1, 1000, 100003}) {
    const auto x = random_vector(n, 1);
    DeviceBuffer<float> dx(x), dz(n);
    kernels::cuda::fill(dz.get(), 2.5f, n);
    EXPECT_EQ(dz.download(), std::vector<float>(n, 2.5f));

    std::vector<float> z(n);
    kernels::cuda::scale_shift(dz.get(), dx.get(), 1.5f, -0.25f, n);
    kernels::cpu::scale_shift(z.data(), x.data(), 1.5f, -0.25f, n);
    EXPECT_TRUE(all_close(dz.download(), z, 1e-6));
    kernels::cuda::scale_shift(dz.get(), dz.get(), 2.0f, 1.0f, n);  // in place
    kernels::cpu::scale_shift(z.data(), z.data(), 2.0f, 1.0f, n);
    EXPECT_TRUE(all_close(dz.download(), z, 1e-6));
  }
}

TEST(CudaKernelsElementwise, StridedCopy) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  // Into contiguous destinations.
  const BroadcastShape transpose = make_shape({5, 7, 3}, {3, 15, 1}, {21, 3, 1});  // permuted [7,5,3]
  const BroadcastShape expand = make_shape({4, 6}, {0, 1}, {6, 1});                // broadcast row
  const BroadcastShape slice = make_shape({3, 4}, {20, 2}, {4, 1});                // every other
  const BroadcastShape contiguous = make_shape({2, 3, 4}, {12, 4, 1}, {12, 4, 1});
  // Into strided destinations: a transposed view, every other column, a broadcast scalar into a
  // slice (x[1:3] = value).
  const BroadcastShape into_transpose = make_shape({7, 5, 3}, {15, 3, 1}, {3, 21, 1});
  const BroadcastShape into_stepped = make_shape({3, 4}, {4, 1}, {16, 2});
  const BroadcastShape scalar_into_slice = make_shape({2, 6}, {0, 0}, {6, 1});
  uint32_t seed = 1;
  for (const BroadcastShape& s : {transpose, expand, slice, contiguous, into_transpose, into_stepped, scalar_into_slice}) {
    check_strided_copy<uint8_t>(s, seed++);
    check_strided_copy<int16_t>(s, seed++);
    check_strided_copy<float>(s, seed++);
    check_strided_copy<int64_t>(s, seed++);
    check_strided_copy<ThreeBytes>(s, seed++);
  }
}

}  // namespace
}  // namespace dlcore
