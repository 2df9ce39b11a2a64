// Tests of the CPU float fills and scale_shift against plain loops (copies between views are
// tested at the op level, test_copies.cpp; the pointwise loop in test_kernels_cpu_pointwise.cpp).
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::random_vector;

TEST(KernelsCpuElementwise, FillScaleShift) {
  const int64_t n = 100003;  // above the threading grain, not a multiple of any vector width
  std::vector<float> y(n);
  kernels::cpu::fill(y.data(), 2.5f, n);
  for (float v : y) ASSERT_EQ(v, 2.5f);
  auto y2 = random_vector(n, 2);
  std::vector<double> expected(n);
  for (int64_t i = 0; i < n; ++i) expected[i] = y2[i] * 3.0 - 1.0;
  kernels::cpu::scale_shift(y2.data(), y2.data(), 3.0f, -1.0f, n);  // in place is allowed
  EXPECT_TRUE(all_close(y2, expected, 1e-6));
}

}  // namespace
}  // namespace dlcore
