// Tests of the CPU dropout kernel: the mask holds only 0 and 1/(1-p), keeps about 1-p of the
// elements, is a pure function of (seed, index) from counter_rng.h (what the CUDA kernel must
// reproduce), and y = x * mask.
#include <cmath>

#include "../cpp/src/kernels/counter_rng.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::random_vector;

TEST(KernelsCpuDropout, MaskValuesRateAndDeterminism) {
  const int64_t n = 200000;
  const auto x = random_vector(n, 1);
  for (float p : {0.1f, 0.5f, 0.8f}) {
    std::vector<float> y(n), mask(n), y2(n), mask2(n);
    kernels::cpu::dropout_forward(x.data(), y.data(), mask.data(), n, p, 42);
    kernels::cpu::dropout_forward(x.data(), y2.data(), mask2.data(), n, p, 42);
    EXPECT_EQ(mask, mask2);  // same seed, same mask, whatever the thread split
    const float scale = 1.0f / (1.0f - p);
    int64_t kept = 0;
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_TRUE(mask[i] == 0.0f || mask[i] == scale) << mask[i];
      ASSERT_EQ(y[i], x[i] * mask[i]);
      // The documented rule: keep when the counter-based uniform draw is >= p.
      ASSERT_EQ(mask[i] != 0.0f, rng::uniform_float(42, i) >= p) << "index " << i;
      kept += mask[i] != 0.0f;
    }
    // Binomial(n, 1-p): standard deviation <= sqrt(n)/2 ~ 224 elements; allow 5 sigma.
    EXPECT_NEAR(static_cast<double>(kept), n * (1.0 - p), 5 * std::sqrt(n * p * (1 - p)))
        << "p " << p;
  }
}

TEST(KernelsCpuDropout, SeedsGiveDifferentMasks) {
  const int64_t n = 1000;
  const auto x = random_vector(n, 2);
  std::vector<float> y(n), a(n), b(n);
  kernels::cpu::dropout_forward(x.data(), y.data(), a.data(), n, 0.5f, 1);
  kernels::cpu::dropout_forward(x.data(), y.data(), b.data(), n, 0.5f, 2);
  int64_t differ = 0;
  for (int64_t i = 0; i < n; ++i) differ += a[i] != b[i];
  EXPECT_GT(differ, n / 4);  // independent masks differ in about half the places
}

TEST(KernelsCpuDropout, ExtremeProbabilities) {
  const int64_t n = 100;
  const auto x = random_vector(n, 3);
  std::vector<float> y(n), mask(n);
  kernels::cpu::dropout_forward(x.data(), y.data(), mask.data(), n, 0.0f, 7);
  EXPECT_EQ(y, x);
  kernels::cpu::dropout_forward(x.data(), y.data(), mask.data(), n, 1.0f, 7);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], 0.0f);
}

TEST(KernelsCpuDropout, UniformDrawsLookUniform) {
  // Mean 1/2 and variance 1/12 of 1e5 draws, within a few standard errors.
  const int n = 100000;
  double sum = 0.0, sum_sq = 0.0;
  for (int i = 0; i < n; ++i) {
    const double u = rng::uniform_float(123, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum_sq += u * u;
  }
  EXPECT_NEAR(sum / n, 0.5, 0.005);
  EXPECT_NEAR(sum_sq / n - (sum / n) * (sum / n), 1.0 / 12.0, 0.002);
}

}  // namespace
}  // namespace dlcore
