// Row-major SGEMM for the CUDA backend, C = alpha * op(A) op(B) + beta * C, on our own tiled kernel
// (tiled_gemm.cuh; no cuBLAS). The four transpose cases differ only in how the operand slices are
// fetched; float4 loads are used whenever the pointers and leading dimensions allow them.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "cuda_check.h"
#include "dlcore/kernels.h"
#include "tiled_gemm.cuh"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::kMaxInt32Index;
using ::dlcore::cuda::throw_int32_index_limit;

namespace tg = ::dlcore::cuda::tiled_gemm;

template <bool AlongI>
struct VectorMatrix {
  template <int TILE>
  using Loader = tg::VectorLoader<TILE, AlongI>;
};
template <bool AlongI>
struct ScalarMatrix {
  template <int TILE>
  using Loader = tg::ElementLoader<TILE, tg::MatrixSource<AlongI>>;
};

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// op(A) element (m, k) is A[k*lda + m] when transposed: contiguous along m, the tile index.
// op(B) element (k, n) is B[k*ldb + n] when not transposed: contiguous along n.
template <bool ATransposed, bool BNotTransposed>
void gemm_typed(int M, int N, int K, const float* A, int64_t lda, const float* B, int64_t ldb,
                const tg::MatrixEpilogue& epilogue, bool vector_loads) {
  const tg::MatrixSource<ATransposed> a{A, lda, 0};
  const tg::MatrixSource<BNotTransposed> b{B, ldb, 0};
  if (vector_loads) {
    tg::run<VectorMatrix<ATransposed>::template Loader, VectorMatrix<BNotTransposed>::template Loader>(
        a, b, epilogue, M, N, K, 1, "gemm");
  } else {
    tg::run<ScalarMatrix<ATransposed>::template Loader, ScalarMatrix<BNotTransposed>::template Loader>(
        a, b, epilogue, M, N, K, 1, "gemm");
  }
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
          const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
          int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  const std::pair<const char*, int64_t> dimensions[] = {{"M", M}, {"N", N}, {"K", K}};
  for (const auto& [name, value] : dimensions)
    if (value > kMaxInt32Index)
      throw_int32_index_limit(std::string("gemm: dimension ") + name + "=" + std::to_string(value));
  const bool vector_loads = aligned16(A) && aligned16(B) && lda % 4 == 0 && ldb % 4 == 0;
  const tg::MatrixEpilogue epilogue{C, ldc, 0, alpha, beta, aligned16(C) && ldc % 4 == 0};
  const int m = static_cast<int>(M), n = static_cast<int>(N), k = static_cast<int>(K < 0 ? 0 : K);
  if (trans_a) {
    if (trans_b) gemm_typed<true, false>(m, n, k, A, lda, B, ldb, epilogue, vector_loads);
    else gemm_typed<true, true>(m, n, k, A, lda, B, ldb, epilogue, vector_loads);
  } else {
    if (trans_b) gemm_typed<false, false>(m, n, k, A, lda, B, ldb, epilogue, vector_loads);
    else gemm_typed<false, true>(m, n, k, A, lda, B, ldb, epilogue, vector_loads);
  }
}

}  // namespace dlcore::kernels::cuda
