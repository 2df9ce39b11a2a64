// Tests of the CUDA bias kernels against the CPU backend: bias_add with and without the fused
// ReLU for Linear-like (inner = 1) and Conv2d-like (inner = H*W) shapes, and the bias gradient.
#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_vector;

struct BiasCase {
  int64_t N, C, inner;
};
const BiasCase kCases[] = {{64, 10, 1}, {1, 120, 1}, {64, 6, 784}, {3, 5, 7}, {1, 1, 1}, {2, 300, 33}};

TEST(CudaKernelsBias, BiasAddWithAndWithoutRelu) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 1;
  for (const BiasCase& c : kCases)
    for (bool relu : {false, true}) {
      const int64_t n = c.N * c.C * c.inner;
      auto y = random_vector(n, seed++);
      const auto bias = random_vector(c.C, seed++);
      DeviceBuffer<float> dy(y), dbias(bias);
      kernels::cuda::bias_add(dy.get(), dbias.get(), c.N, c.C, c.inner, relu);
      kernels::cpu::bias_add(y.data(), bias.data(), c.N, c.C, c.inner, relu);
      EXPECT_TRUE(all_close(dy.download(), y, 0.0))
          << "N=" << c.N << " C=" << c.C << " inner=" << c.inner << " relu=" << relu;
    }
}

TEST(CudaKernelsBias, BiasBackward) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 100;
  for (const BiasCase& c : kCases) {
    const auto gy = random_vector(c.N * c.C * c.inner, seed++);
    DeviceBuffer<float> dgy(gy), dgbias(c.C);
    std::vector<float> gbias(c.C);
    kernels::cuda::bias_backward(dgy.get(), dgbias.get(), c.N, c.C, c.inner);
    kernels::cpu::bias_backward(gy.data(), gbias.data(), c.N, c.C, c.inner);
    // Sums of up to 50k values in [-1, 1] in different orders.
    EXPECT_TRUE(all_close(dgbias.download(), gbias, 1e-5))
        << "N=" << c.N << " C=" << c.C << " inner=" << c.inner;
  }
}

}  // namespace
}  // namespace dlcore
