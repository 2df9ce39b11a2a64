// Tests that CUDA dropout draws exactly the CPU backend's mask: the keep decision is a counter-based
// hash of (seed, index) on both devices, so masks and outputs must agree bit for bit.
#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::DeviceBuffer;
using testing::random_vector;

TEST(CudaKernelsDropout, MaskMatchesCpuBitForBit) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 1;
  for (int64_t n : {1, 1000, 65539})  // 65539: past one grid on the emulator (8 SMs), a ragged tail
    for (float p : {0.0f, 0.1f, 0.5f, 0.9f, 1.0f})
      for (uint64_t rng_seed : {uint64_t{0}, uint64_t{12345}, ~uint64_t{0}}) {
        const auto x = random_vector(n, seed++);
        DeviceBuffer<float> dx(x), dy(n), dmask(n);
        std::vector<float> y(n), mask(n);
        kernels::cuda::dropout_forward(dx.get(), dy.get(), dmask.get(), n, p, rng_seed);
        kernels::cpu::dropout_forward(x.data(), y.data(), mask.data(), n, p, rng_seed);
        EXPECT_EQ(dmask.download(), mask) << "n=" << n << " p=" << p << " seed=" << rng_seed;
        EXPECT_EQ(dy.download(), y) << "n=" << n << " p=" << p << " seed=" << rng_seed;
      }
}

TEST(CudaKernelsDropout, KeepsAboutOneMinusP) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const int64_t n = 1 << 20;
  DeviceBuffer<float> dx(std::vector<float>(n, 1.0f)), dy(n), dmask(n);
  kernels::cuda::dropout_forward(dx.get(), dy.get(), dmask.get(), n, 0.3f, 7);
  const auto mask = dmask.download();
  int64_t kept = 0;
  for (float m : mask) kept += m != 0.0f;
  // Binomial(2^20, 0.7): standard deviation ~470; 10 sigma is far beyond chance.
  EXPECT_NEAR(static_cast<double>(kept), 0.7 * n, 4700.0);
}

}  // namespace
}  // namespace dlcore
