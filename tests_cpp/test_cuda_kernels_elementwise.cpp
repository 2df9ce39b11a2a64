// Tests of the CUDA layout kernels against the CPU backend: fills, scale_shift (in place too) and
// strided copies between strided and broadcast views of several element sizes (the pointwise ops
// have their own test: test_cuda_kernels_pointwise.cpp).
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

// The CUDA copy must match the CPU one on every element of the destination buffer, including
// those the destination's strides skip (they keep their initial values).
template <class T>
void check_strided_copy(const BroadcastShape& s, uint32_t seed) {
  const int64_t source_size = extent(s, s.a_strides), destination_size = extent(s, s.b_strides);
  std::vector<T> x(source_size), y(destination_size);
  const auto noise = random_vector(source_size + destination_size, seed, 0.0f, 100.0f);
  for (int64_t i = 0; i < source_size; ++i) x[i] = static_cast<T>(noise[i]);
  for (int64_t i = 0; i < destination_size; ++i) y[i] = static_cast<T>(noise[source_size + i]);
  DeviceBuffer<T> dx(x), dy(y);
  kernels::cuda::strided_copy(dx.get(), dy.get(), s, sizeof(T));
  kernels::cpu::strided_copy(x.data(), y.data(), s, sizeof(T));
  EXPECT_EQ(dy.download(), y) << "element size " << sizeof(T);
}

struct ThreeBytes {
  uint8_t v[3];
  ThreeBytes() = default;
  explicit ThreeBytes(float f) : v{static_cast<uint8_t>(f), static_cast<uint8_t>(f + 1), 7} {}
  bool operator==(const ThreeBytes& o) const { return std::memcmp(v, o.v, 3) == 0; }
};

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
