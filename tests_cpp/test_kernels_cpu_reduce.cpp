// Tests of the CPU reductions: float and int64 sums (including a length that takes the threaded
// path) against double/integer references, and argmax_rows' first-maximum and NaN rules.
#include <limits>

#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::random_vector;

TEST(KernelsCpuReduce, SumAll) {
  for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{4099}, int64_t{1000003}}) {
    const auto x = random_vector(n, 1, 0.0f, 1.0f);
    double expected = 0.0;
    for (float v : x) expected += v;
    float y = -1.0f;
    kernels::cpu::sum_all(x.data(), &y, n);
    // Float partial sums over blocks of 4096 (combined in double) drift like a random walk,
    // ~sqrt(4096) * 6e-8 = 4e-6 relative when not vectorised; 2e-5 leaves room.
    EXPECT_TRUE(all_close(std::vector<float>{y}, std::vector<double>{expected}, 2e-5)) << n;
  }
  float y = -1.0f;
  kernels::cpu::sum_all(nullptr, &y, 0);
  EXPECT_EQ(y, 0.0f);
}

TEST(KernelsCpuReduce, SumAllInt64) {
  std::vector<int64_t> x(1001);
  int64_t expected = 0;
  for (int64_t i = 0; i < 1001; ++i) expected += (x[i] = i * 3 - 700);
  int64_t y = -1;
  kernels::cpu::sum_all_int64(x.data(), &y, 1001);
  EXPECT_EQ(y, expected);
}

TEST(KernelsCpuReduce, ArgmaxRowsFirstMaximumAndNan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {1, 3, 3, 2,          // tie: first maximum
                                -5, -4, -9, -4.5f,   // negatives
                                0, nan, 7, nan,      // NaN wins, first NaN
                                2, 2, 2, 2};
  std::vector<int64_t> y(4, -1);
  kernels::cpu::argmax_rows(x.data(), y.data(), 4, 4);
  EXPECT_EQ(y, (std::vector<int64_t>{1, 1, 1, 0}));

  const int64_t N = 5000, C = 10;  // threaded path
  const auto big = random_vector(N * C, 2);
  std::vector<int64_t> out(N);
  kernels::cpu::argmax_rows(big.data(), out.data(), N, C);
  for (int64_t n = 0; n < N; ++n) {
    int64_t best = 0;
    for (int64_t c = 1; c < C; ++c)
      if (big[n * C + c] > big[n * C + best]) best = c;
    ASSERT_EQ(out[n], best) << "row " << n;
  }
}

}  // namespace
}  // namespace dlcore
