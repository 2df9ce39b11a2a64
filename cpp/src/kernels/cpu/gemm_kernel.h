// The register-tiled SGEMM micro-kernel and the packing routines, shared by gemm.cpp's drivers.
// Internal to cpp/src/kernels/cpu: a GCC/Clang vector-extension kernel with FMA intrinsics only
// where the target has them, and a plain-C++ fallback everywhere else.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace dlcore::kernels::cpu::detail {

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
// Operands up to this many floats together (512 KiB) are read in place, unpacked.
constexpr int64_t kInPlaceFloats = 1 << 17;
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

// How the micro-kernel finds A[r][k]: in a packed panel, in row-major A (rows lda apart), in
// column-major A (op(A) = A^T: k rows lda apart), or in rows at arbitrary offsets from a base
// (convolution windows). Small problems read A where it lies.
enum class ALayout { Packed, RowMajor, ColMajor, OffsetRows };

// The operands of one micro-tile. B row k starts at b + k * b_stride, or at
// b + b_offsets[k] when the kernel is instantiated for offset rows.
struct TileOperands {
  const float* a;
  int64_t lda;
  const int64_t* a_offsets;
  const float* b;
  int64_t b_stride;
  const int64_t* b_offsets;
};

// C[0:ROWS, 0:cols] = alpha * A[0:ROWS, 0:kc] B[0:kc, 0:cols] + beta * C, with cols <= NV lanes.
// Every B row must be readable for NV full vectors (packed, in bounds, or padded by the caller).
template <int ROWS, int NV, ALayout LA, bool B_OFFSETS>
void micro_kernel(int64_t kc, TileOperands op, float* c, int64_t ldc, int cols, float alpha,
                  float beta) {
  const float* a_rows[ROWS];
  if constexpr (LA == ALayout::OffsetRows)
    for (int r = 0; r < ROWS; ++r) a_rows[r] = op.a + op.a_offsets[r];
  VecF acc[ROWS][NV];
#pragma GCC unroll 16
  for (int r = 0; r < ROWS; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = VecF{};
  for (int64_t k = 0; k < kc; ++k) {
    const float* b_row = B_OFFSETS ? op.b + op.b_offsets[k] : op.b + k * op.b_stride;
    VecF bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = load_unaligned(b_row + v * kLanes);
#pragma GCC unroll 16
    for (int r = 0; r < ROWS; ++r) {
      const float* a_ptr;
      if constexpr (LA == ALayout::Packed) a_ptr = op.a + k * kMR + r;
      if constexpr (LA == ALayout::RowMajor) a_ptr = op.a + r * op.lda + k;
      if constexpr (LA == ALayout::ColMajor) a_ptr = op.a + k * op.lda + r;
      if constexpr (LA == ALayout::OffsetRows) a_ptr = a_rows[r] + k;
      const VecF av = broadcast(a_ptr);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = fma_vec(av, bv[v], acc[r][v]);
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

using MicroKernel = void (*)(int64_t, TileOperands, float*, int64_t, int, float, float);

template <int NV, ALayout LA, bool B_OFFSETS, int... Rows>
constexpr auto make_kernel_table(std::integer_sequence<int, Rows...>) {
  return std::array<MicroKernel, sizeof...(Rows)>{&micro_kernel<Rows + 1, NV, LA, B_OFFSETS>...};
}

template <ALayout LA, bool B_OFFSETS>
struct KernelTables {
  static constexpr auto kOneVec =
      make_kernel_table<1, LA, B_OFFSETS>(std::make_integer_sequence<int, kMR>{});
  static constexpr auto kTwoVec =
      make_kernel_table<2, LA, B_OFFSETS>(std::make_integer_sequence<int, kMR>{});
};

// Edge tiles get a kernel sized to the rows and vectors actually present, so a 6-row GEMM does
// not pay for kMR rows.
template <ALayout LA, bool B_OFFSETS = false>
void run_micro_kernel(int rows, int cols, int64_t kc, const TileOperands& op, float* c,
                      int64_t ldc, float alpha, float beta) {
  static_assert(kVecsPerRow == 2, "the dispatch below knows one- and two-vector tiles");
  const auto& table = cols <= kLanes ? KernelTables<LA, B_OFFSETS>::kOneVec
                                     : KernelTables<LA, B_OFFSETS>::kTwoVec;
  table[rows - 1](kc, op, c, ldc, cols, alpha, beta);
}

// Packs op(A)[i0:i0+mc, k0:k0+kc] as consecutive kMR-row panels, each stored k-major.
inline void pack_a(bool trans_a, const float* A, int64_t lda, int64_t i0, int64_t k0, int64_t mc,
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

#if defined(__AVX2__)
// dst[i * dst_stride + j] = rows[j][i] for an 8x8 block, in registers.
inline void transpose_8x8(const float* const* rows, int64_t k, float* dst, int64_t dst_stride) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(rows[i] + k);
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {
    r[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + i * dst_stride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * dst_stride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}
#endif

// A run of zeros that padding columns of a panel can be read from.
inline const float* zero_row(int64_t length) {
  thread_local std::vector<float> zeros;
  if (static_cast<int64_t>(zeros.size()) < length) zeros.assign(length, 0.0f);
  return zeros.data();
}

// panel[k * kNR + c] = rows[c][k] for c < cols <= kNR, k < kc, and zero for c >= cols: the
// transposed-B packing, in 8x8 register blocks where the target has AVX2 (scalar transposes cost
// more than the GEMM itself). Padding columns are transposed from a zero row like real ones.
inline void transpose_into_panel(const float* const* rows, int cols, int64_t kc, float* panel) {
  const float* padded_rows[kNR];
  const float* zeros = cols < kNR ? zero_row(kc) : nullptr;
  for (int c = 0; c < kNR; ++c) padded_rows[c] = c < cols ? rows[c] : zeros;
  int64_t k0 = 0;
#if defined(__AVX2__)
  for (; k0 + 8 <= kc; k0 += 8)
    for (int c = 0; c < kNR; c += 8) transpose_8x8(padded_rows + c, k0, panel + k0 * kNR + c, kNR);
#endif
  for (int64_t k = k0; k < kc; ++k)
    for (int c = 0; c < kNR; ++c) panel[k * kNR + c] = padded_rows[c][k];
}

// Packs op(B)[k0:k0+kc, j0:j0+nc] as consecutive kNR-column panels, zero-padded to kNR columns.
inline void pack_b(bool trans_b, const float* B, int64_t ldb, int64_t k0, int64_t j0, int64_t kc,
            int64_t nc, float* dst) {
  for (int64_t jr = 0; jr < nc; jr += kNR) {
    const int cols = static_cast<int>(std::min<int64_t>(kNR, nc - jr));
    float* panel = dst + jr * kc;
    if (trans_b) {
      const float* rows[kNR];
      for (int c = 0; c < cols; ++c) rows[c] = B + (j0 + jr + c) * ldb + k0;
      transpose_into_panel(rows, cols, kc, panel);
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = B + (k0 + k) * ldb + j0 + jr;
        float* out = panel + k * kNR;
        if (cols == kNR) {
          std::memcpy(out, src, kNR * sizeof(float));
        } else {  // the ragged last panel: short rows, plain loops beat library calls
          for (int c = 0; c < cols; ++c) out[c] = src[c];
          for (int c = cols; c < kNR; ++c) out[c] = 0.0f;
        }
      }
    }
  }
}

}  // namespace dlcore::kernels::cpu::detail

// ---- offset-row GEMMs for convolution (defined in gemm.cpp, single-threaded) ----------------
namespace dlcore::kernels::cpu::detail {

// C[M, N] = A B + beta C with A row-major (lda) and B[k][j] = b_base[b_offsets[k] + j]. Every
// B row is read up to N rounded up to kNR columns, so the caller pads its buffer that far.
void gemm_offset_b(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                   const float* b_base, const int64_t* b_offsets, float beta, float* C,
                   int64_t ldc);

// C[M, N] = A B + beta C with A row-major (lda) and B[k][j] = b_base[b_offsets[j] + k]: column
// j of B is a contiguous run of K floats at its own offset.
void gemm_offset_columns(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                         const float* b_base, const int64_t* b_offsets, float beta, float* C,
                         int64_t ldc);

// C[M, N] = A B^T + beta C with A[i][k] = a_base[a_offsets[i] + k] and B stored [N, K] (ldb).
void gemm_offset_a_bt(int64_t M, int64_t N, int64_t K, const float* a_base,
                      const int64_t* a_offsets, const float* B, int64_t ldb, float beta,
                      float* C, int64_t ldc);

}  // namespace dlcore::kernels::cpu::detail
