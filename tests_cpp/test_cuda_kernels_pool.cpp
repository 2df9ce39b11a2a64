// Tests of the CUDA max and average pooling against the CPU backend: LeNet's 2x2/2, overlapping
// 3x3/2 windows with padding, odd sizes and batch 1. Max pooling must pick the same argmax.
#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_vector;

Pool2dShape make_pool(int64_t N, int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw,
                      int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
  Pool2dShape s{N, C, H, W, kh, kw, sh, sw, ph, pw, 0, 0};
  s.P = (H + 2 * ph - kh) / sh + 1;
  s.Q = (W + 2 * pw - kw) / sw + 1;
  return s;
}

const Pool2dShape kShapes[] = {
    make_pool(64, 6, 28, 28, 2, 2, 2, 2, 0, 0),  // LeNet
    make_pool(2, 3, 9, 11, 3, 3, 2, 2, 1, 1),    // overlapping, padded
    make_pool(1, 2, 7, 5, 3, 2, 1, 1, 1, 0),     // stride 1, batch 1
    make_pool(3, 4, 13, 13, 3, 3, 3, 3, 0, 0),   // odd size, last row unused
    make_pool(1, 1, 4, 4, 4, 4, 1, 1, 0, 0),     // global
};

TEST(CudaKernelsPool, MaxPool) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 1;
  for (const Pool2dShape& s : kShapes) {
    const auto x = random_vector(s.N * s.C * s.H * s.W, seed++);
    const auto gy = random_vector(s.N * s.C * s.P * s.Q, seed++);
    DeviceBuffer<float> dx(x), dy(gy.size()), dgy(gy), dgx(x.size());
    DeviceBuffer<int32_t> dargmax(gy.size());
    std::vector<float> y(gy.size()), gx(x.size());
    std::vector<int32_t> argmax(gy.size());
    kernels::cuda::max_pool2d_forward(dx.get(), dy.get(), dargmax.get(), s);
    kernels::cpu::max_pool2d_forward(x.data(), y.data(), argmax.data(), s);
    EXPECT_EQ(dy.download(), y);
    EXPECT_EQ(dargmax.download(), argmax);
    kernels::cuda::max_pool2d_backward(dgy.get(), dargmax.get(), dgx.get(), s);
    kernels::cpu::max_pool2d_backward(gy.data(), argmax.data(), gx.data(), s);
    // Overlapping windows add several gradients, possibly in another order.
    EXPECT_TRUE(all_close(dgx.download(), gx, 1e-6));
  }
}

TEST(CudaKernelsPool, AvgPool) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 100;
  for (const Pool2dShape& s : kShapes) {
    const auto x = random_vector(s.N * s.C * s.H * s.W, seed++);
    const auto gy = random_vector(s.N * s.C * s.P * s.Q, seed++);
    DeviceBuffer<float> dx(x), dy(gy.size()), dgy(gy), dgx(x.size());
    std::vector<float> y(gy.size()), gx(x.size());
    kernels::cuda::avg_pool2d_forward(dx.get(), dy.get(), s);
    kernels::cpu::avg_pool2d_forward(x.data(), y.data(), s);
    EXPECT_TRUE(all_close(dy.download(), y, 1e-6));
    kernels::cuda::avg_pool2d_backward(dgy.get(), dgx.get(), s);
    kernels::cpu::avg_pool2d_backward(gy.data(), gx.data(), s);
    EXPECT_TRUE(all_close(dgx.download(), gx, 1e-6));
  }
}

}  // namespace
}  // namespace dlcore
