// Tests of the CPU bias kernels for the Linear (inner = 1) and Conv2d (inner = H*W) layouts:
// bias_add with and without the fused ReLU, and bias_backward against finite differences.
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::numeric_gradient;
using testing::random_vector;

void check_bias(int64_t N, int64_t C, int64_t inner, uint32_t seed) {
  const auto y0 = random_vector(N * C * inner, seed);
  const auto bias = random_vector(C, seed + 1);
  for (bool relu : {false, true}) {
    auto y = y0;
    kernels::cpu::bias_add(y.data(), bias.data(), N, C, inner, relu);
    std::vector<float> expected(y.size());
    for (int64_t i = 0; i < N * C * inner; ++i) {
      const float v = y0[i] + bias[(i / inner) % C];
      expected[i] = relu && v < 0.0f ? 0.0f : v;
    }
    EXPECT_TRUE(all_close(y, expected, 0.0)) << "relu " << relu;  // one float add: exact
  }
  // bias_backward is the gradient of bias_add (without ReLU) with respect to the bias.
  const auto gy = random_vector(N * C * inner, seed + 2);
  std::vector<float> gbias(C);
  kernels::cpu::bias_backward(gy.data(), gbias.data(), N, C, inner);
  auto f = [&](const std::vector<float>& b) {
    auto out = y0;
    kernels::cpu::bias_add(out.data(), b.data(), N, C, inner, false);
    return out;
  };
  // Linear in the bias: the finite difference is exact up to float rounding of the sum.
  EXPECT_TRUE(all_close(gbias, numeric_gradient(f, bias, gy, 0.5), 1e-4));
}

TEST(KernelsCpuBias, LinearLayout) {
  check_bias(64, 120, 1, 1);
  check_bias(1, 10, 1, 2);
}

TEST(KernelsCpuBias, ConvLayout) {
  check_bias(4, 6, 28 * 28, 3);
  check_bias(1, 3, 7, 4);
  check_bias(64, 16, 100, 5);  // big enough to use threads
}

}  // namespace
}  // namespace dlcore
