// Tests of the CUDA implicit-GEMM convolution against the CPU backend: forward, input gradient and
// weight gradient on LeNet's layers, stride 2, padding, dilation, groups (depthwise included),
// 1x1 kernels, batch 1 and sizes that are not multiples of the GEMM tiles.
#include <algorithm>
#include <cmath>

#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::make_conv;
using testing::DeviceBuffer;
using testing::random_vector;


// Runs all three kernels on both backends. Sums run over C*R*S (forward), K*R*S (input gradient)
// or N*P*Q (weight gradient, up to 50k terms for LeNet), accumulated in float in different
// orders: 1e-4 relative to an absolute floor of 1.
void check_conv(const Conv2dShape& s, uint32_t seed) {
  const int64_t x_size = s.N * s.C * s.H * s.W, w_size = s.K * (s.C / s.groups) * s.R * s.S;
  const int64_t y_size = s.N * s.K * s.P * s.Q;
  const auto x = random_vector(x_size, seed), w = random_vector(w_size, seed + 1);
  const auto gy = random_vector(y_size, seed + 2);
  DeviceBuffer<float> dx(x), dw(w), dgy(gy), dy(y_size), dgx(x_size), dgw(w_size);
  kernels::cuda::conv2d_forward(dx.get(), dw.get(), dy.get(), s);
  kernels::cuda::conv2d_backward_input(dgy.get(), dw.get(), dgx.get(), s);
  kernels::cuda::conv2d_backward_weight(dx.get(), dgy.get(), dgw.get(), s);

  // The reference is the CPU's direct lowering (~3e-7 relative): its Winograd path rounds to ~1e-5
  // of the output scale, which on C=64 layers alone exceeds this test's tolerance.
  const bool winograd_was_enabled = kernels::cpu::winograd_enabled();
  kernels::cpu::set_winograd_enabled(false);
  std::vector<float> y(y_size), gx(x_size), gw(w_size);
  kernels::cpu::conv2d_forward(x.data(), w.data(), y.data(), s);
  kernels::cpu::conv2d_backward_input(gy.data(), w.data(), gx.data(), s);
  kernels::cpu::conv2d_backward_weight(x.data(), gy.data(), gw.data(), s);
  kernels::cpu::set_winograd_enabled(winograd_was_enabled);

  const auto describe = [&] {
    return ::testing::Message() << "N=" << s.N << " C=" << s.C << " H=" << s.H << " W=" << s.W
                                << " K=" << s.K << " R=" << s.R << " S=" << s.S << " stride="
                                << s.stride_h << "," << s.stride_w << " pad=" << s.pad_h << ","
                                << s.pad_w << " dilation=" << s.dilation_h << ","
                                << s.dilation_w << " groups=" << s.groups;
  };
  EXPECT_TRUE(all_close(dy.download(), y, 1e-4)) << "forward " << describe();
  EXPECT_TRUE(all_close(dgx.download(), gx, 1e-4)) << "backward_input " << describe();
  // The weight gradient sums N*P*Q products (12288 for the CIFAR layer): partial sums grow like
  // sqrt(n)/3, so float rounding alone moves either side by ~eps*sqrt(n)*sqrt(n)/3, and how much
  // the two summation orders differ depends on the split-K the GPU's size picks.
  const double n = static_cast<double>(s.N * s.P * s.Q);
  EXPECT_TRUE(all_close(dgw.download(), gw, std::max(1e-4, 5e-6 * std::sqrt(n)))) << "backward_weight " << describe();
}

TEST(CudaKernelsConv, LeNetLayers) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  // A batch of 8 has every code path a batch of 64 has (batches only add columns to the GEMMs).
  check_conv(make_conv(8, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2), 1);  // conv1, padded
  check_conv(make_conv(8, 6, 14, 14, 16, 5, 5), 2);             // conv2
  check_conv(make_conv(1, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2), 3);   // batch 1
}

TEST(CudaKernelsConv, StrideAndPadding) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  check_conv(make_conv(2, 2, 9, 8, 3, 3, 3, 2, 2, 1, 1), 10);
  check_conv(make_conv(1, 3, 7, 7, 2, 4, 4, 2, 2, 2, 2), 11);  // pad > stride, even kernel
  check_conv(make_conv(3, 5, 17, 13, 7, 3, 3, 2, 1, 1, 0), 12);
  check_conv(make_conv(2, 2, 8, 9, 3, 2, 5, 1, 3, 0, 2), 13);
}

TEST(CudaKernelsConv, Dilation) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  check_conv(make_conv(1, 2, 9, 10, 3, 3, 2, 1, 2, 2, 1, 2, 3), 20);
  check_conv(make_conv(2, 3, 12, 12, 4, 3, 3, 2, 2, 2, 2, 2, 2), 21);
}

TEST(CudaKernelsConv, Groups) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  check_conv(make_conv(2, 4, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2), 30);
  check_conv(make_conv(1, 3, 5, 7, 3, 3, 3, 2, 1, 1, 1, 1, 1, 3), 31);  // depthwise
  check_conv(make_conv(4, 8, 10, 10, 16, 3, 3, 1, 1, 1, 1, 1, 1, 4), 32);
}

TEST(CudaKernelsConv, PointwiseAndWholeImageKernels) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  check_conv(make_conv(1, 5, 4, 6, 7, 1, 1), 40);
  check_conv(make_conv(2, 4, 5, 5, 4, 1, 1, 1, 1, 0, 0, 1, 1, 2), 41);  // grouped 1x1
  check_conv(make_conv(1, 1, 5, 5, 1, 5, 5), 42);                       // kernel = image
}

TEST(CudaKernelsConv, CifarSizedLayer) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  // Forward is large enough for the 128 x 128 tile kernel: M = 192 channels (2 row tiles) and
  // N = batch*16*16 (2 column tiles per image) give 4 tiles per image, one per multiprocessor wanted.
  const int64_t batch = std::max(2, (cuda::multiprocessor_count() + 3) / 4);
  check_conv(make_conv(batch, 64, 16, 16, 192, 3, 3, 1, 1, 1, 1), 50);
  check_conv(make_conv(4, 32, 32, 32, 64, 3, 3, 2, 2, 1, 1), 51);
}

}  // namespace
}  // namespace dlcore
