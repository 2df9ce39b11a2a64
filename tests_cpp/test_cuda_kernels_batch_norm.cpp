// Tests of the CUDA batch normalisation against the CPU backend: training forward (output, saved
// statistics, running statistics), eval forward and backward, for BatchNorm2d- and
// BatchNorm1d-like shapes, with and without affine parameters.
#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_vector;

struct NormCase {
  int64_t N, C, inner;
  bool affine;
};
const NormCase kCases[] = {{8, 3, 49, true}, {64, 16, 1, true}, {2, 5, 1000, false}, {1, 2, 3, true}};

// The CPU accumulates statistics in double, the GPU in float trees: 2e-5 relative.
constexpr double kTol = 2e-5;

TEST(CudaKernelsBatchNorm, TrainingForwardAndBackward) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 1;
  for (const NormCase& c : kCases) {
    const int64_t n = c.N * c.C * c.inner;
    const auto x = random_vector(n, seed++, -2.0f, 3.0f), gy = random_vector(n, seed++);
    const auto gamma = random_vector(c.C, seed++, 0.5f, 1.5f), beta = random_vector(c.C, seed++);
    auto running_mean = random_vector(c.C, seed++), running_var = random_vector(c.C, seed++, 0.5f, 2.0f);
    DeviceBuffer<float> dx(x), dgy(gy), dgamma(gamma), dbeta(beta), dy(n), dmean(c.C), dinvstd(c.C);
    DeviceBuffer<float> drm(running_mean), drv(running_var), dgx(n), dggamma(c.C), dgbeta(c.C);
    const float* g = c.affine ? dgamma.get() : nullptr;
    const float* b = c.affine ? dbeta.get() : nullptr;
    kernels::cuda::batch_norm_forward_train(dx.get(), g, b, dy.get(), dmean.get(), dinvstd.get(),
                                            drm.get(), drv.get(), c.N, c.C, c.inner, 0.1f, 1e-5f);
    std::vector<float> y(n), mean(c.C), invstd(c.C), gx(n), ggamma(c.C), gbeta(c.C);
    kernels::cpu::batch_norm_forward_train(x.data(), c.affine ? gamma.data() : nullptr,
                                           c.affine ? beta.data() : nullptr, y.data(), mean.data(),
                                           invstd.data(), running_mean.data(), running_var.data(),
                                           c.N, c.C, c.inner, 0.1f, 1e-5f);
    EXPECT_TRUE(all_close(dy.download(), y, kTol));
    EXPECT_TRUE(all_close(dmean.download(), mean, kTol));
    EXPECT_TRUE(all_close(dinvstd.download(), invstd, kTol));
    EXPECT_TRUE(all_close(drm.download(), running_mean, kTol));
    EXPECT_TRUE(all_close(drv.download(), running_var, kTol));

    // Backward from the same saved statistics on both devices.
    dmean.upload(mean);
    dinvstd.upload(invstd);
    kernels::cuda::batch_norm_backward(dgy.get(), dx.get(), g, dmean.get(), dinvstd.get(),
                                       dgx.get(), dggamma.get(), dgbeta.get(), c.N, c.C, c.inner);
    kernels::cpu::batch_norm_backward(gy.data(), x.data(), c.affine ? gamma.data() : nullptr,
                                      mean.data(), invstd.data(), gx.data(), ggamma.data(),
                                      gbeta.data(), c.N, c.C, c.inner);
    EXPECT_TRUE(all_close(dgx.download(), gx, 1e-4)) << "N=" << c.N << " C=" << c.C;
    EXPECT_TRUE(all_close(dggamma.download(), ggamma, kTol));
    EXPECT_TRUE(all_close(dgbeta.download(), gbeta, kTol));
  }
}

TEST(CudaKernelsBatchNorm, EvalForward) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 100;
  for (const NormCase& c : kCases) {
    const int64_t n = c.N * c.C * c.inner;
    const auto x = random_vector(n, seed++), gamma = random_vector(c.C, seed++);
    const auto beta = random_vector(c.C, seed++), rm = random_vector(c.C, seed++);
    const auto rv = random_vector(c.C, seed++, 0.5f, 2.0f);
    DeviceBuffer<float> dx(x), dgamma(gamma), dbeta(beta), drm(rm), drv(rv), dy(n);
    std::vector<float> y(n);
    kernels::cuda::batch_norm_forward_eval(dx.get(), c.affine ? dgamma.get() : nullptr,
                                           c.affine ? dbeta.get() : nullptr, drm.get(), drv.get(),
                                           dy.get(), c.N, c.C, c.inner, 1e-5f);
    kernels::cpu::batch_norm_forward_eval(x.data(), c.affine ? gamma.data() : nullptr,
                                          c.affine ? beta.data() : nullptr, rm.data(), rv.data(),
                                          y.data(), c.N, c.C, c.inner, 1e-5f);
    EXPECT_TRUE(all_close(dy.download(), y, 1e-6));
  }
}

}  // namespace
}  // namespace dlcore
