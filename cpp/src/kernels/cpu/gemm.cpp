// Single-precision GEMM drivers for the CPU backend: every Linear and Conv2d pass ends here.
// Large problems run the classic packed, cache-blocked loop nest; problems whose operands fit in
// L2 read them in place; OpenMP splits C into slabs. The micro-kernel lives in gemm_kernel.h.
#include <omp.h>

#include "cpu_parallel.h"
#include "dlcore/kernels.h"
#include "gemm_kernel.h"

namespace dlcore::kernels::cpu {
namespace {

using namespace detail;  // NOLINT: this file is the micro-kernel's only driver

int64_t round_up(int64_t x, int64_t multiple) { return (x + multiple - 1) / multiple * multiple; }

// Rows of the micro-tile starting at row `ir` when M rows are cut into the fewest tiles of at
// most kMR rows, as evenly as possible: 16 rows run as 8 + 8, not 12 + 4, because a short tile
// is load-bound (its broadcasts per FMA double).
int balanced_rows(int64_t M, int64_t ir) {
  const int64_t tiles = (M + kMR - 1) / kMR;
  const int64_t base = M / tiles, extra = M % tiles;
  // The first `extra` tiles get base + 1 rows.
  const int64_t tile = ir < extra * (base + 1) ? ir / (base + 1)
                                               : extra + (ir - extra * (base + 1)) / base;
  return static_cast<int>(tile < extra ? base + 1 : base);
}

// GEMMs whose operands sit in L2 skip the cache blocking and read A, and B when it is not
// transposed, in place: for the small matrices of LeNet-sized layers, packing costs more than
// the arithmetic. Only transposed B and B's ragged last panel are packed.
void gemm_in_place(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                   const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                   int64_t ldc) {
  const int64_t full_cols = N / kNR * kNR;
  float* packed_b = nullptr;
  if (trans_b) {
    packed_b = thread_scratch(ScratchSlot::GemmPackB, K * round_up(N, kNR));
    pack_b(true, B, ldb, 0, 0, K, N, packed_b);
  } else if (full_cols < N) {
    packed_b = thread_scratch(ScratchSlot::GemmPackB, K * kNR);
    pack_b(false, B, ldb, 0, full_cols, K, N - full_cols, packed_b);
  }
  for (int64_t jr = 0; jr < N; jr += kNR) {
    const int cols = static_cast<int>(std::min<int64_t>(kNR, N - jr));
    TileOperands op{};
    op.b = trans_b ? packed_b + jr * K : jr < full_cols ? B + jr : packed_b;
    op.b_stride = trans_b || jr >= full_cols ? kNR : ldb;
    op.lda = lda;
    for (int64_t ir = 0, rows = 0; ir < M; ir += rows) {
      rows = balanced_rows(M, ir);
      float* c = C + ir * ldc + jr;
      if (trans_a) {
        op.a = A + ir;
        run_micro_kernel<ALayout::ColMajor>(rows, cols, K, op, c, ldc, alpha, beta);
      } else {
        op.a = A + ir * lda;
        run_micro_kernel<ALayout::RowMajor>(rows, cols, K, op, c, ldc, alpha, beta);
      }
    }
  }
}

// One thread's GEMM on a block of C; the packing buffers are this thread's, reused across calls.
void gemm_single_thread(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                        const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                        float* C, int64_t ldc) {
  if ((M + N) * K <= kInPlaceFloats) {
    gemm_in_place(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  const int64_t kc_max = std::min(kKC, K);
  float* packed_b =
      thread_scratch(ScratchSlot::GemmPackB, kc_max * round_up(std::min(kNC, N), kNR));
  float* packed_a =
      thread_scratch(ScratchSlot::GemmPackA, kc_max * round_up(std::min(kMC, M), kMR));
  for (int64_t jc = 0; jc < N; jc += kNC) {
    const int64_t nc = std::min(kNC, N - jc);
    for (int64_t pc = 0; pc < K; pc += kKC) {
      const int64_t kc = std::min(kKC, K - pc);
      const float block_beta = pc == 0 ? beta : 1.0f;
      pack_b(trans_b, B, ldb, pc, jc, kc, nc, packed_b);
      for (int64_t ic = 0; ic < M; ic += kMC) {
        const int64_t mc = std::min(kMC, M - ic);
        pack_a(trans_a, A, lda, ic, pc, mc, kc, packed_a);
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const int cols = static_cast<int>(std::min<int64_t>(kNR, nc - jr));
          TileOperands op{};
          op.b = packed_b + jr * kc;
          op.b_stride = kNR;
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            const int rows = static_cast<int>(std::min<int64_t>(kMR, mc - ir));
            op.a = packed_a + ir * kc;
            run_micro_kernel<ALayout::Packed>(rows, cols, kc, op, C + (ic + ir) * ldc + jc + jr,
                                              ldc, alpha, block_beta);
          }
        }
      }
    }
  }
}

void scale_matrix(float* C, int64_t M, int64_t N, int64_t ldc, float beta) {
  for (int64_t i = 0; i < M; ++i) {
    float* row = C + i * ldc;
    if (beta == 0.0f)
      std::fill(row, row + N, 0.0f);
    else
      for (int64_t j = 0; j < N; ++j) row[j] *= beta;
  }
}

// Fraction of thread-slots doing useful work when `tiles` tiles are dealt to `threads` threads.
double split_efficiency(int64_t tiles, int threads) {
  const int64_t per_thread = (tiles + threads - 1) / threads;
  return static_cast<double>(tiles) / static_cast<double>(per_thread * threads);
}

}  // namespace

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    scale_matrix(C, M, N, ldc, beta);
    return;
  }
  const int64_t m_tiles = (M + kMR - 1) / kMR;
  const int64_t n_tiles = (N + kNR - 1) / kNR;
  int threads = detail::threads_for(M * N * K, kParallelMacs);
  threads = static_cast<int>(std::min<int64_t>(threads, std::max(m_tiles, n_tiles)));
  if (threads <= 1) {
    gemm_single_thread(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // Each thread owns a slab of C and packs what it needs itself: the duplicated packing of the
  // other operand is small next to the slab's arithmetic, and no synchronisation is needed.
  const double m_eff = split_efficiency(m_tiles, threads);
  const double n_eff = split_efficiency(n_tiles, threads);
  const bool split_n = n_eff > m_eff || (n_eff == m_eff && N >= M);
  const int64_t tiles = split_n ? n_tiles : m_tiles;
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num();
    const int64_t nt = omp_get_num_threads();
    const int64_t first = tiles * t / nt, last = tiles * (t + 1) / nt;
    if (split_n) {
      const int64_t j0 = first * kNR, j1 = std::min(N, last * kNR);
      if (j1 > j0)
        gemm_single_thread(trans_a, trans_b, M, j1 - j0, K, alpha, A, lda,
                           trans_b ? B + j0 * ldb : B + j0, ldb, beta, C + j0, ldc);
    } else {
      const int64_t i0 = first * kMR, i1 = std::min(M, last * kMR);
      if (i1 > i0)
        gemm_single_thread(trans_a, trans_b, i1 - i0, N, K, alpha,
                           trans_a ? A + i0 : A + i0 * lda, lda, B, ldb, beta, C + i0 * ldc, ldc);
    }
  }
}

namespace detail {

void gemm_offset_b(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                   const float* b_base, const int64_t* b_offsets, float beta, float* C,
                   int64_t ldc) {
  TileOperands op{};
  op.lda = lda;
  op.b_offsets = b_offsets;
  for (int64_t jr = 0; jr < N; jr += kNR) {
    const int cols = static_cast<int>(std::min<int64_t>(kNR, N - jr));
    op.b = b_base + jr;
    for (int64_t ir = 0, rows = 0; ir < M; ir += rows) {
      rows = balanced_rows(M, ir);
      op.a = A + ir * lda;
      run_micro_kernel<ALayout::RowMajor, true>(rows, cols, K, op, C + ir * ldc + jr, ldc, 1.0f,
                                                beta);
    }
  }
}

void gemm_offset_columns(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                         const float* b_base, const int64_t* b_offsets, float beta, float* C,
                         int64_t ldc) {
  float* panel = thread_scratch(ScratchSlot::GemmPackB, K * kNR);
  TileOperands op{};
  op.lda = lda;
  op.b = panel;
  op.b_stride = kNR;
  for (int64_t jr = 0; jr < N; jr += kNR) {
    const int cols = static_cast<int>(std::min<int64_t>(kNR, N - jr));
    const float* rows[kNR];
    for (int c = 0; c < cols; ++c) rows[c] = b_base + b_offsets[jr + c];
    transpose_into_panel(rows, cols, K, panel);
    for (int64_t ir = 0, rows_here = 0; ir < M; ir += rows_here) {
      rows_here = balanced_rows(M, ir);
      op.a = A + ir * lda;
      run_micro_kernel<ALayout::RowMajor>(rows_here, cols, K, op, C + ir * ldc + jr, ldc, 1.0f,
                                          beta);
    }
  }
}

void gemm_offset_a_bt(int64_t M, int64_t N, int64_t K, const float* a_base,
                      const int64_t* a_offsets, const float* B, int64_t ldb, float beta,
                      float* C, int64_t ldc) {
  float* packed_b = thread_scratch(ScratchSlot::GemmPackB, K * round_up(N, kNR));
  pack_b(true, B, ldb, 0, 0, K, N, packed_b);
  TileOperands op{};
  op.a = a_base;
  op.b_stride = kNR;
  for (int64_t jr = 0; jr < N; jr += kNR) {
    const int cols = static_cast<int>(std::min<int64_t>(kNR, N - jr));
    op.b = packed_b + jr * K;
    for (int64_t ir = 0, rows = 0; ir < M; ir += rows) {
      rows = balanced_rows(M, ir);
      op.a_offsets = a_offsets + ir;
      run_micro_kernel<ALayout::OffsetRows>(rows, cols, K, op, C + ir * ldc + jr, ldc, 1.0f,
                                            beta);
    }
  }
}

}  // namespace detail
}  // namespace dlcore::kernels::cpu
