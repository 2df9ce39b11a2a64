// Tests of the CPU SGEMM against a naive double-precision triple loop: every transpose
// combination, alpha/beta, sizes that are not multiples of the register and cache tiles, leading
// dimensions larger than the matrix, and the degenerate cases BLAS users rely on.
#include <cmath>
#include <limits>

#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::random_vector;

struct GemmCase {
  bool trans_a, trans_b;
  int64_t M, N, K;
  float alpha, beta;
  int64_t pad;  // extra columns in every leading dimension
};

// C = alpha * op(A) op(B) + beta * C over the leading-dimension layout the kernel sees.
std::vector<double> reference_gemm(const GemmCase& c, const std::vector<float>& A, int64_t lda,
                                   const std::vector<float>& B, int64_t ldb,
                                   const std::vector<float>& C, int64_t ldc) {
  std::vector<double> out(C.begin(), C.end());
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double acc = 0.0;
      for (int64_t k = 0; k < c.K; ++k) {
        const double a = c.trans_a ? A[k * lda + i] : A[i * lda + k];
        const double b = c.trans_b ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
      }
      const double old = c.beta == 0.0f ? 0.0 : c.beta * static_cast<double>(C[i * ldc + j]);
      out[i * ldc + j] = c.alpha * acc + old;
    }
  return out;
}

void check_gemm(const GemmCase& c, uint32_t seed) {
  const int64_t a_rows = c.trans_a ? c.K : c.M, a_cols = c.trans_a ? c.M : c.K;
  const int64_t b_rows = c.trans_b ? c.N : c.K, b_cols = c.trans_b ? c.K : c.N;
  const int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.N + c.pad;
  const auto A = random_vector(a_rows * lda, seed);
  const auto B = random_vector(b_rows * ldb, seed + 1);
  auto C = random_vector(c.M * ldc, seed + 2);
  const auto expected = reference_gemm(c, A, lda, B, ldb, C, ldc);
  kernels::cpu::gemm(c.trans_a, c.trans_b, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb,
                     c.beta, C.data(), ldc);
  // Float accumulation of K products of values in [-1, 1]: error grows like sqrt(K) * 6e-8;
  // 1e-5 relative with an absolute floor of 1 covers K up to a few thousand.
  EXPECT_TRUE(all_close(C, expected, 1e-5))
      << "ta=" << c.trans_a << " tb=" << c.trans_b << " M=" << c.M << " N=" << c.N
      << " K=" << c.K << " alpha=" << c.alpha << " beta=" << c.beta << " pad=" << c.pad;
}

TEST(KernelsCpuGemm, AllTransposesWithAlphaBeta) {
  uint32_t seed = 1;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (auto [alpha, beta] : {std::pair{1.0f, 0.0f}, {0.5f, 1.0f}, {-1.5f, 0.25f}})
        check_gemm({ta, tb, 37, 53, 29, alpha, beta, 0}, seed++);
}

TEST(KernelsCpuGemm, OddSizesAndEdgeTiles) {
  // Single rows/columns, sizes around the register tile (12 or 6 rows, 32 or 16 columns) and
  // the cache blocks (K 256, M 192).
  const int64_t shapes[][3] = {{1, 1, 1},    {1, 97, 3},   {97, 1, 5},    {13, 33, 257},
                               {25, 17, 1},  {6, 784, 25}, {16, 100, 150}, {200, 65, 300},
                               {193, 31, 7}, {64, 120, 400}};
  uint32_t seed = 100;
  for (const auto& s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) check_gemm({ta, tb, s[0], s[1], s[2], 1.0f, 0.0f, 0}, seed++);
}

TEST(KernelsCpuGemm, LeadingDimensionsLargerThanMatrix) {
  uint32_t seed = 200;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) check_gemm({ta, tb, 19, 45, 23, 0.75f, 0.5f, 7}, seed++);
}

TEST(KernelsCpuGemm, LargeEnoughForThreadsAndColumnBlocks) {
  // N beyond one column block (4096 with AVX-512) and M*N*K above the threading threshold.
  check_gemm({false, false, 21, 4200, 24, 1.0f, 0.0f, 0}, 300);
  check_gemm({true, true, 150, 170, 300, 1.0f, 1.0f, 3}, 301);
  check_gemm({false, true, 300, 20, 160, 2.0f, 0.0f, 0}, 302);
}

TEST(KernelsCpuGemm, BetaZeroIgnoresNanInC) {
  const int64_t M = 5, N = 40, K = 3;
  const auto A = random_vector(M * K, 1), B = random_vector(K * N, 2);
  std::vector<float> C(M * N, std::numeric_limits<float>::quiet_NaN());
  kernels::cpu::gemm(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C.data(), N);
  for (float v : C) ASSERT_FALSE(std::isnan(v));
}

TEST(KernelsCpuGemm, EmptyInnerDimensionScalesC) {
  std::vector<float> C = {1.0f, -2.0f, 3.0f, 4.0f};
  const float unused = 0.0f;
  kernels::cpu::gemm(false, false, 2, 2, 0, 1.0f, &unused, 1, &unused, 2, 0.5f, C.data(), 2);
  EXPECT_EQ(C, (std::vector<float>{0.5f, -1.0f, 1.5f, 2.0f}));
  kernels::cpu::gemm(false, false, 2, 2, 0, 1.0f, &unused, 1, &unused, 2, 0.0f, C.data(), 2);
  EXPECT_EQ(C, (std::vector<float>(4, 0.0f)));
}

}  // namespace
}  // namespace dlcore
