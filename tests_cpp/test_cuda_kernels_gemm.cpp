// Tests of the CUDA SGEMM against the CPU backend's gemm: all transpose combinations, alpha/beta,
// sizes that are not multiples of the 64/128 tiles, padded and misaligned leading dimensions
// (scalar instead of float4 loads), long reductions (split-K), both tile sizes, and beta = 0
// with a NaN-filled C, which must not be read.
#include <cmath>
#include <limits>

#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_vector;

struct GemmCase {
  bool trans_a, trans_b;
  int64_t M, N, K;
  float alpha, beta;
  int64_t pad;  // extra columns in every leading dimension (odd pads defeat float4 loads)
};

void check_gemm(const GemmCase& c, uint32_t seed, double tol = 1e-5) {
  const int64_t a_rows = c.trans_a ? c.K : c.M, a_cols = c.trans_a ? c.M : c.K;
  const int64_t b_rows = c.trans_b ? c.N : c.K, b_cols = c.trans_b ? c.K : c.N;
  const int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.N + c.pad;
  const auto A = random_vector(a_rows * lda, seed);
  const auto B = random_vector(b_rows * ldb, seed + 1);
  auto C = random_vector(c.M * ldc, seed + 2);
  DeviceBuffer<float> dA(A), dB(B), dC(C);
  kernels::cuda::gemm(c.trans_a, c.trans_b, c.M, c.N, c.K, c.alpha, dA.get(), lda, dB.get(), ldb,
                      c.beta, dC.get(), ldc);
  kernels::cpu::gemm(c.trans_a, c.trans_b, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb,
                     c.beta, C.data(), ldc);
  // Both accumulate K products of values in [-1, 1] in float, in different orders: differences
  // grow like sqrt(K) * 6e-8 relative to an absolute floor of 1.
  EXPECT_TRUE(all_close(dC.download(), C, tol))
      << "ta=" << c.trans_a << " tb=" << c.trans_b << " M=" << c.M << " N=" << c.N
      << " K=" << c.K << " alpha=" << c.alpha << " beta=" << c.beta << " pad=" << c.pad;
}

TEST(CudaKernelsGemm, AllTransposesWithAlphaBeta) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 1;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (auto [alpha, beta] : {std::pair{1.0f, 0.0f}, {0.5f, 1.0f}, {-1.5f, 0.25f}})
        check_gemm({ta, tb, 37, 53, 29, alpha, beta, 0}, seed++);
}

TEST(CudaKernelsGemm, OddSizesAndEdgeTiles) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const int64_t shapes[][3] = {{1, 1, 1},    {1, 97, 3},     {97, 1, 5},    {13, 33, 257},
                               {25, 17, 1},  {6, 784, 25},   {16, 100, 150}, {200, 65, 300},
                               {64, 64, 64}, {65, 129, 9},   {64, 120, 400}, {130, 127, 67}};
  uint32_t seed = 100;
  for (const auto& s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) check_gemm({ta, tb, s[0], s[1], s[2], 1.0f, 0.0f, 0}, seed++);
}

TEST(CudaKernelsGemm, PaddedAndMisalignedLeadingDimensions) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 200;
  for (int64_t pad : {1, 3, 4, 7})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) check_gemm({ta, tb, 70, 45, 33, 1.0f, 0.5f, pad}, seed++);
}

TEST(CudaKernelsGemm, LargeTilesAndSplitK) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 300;
  // The large-tile kernel runs once there is a 128 x 128 tile per multiprocessor: a side of 128 x
  // ceil(sqrt(SMs)) (1536 on an H100/H200, 384 on the emulator's 8) and a ragged one just past it.
  const int64_t side = 128 * static_cast<int64_t>(std::ceil(std::sqrt(cuda::multiprocessor_count())));
  check_gemm({false, false, side, side, 40, 1.0f, 0.0f, 0}, seed++);
  check_gemm({true, true, side + 1, side - 1, 19, 0.5f, 2.0f, 0}, seed++);
  // Few outputs, long K: the reduction is split over blocks and summed by a second kernel.
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check_gemm({ta, tb, 16, 20, 6000, 1.0f, 0.0f, 0}, seed++, 1e-4);
      check_gemm({ta, tb, 120, 400, 4096, 1.0f, 1.0f, 1}, seed++, 1e-4);
    }
}

TEST(CudaKernelsGemm, BetaZeroIgnoresNanInC) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const int64_t M = 33, N = 65, K = 700;
  for (int64_t n : {N, int64_t{4}}) {  // n = 4: one thin tile; N: several
    const auto A = random_vector(M * K, 1), B = random_vector(K * n, 2);
    std::vector<float> C(M * n, 0.0f);
    DeviceBuffer<float> dA(A), dB(B);
    DeviceBuffer<float> dC(std::vector<float>(M * n, std::numeric_limits<float>::quiet_NaN()));
    kernels::cuda::gemm(false, false, M, n, K, 1.0f, dA.get(), K, dB.get(), n, 0.0f, dC.get(), n);
    kernels::cpu::gemm(false, false, M, n, K, 1.0f, A.data(), K, B.data(), n, 0.0f, C.data(), n);
    EXPECT_TRUE(all_close(dC.download(), C, 1e-5));
  }
}

TEST(CudaKernelsGemm, EmptyReductionScalesC) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const auto C0 = random_vector(12, 5);
  DeviceBuffer<float> dC(C0);
  kernels::cuda::gemm(false, false, 3, 4, 0, 1.0f, nullptr, 1, nullptr, 4, 0.5f, dC.get(), 4);
  std::vector<float> expected(C0);
  for (float& v : expected) v *= 0.5f;
  EXPECT_TRUE(all_close(dC.download(), expected, 1e-7));
}

}  // namespace
}  // namespace dlcore
