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

TEST(CudaKernelsElementwise, FillAxpyScaleShift) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (int64_t n : {1, 1000, 100003}) {
    const auto x = random_vector(n, 1), y0 = random_vector(n, 2);
    DeviceBuffer<float> dx(x), dy(y0), dz(n);
    kernels::cuda::fill(dz.get(), 2.5f, n);
    EXPECT_EQ(dz.download(), std::vector<float>(n, 2.5f));

    std::vector<float> y = y0;
    kernels::cuda::axpy(dy.get(), dx.get(), -0.75f, n);
    kernels::cpu::axpy(y.data(), x.data(), -0.75f, n);
    EXPECT_TRUE(all_close(dy.download(), y, 1e-6));

    std::vector<float> z(n);
    kernels::cuda::scale_shift(dz.get(), dx.get(), 1.5f, -0.25f, n);
    kernels::cpu::scale_shift(z.data(), x.data(), 1.5f, -0.25f, n);
    EXPECT_TRUE(all_close(dz.download(), z, 1e-6));
    kernels::cuda::scale_shift(dz.get(), dz.get(), 2.0f, 1.0f, n);  // in place
    kernels::cpu::scale_shift(z.data(), z.data(), 2.0f, 1.0f, n);
    EXPECT_TRUE(all_close(dz.download(), z, 1e-6));
  }
}

TEST(CudaKernelsElementwise, BinaryBroadcastPatterns) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  struct Case {
    std::vector<int64_t> sizes;
    std::vector<bool> a_broadcast, b_broadcast;
  };
  const Case cases[] = {
      {{1000}, {false}, {false}},                                 // same shape
      {{1001}, {false}, {true}},                                  // tensor op scalar
      {{7}, {true}, {false}},                                     // scalar op tensor
      {{64, 10}, {false, false}, {true, false}},                  // Linear bias
      {{4, 6, 5, 7}, {false, false, false, false}, {true, false, true, true}},  // conv bias
      {{3, 1, 5}, {false, false, false}, {false, false, true}},  // size-1 dimension
      {{5, 4, 3}, {true, false, true}, {false, true, false}},    // both broadcast (outer)
      {{2, 3, 4, 5, 6}, {false, true, false, true, false}, {true, false, true, false, true}},
      {{}, {}, {}},                                               // 0-d: one element
  };
  uint32_t seed = 10;
  for (const Case& c : cases) {
    const BroadcastShape s =
        make_shape(c.sizes, strides_for(c.sizes, c.a_broadcast), strides_for(c.sizes, c.b_broadcast));
    const auto a = random_vector(extent(s, s.a_strides), seed++);
    const auto b = random_vector(extent(s, s.b_strides), seed++, 0.5f, 2.0f);
    DeviceBuffer<float> da(a), db(b), dy(s.numel());
    for (BinaryOp op : {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div}) {
      std::vector<float> y(s.numel());
      kernels::cuda::binary_forward(op, da.get(), db.get(), dy.get(), s);
      kernels::cpu::binary_forward(op, a.data(), b.data(), y.data(), s);
      // One IEEE operation per element on both devices: identical results.
      EXPECT_TRUE(all_close(dy.download(), y, 0.0)) << "op " << static_cast<int>(op) << " ndim "
                                                    << s.ndim;
    }
  }
}

TEST(CudaKernelsElementwise, BinaryOnStridedView) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  // a is the transpose of a [6, 9] matrix: strides (1, 6).
  const BroadcastShape s = make_shape({9, 6}, {1, 9}, {6, 1});
  const auto a = random_vector(54, 1), b = random_vector(54, 2);
  DeviceBuffer<float> da(a), db(b), dy(54);
  std::vector<float> y(54);
  kernels::cuda::binary_forward(BinaryOp::Mul, da.get(), db.get(), dy.get(), s);
  kernels::cpu::binary_forward(BinaryOp::Mul, a.data(), b.data(), y.data(), s);
  EXPECT_TRUE(all_close(dy.download(), y, 0.0));
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

TEST(CudaKernelsElementwise, Equality) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const int64_t n = 5003;
  const auto a = testing::random_indices(n, 1, 4), b = testing::random_indices(n, 2, 4);
  auto fa = random_vector(n, 3);
  auto fb = fa;
  for (int64_t i = 0; i < n; i += 3) fb[i] += 1.0f;
  DeviceBuffer<int64_t> da(a), db(b);
  DeviceBuffer<float> dfa(fa), dfb(fb), dy(n);
  std::vector<float> y(n);
  kernels::cuda::eq_int64(da.get(), db.get(), dy.get(), n);
  kernels::cpu::eq_int64(a.data(), b.data(), y.data(), n);
  EXPECT_EQ(dy.download(), y);
  kernels::cuda::eq_float(dfa.get(), dfb.get(), dy.get(), n);
  kernels::cpu::eq_float(fa.data(), fb.data(), y.data(), n);
  EXPECT_EQ(dy.download(), y);
}

}  // namespace
}  // namespace dlcore
