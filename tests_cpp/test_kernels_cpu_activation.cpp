// Tests of the CPU activation kernels: forward against std:: math, backward (which reads the
// forward output) against central finite differences of the forward.
#include <cmath>

#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::numeric_gradient;
using testing::random_vector;

using Forward = void (*)(const float*, float*, int64_t);
using Backward = void (*)(const float*, const float*, float*, int64_t);

void check_activation(Forward forward, Backward backward, double (*reference)(double),
                      std::vector<float> x) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<float> y(n);
  forward(x.data(), y.data(), n);
  std::vector<double> expected(n);
  for (int64_t i = 0; i < n; ++i) expected[i] = reference(x[i]);
  EXPECT_TRUE(all_close(y, expected, 2e-6));  // a few float roundings

  const auto gy = random_vector(n, 7);
  std::vector<float> gx(n);
  backward(gy.data(), y.data(), gx.data(), n);
  auto f = [&](const std::vector<float>& input) {
    std::vector<float> out(input.size());
    forward(input.data(), out.data(), n);
    return out;
  };
  // Step 1e-2 on smooth functions of O(1) inputs: truncation ~1e-5, float noise ~1e-5.
  EXPECT_TRUE(all_close(gx, numeric_gradient(f, x, gy, 1e-2), 2e-3, 1e-2));
}

TEST(KernelsCpuActivation, Relu) {
  // Inputs kept at least 0.05 away from the kink so the finite difference is well defined.
  auto x = random_vector(301, 1, 0.05f, 3.0f);
  for (size_t i = 0; i < x.size(); i += 2) x[i] = -x[i];
  check_activation(kernels::cpu::relu_forward, kernels::cpu::relu_backward,
                   [](double v) { return v > 0 ? v : 0.0; }, x);
}

TEST(KernelsCpuActivation, ReluGradientAtZeroIsZero) {
  const std::vector<float> y = {0.0f, 1.0f}, gy = {5.0f, 5.0f};
  std::vector<float> gx(2);
  kernels::cpu::relu_backward(gy.data(), y.data(), gx.data(), 2);
  EXPECT_EQ(gx, (std::vector<float>{0.0f, 5.0f}));
}

TEST(KernelsCpuActivation, LargeInputsUseThreads) {
  const int64_t n = 1 << 18;
  const auto x = random_vector(n, 4);
  std::vector<float> y(n);
  kernels::cpu::relu_forward(x.data(), y.data(), n);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], x[i] > 0 ? x[i] : 0.0f);
}

}  // namespace
}  // namespace dlcore
