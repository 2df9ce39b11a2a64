// Tests of the CUDA reductions against the CPU backend: whole-tensor sums on both sides of the
// one-block limit (float and int64), row argmax with ties and NaN on the warp and block paths, and
// sum_to for bias-like and general broadcast gradients.
#include <limits>

#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_vector;

TEST(CudaKernelsReduce, SumAll) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 1;
  for (int64_t n : {1, 1000, 65536, 65537, 1000003}) {
    const auto x = random_vector(n, seed++);
    DeviceBuffer<float> dx(x), dy(1);
    float y = 0.0f;
    kernels::cuda::sum_all(dx.get(), dy.get(), n);
    kernels::cpu::sum_all(x.data(), &y, n);
    // A float tree against double-combined blocks; the sums are O(sqrt(n)): 1e-5 with floor 1.
    EXPECT_TRUE(all_close(dy.download(), std::vector<float>{y}, 1e-5)) << "n=" << n;
  }
  DeviceBuffer<float> empty(0), dy(std::vector<float>{5.0f});
  kernels::cuda::sum_all(empty.get(), dy.get(), 0);
  EXPECT_EQ(dy.download(), std::vector<float>{0.0f});
}

TEST(CudaKernelsReduce, IncrementInt64) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  DeviceBuffer<int64_t> counter(std::vector<int64_t>{int64_t{1} << 40});
  for (int i = 0; i < 3; ++i) kernels::cuda::increment_int64(counter.get(), 2);
  EXPECT_EQ(counter.download(), std::vector<int64_t>{(int64_t{1} << 40) + 6});
}

TEST(CudaKernelsReduce, SumAllInt64) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (int64_t n : {1, 5000, 300001}) {
    auto x = testing::random_indices(n, 7, 1000);
    x[0] = int64_t{1} << 40;  // beyond 32 bits
    DeviceBuffer<int64_t> dx(x), dy(1);
    int64_t y = 0;
    kernels::cuda::sum_all_int64(dx.get(), dy.get(), n);
    kernels::cpu::sum_all_int64(x.data(), &y, n);
    EXPECT_EQ(dy.download(), std::vector<int64_t>{y}) << "n=" << n;
  }
}

TEST(CudaKernelsReduce, ArgmaxRowsTiesAndNan) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 10;
  for (int64_t C : {1, 10, 37, 3000}) {
    const int64_t N = 50;
    auto x = random_vector(N * C, seed++);
    // Row 1: two equal maxima (the first must win); row 2: a NaN; row 3: all equal.
    if (C > 5) {
      x[1 * C + 2] = 5.0f;
      x[1 * C + C - 1] = 5.0f;
      x[2 * C + 4] = std::numeric_limits<float>::quiet_NaN();
      x[2 * C + C - 2] = std::numeric_limits<float>::quiet_NaN();
      for (int64_t c = 0; c < C; ++c) x[3 * C + c] = -1.0f;
    }
    DeviceBuffer<float> dx(x);
    DeviceBuffer<int64_t> dy(N);
    std::vector<int64_t> y(N);
    kernels::cuda::argmax_rows(dx.get(), dy.get(), N, C);
    kernels::cpu::argmax_rows(x.data(), y.data(), N, C);
    EXPECT_EQ(dy.download(), y) << "C=" << C;
  }
}

// Contiguous strides of `sizes` with 0 where `reduced` marks a dimension.
std::vector<int64_t> strides_for(const std::vector<int64_t>& sizes, const std::vector<bool>& reduced) {
  std::vector<int64_t> strides(sizes.size());
  int64_t stride = 1;
  for (int d = static_cast<int>(sizes.size()) - 1; d >= 0; --d) {
    strides[d] = reduced[d] ? 0 : stride;
    if (!reduced[d]) stride *= sizes[d];
  }
  return strides;
}

TEST(CudaKernelsReduce, SumToBroadcastGradients) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  // y's strides go in a_strides (0 on reduced dimensions); x is contiguous with s.sizes.
  const std::vector<std::pair<std::vector<int64_t>, std::vector<bool>>> cases = {
      {{64, 120}, {true, false}},                 // Linear bias: thread per output
      {{64, 6, 28, 28}, {true, false, true, true}},  // conv bias: block per output
      {{3, 7, 11}, {false, true, false}},         // middle dimension
      {{5, 9}, {true, true}},                     // to a scalar
      {{100000}, {true}},                         // long reduction
      {{6, 8}, {false, false}},                   // nothing reduced
      {{100, 3}, {false, true}},                  // innermost reduced, warp per output
      {{20000, 2}, {true, false}},                // long column sums, few outputs
      {{2, 1, 3}, {false, true, true}},           // size-1 dimension
  };
  uint32_t seed = 40;
  for (const auto& [sizes, reduced] : cases) {
    BroadcastShape s;
    s.ndim = static_cast<int>(sizes.size());
    const auto y_strides = strides_for(sizes, reduced);
    int64_t y_size = 1;
    for (int d = 0; d < s.ndim; ++d) {
      s.sizes[d] = sizes[d];
      s.a_strides[d] = y_strides[d];
      if (!reduced[d]) y_size *= sizes[d];
    }
    const auto x = random_vector(s.numel(), seed++);
    DeviceBuffer<float> dx(x), dy(std::vector<float>(y_size, 123.0f));  // overwritten
    std::vector<float> y(y_size, 123.0f);
    kernels::cuda::sum_to(DType::Float32, dx.get(), dy.get(), s);
    kernels::cpu::sum_to(DType::Float32, x.data(), y.data(), s);
    EXPECT_TRUE(all_close(dy.download(), y, 1e-5)) << "x numel " << s.numel();
  }
}

}  // namespace
}  // namespace dlcore
