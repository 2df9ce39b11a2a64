// Tests of the CUDA layer-norm kernels against the CPU backend: forward (with saved mean and rstd)
// and backward (gx, and the weight and bias gradients summed in the CPU's block order), on the
// warp-per-row path (cols <= 1024) and the block-per-row path, with and without the affine weight,
// and rows past one 32-row block of the weight gradient's summation.
#include <vector>

#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_vector;

struct LayerNormCase {
  int64_t rows, cols;
  bool affine;
};
const LayerNormCase kCases[] = {{1, 1, true}, {5, 10, true}, {70, 64, false}, {33, 1500, true}, {3, 4096, false}};

// The statistics are double sums in both backends, only summed in another order; outputs are O(1).
constexpr double kTol = 1e-5;

TEST(CudaKernelsLayerNorm, ForwardAndBackwardMatchTheCpu) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 7;
  for (const LayerNormCase& c : kCases) {
    const size_t n = static_cast<size_t>(c.rows * c.cols), cols = static_cast<size_t>(c.cols);
    const auto x = random_vector(n, seed++, -3.0f, 5.0f), gy = random_vector(n, seed++);
    const auto gamma = random_vector(cols, seed++, 0.5f, 1.5f), beta = random_vector(cols, seed++);
    DeviceBuffer<float> dx(x), dgy(gy), dgamma(gamma), dbeta(beta), dy(n), dmean(c.rows), drstd(c.rows), dgx(n),
        dggamma(cols), dgbeta(cols);
    std::vector<float> y(n), mean(c.rows), rstd(c.rows), gx(n), ggamma(cols), gbeta(cols);
    const float* g_host = c.affine ? gamma.data() : nullptr;
    const float* g_device = c.affine ? dgamma.get() : nullptr;
    kernels::cpu::layer_norm_forward(x.data(), g_host, c.affine ? beta.data() : nullptr, y.data(), mean.data(),
                                     rstd.data(), c.rows, c.cols, 1e-5f);
    kernels::cuda::layer_norm_forward(dx.get(), g_device, c.affine ? dbeta.get() : nullptr, dy.get(), dmean.get(),
                                      drstd.get(), c.rows, c.cols, 1e-5f);
    EXPECT_TRUE(all_close(dy.download(), y, kTol)) << "y rows=" << c.rows << " cols=" << c.cols;
    EXPECT_TRUE(all_close(dmean.download(), mean, kTol)) << "mean cols=" << c.cols;
    EXPECT_TRUE(all_close(drstd.download(), rstd, kTol)) << "rstd cols=" << c.cols;

    // The backward reads the same saved statistics on both sides.
    dmean.upload(mean);
    drstd.upload(rstd);
    kernels::cpu::layer_norm_backward(gy.data(), x.data(), mean.data(), rstd.data(), g_host, gx.data(), ggamma.data(),
                                      gbeta.data(), c.rows, c.cols);
    kernels::cuda::layer_norm_backward(dgy.get(), dx.get(), dmean.get(), drstd.get(), g_device, dgx.get(),
                                       dggamma.get(), dgbeta.get(), c.rows, c.cols);
    EXPECT_TRUE(all_close(dgx.download(), gx, kTol, 1e-3)) << "gx rows=" << c.rows << " cols=" << c.cols;
    EXPECT_TRUE(all_close(dggamma.download(), ggamma, kTol, 1e-3)) << "ggamma rows=" << c.rows;
    EXPECT_TRUE(all_close(dgbeta.download(), gbeta, kTol, 1e-3)) << "gbeta rows=" << c.rows;
  }
}

TEST(CudaKernelsLayerNorm, NoRowsGiveZeroWeightGradients) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  DeviceBuffer<float> empty(1), dggamma(std::vector<float>(4, 7.0f)), dgbeta(std::vector<float>(4, 7.0f));
  kernels::cuda::layer_norm_backward(empty.get(), empty.get(), empty.get(), empty.get(), nullptr, nullptr,
                                     dggamma.get(), dgbeta.get(), 0, 4);
  EXPECT_EQ(dggamma.download(), std::vector<float>(4, 0.0f));
  EXPECT_EQ(dgbeta.download(), std::vector<float>(4, 0.0f));
}

}  // namespace
}  // namespace dlcore
