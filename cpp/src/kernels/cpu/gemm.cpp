// Single-precision GEMM for the CPU backend: every Linear and Conv2d pass ends here, so it is a
// packed, cache-blocked GEMM with a register-tiled micro-kernel (GCC/Clang vector extensions, FMA
// intrinsics only where the target has them) and OpenMP over independent blocks of C.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "cpu_parallel.h"
#include "dlcore/kernels.h"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace dlcore::kernels::cpu {
namespace {

using detail::ScratchSlot;
using detail::thread_scratch;

#if defined(__AVX512F__)
constexpr int kLanes = 16;
#elif defined(__AVX2__)
constexpr int kLanes = 8;
#else
constexpr int kLanes = 4;
#endif
typedef float VecF __attribute__((vector_size(kLanes * sizeof(float))));

// Micro-tile kMR x kNR of C lives in registers: 24 accumulators for AVX-512 (32 registers) and 12
// for AVX2 (16 registers) leave room for the B vectors and the A broadcast.
constexpr int kVecsPerRow = 2;
constexpr int kNR = kVecsPerRow * kLanes;
#if defined(__AVX512F__)
constexpr int kMR = 12;
#else
constexpr int kMR = 6;
#endif
// Cache blocks: a kKC x kNR panel of B stays in L1 while kMC x kKC of A streams from L2.
constexpr int64_t kKC = 256;
constexpr int64_t kMC = 16 * kMR;
constexpr int64_t kNC = 128 * kNR;
// Below this many multiply-adds one thread beats forking a team.
constexpr int64_t kParallelMacs = 1 << 18;

inline VecF fma_vec(VecF a, VecF b, VecF c) {
#if defined(__AVX512F__)
  return _mm512_fmadd_ps(a, b, c);
#elif defined(__AVX2__) && defined(__FMA__)
  return _mm256_fmadd_ps(a, b, c);
#else
  return a * b + c;
#endif
}

// Splat from memory: on x86 this becomes a load-port broadcast instead of an add and a shuffle.
inline VecF broadcast(const float* p) {
#if defined(__AVX512F__)
  return _mm512_set1_ps(*p);
#elif defined(__AVX2__) && defined(__FMA__)
  return _mm256_set1_ps(*p);
#else
  VecF v;
  for (int i = 0; i < kLanes; ++i) v[i] = *p;
  return v;
#endif
}

inline VecF load_unaligned(const float* p) {
  VecF v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline void store_unaligned(float* p, VecF v) { std::memcpy(p, &v, sizeof(v)); }

// C[0:ROWS, 0:cols] = alpha * (packed A panel) (packed B panel) + beta * C, with cols <= NV lanes.
template <int ROWS, int NV>
void micro_kernel(int64_t kc, const float* __restrict pa, const float* __restrict pb, float* c,
                  int64_t ldc, int cols, float alpha, float beta) {
  VecF acc[ROWS][NV];
#pragma GCC unroll 16
  for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = VecF{};
  for (int64_t k = 0; k < kc; ++k) {
    VecF b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = *reinterpret_cast<const VecF*>(pb + k * kNR + v * kLanes);
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
      const VecF a = broadcast(pa + k * kMR + r);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = fma_vec(a, b[v], acc[r][v]);
    }
  }
  if (cols == NV * kLanes) {
    for (int r = 0; r < ROWS; ++r) {
      float* row = c + r * ldc;
      for (int v = 0; v < NV; ++v) {
        VecF out = acc[r][v] * alpha;
        // beta == 0 must not read C: it may hold NaN garbage (BLAS semantics).
        if (beta != 0.0f) out += load_unaligned(row + v * kLanes) * beta;
        store_unaligned(row + v * kLanes, out);
      }
    }
    return;
  }
  alignas(64) float tile[ROWS][NV * kLanes];
  for (int r = 0; r < ROWS; ++r)
    for (int v = 0; v < NV; ++v) store_unaligned(&tile[r][v * kLanes], acc[r][v]);
  for (int r = 0; r < ROWS; ++r) {
    float* row = c + r * ldc;
    for (int j = 0; j < cols; ++j)
      row[j] = alpha * tile[r][j] + (beta != 0.0f ? beta * row[j] : 0.0f);
  }
}

using MicroKernel = void (*)(int64_t, const float*, const float*, float*, int64_t, int, float,
                             float);

template <int NV, int... Rows>
constexpr auto make_kernel_table(std::integer_sequence<int, Rows...>) {
  return std::array<MicroKernel, sizeof...(Rows)>{&micro_kernel<Rows + 1, NV>...};
}

// Edge tiles get a kernel sized to the rows and vectors actually present, so a 6-row GEMM does
// not pay for kMR rows.
void run_micro_kernel(int rows, int cols, int64_t kc, const float* pa, const float* pb, float* c,
                      int64_t ldc, float alpha, float beta) {
  static constexpr auto kOneVec = make_kernel_table<1>(std::make_integer_sequence<int, kMR>{});
  static constexpr auto kTwoVec = make_kernel_table<2>(std::make_integer_sequence<int, kMR>{});
  static_assert(kVecsPerRow == 2, "the dispatch below knows one- and two-vector tiles");
  const auto& table = cols <= kLanes ? kOneVec : kTwoVec;
  table[rows - 1](kc, pa, pb, c, ldc, cols, alpha, beta);
}

// Packs op(A)[i0:i0+mc, k0:k0+kc] as consecutive kMR-row panels, each stored k-major.
void pack_a(bool trans_a, const float* A, int64_t lda, int64_t i0, int64_t k0, int64_t mc,
            int64_t kc, float* dst) {
  for (int64_t ir = 0; ir < mc; ir += kMR) {
    const int rows = static_cast<int>(std::min<int64_t>(kMR, mc - ir));
    float* panel = dst + ir * kc;
    if (trans_a) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = A + (k0 + k) * lda + i0 + ir;
        for (int r = 0; r < rows; ++r) panel[k * kMR + r] = src[r];
      }
    } else {
      for (int r = 0; r < rows; ++r) {
        const float* src = A + (i0 + ir + r) * lda + k0;
        for (int64_t k = 0; k < kc; ++k) panel[k * kMR + r] = src[k];
      }
    }
  }
}

// Packs op(B)[k0:k0+kc, j0:j0+nc] as consecutive kNR-column panels, zero-padded to kNR columns.
void pack_b(bool trans_b, const float* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc,
            int64_t nc, float* dst) {
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const int cols = static_cast<int>(std::min<int64_t>(kNR, nc - jr));
    float* panel = dst + jr * kc;
    if (trans_b) {
      if (cols < kNR)
        for (int64_t k = 0; k < kc; ++k)
          std::fill(panel + k * kNR + cols, panel + (k + 1) * kNR, 0.0f);
      for (int c = 0; c < cols; ++c) {
        const float* src = B + (j0 + jr + c) * ldb + k0;
        for (int64_t k = 0; k < kc; ++k) panel[k * kNR + c] = src[k];
      }
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = B + (k0 + k) * ldb + j0 + jr;
        float* out = panel + k * kNR;
        std::memcpy(out, src, cols * sizeof(float));
        std::fill(out + cols, out + kNR, 0.0f);
      }
    }
  }
}

int64_t round_up(int64_t x, int64_t multiple) { return (x + multiple - 1) / multiple * multiple; }

// One thread's GEMM on a block of C; the packing buffers are this thread's, reused across calls.
void gemm_single_thread(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                        const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                        float* C, int64_t ldc) {
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
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            const int rows = static_cast<int>(std::min<int64_t>(kMR, mc - ir));
            run_micro_kernel(rows, cols, kc, packed_a + ir * kc, packed_b + jr * kc,
                             C + (ic + ir) * ldc + jc + jr, ldc, alpha, block_beta);
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

}  // namespace dlcore::kernels::cpu
