// The tiled SGEMM core shared by gemm.cu and the implicit-GEMM convolutions in conv.cu.
// C[M, N] = A[M, K] B[K, N], where "A" and "B" are Sources that say how element (i, k) is fetched
// (a plain matrix, an im2col view of an image, ...) and an Epilogue says where C[m, n] goes. The
// kernel never sees a materialised im2col matrix, so convolutions need no workspace.
//
// Design: 256 threads (16 x 16) own a TILE x TILE block of C (TILE = 128 with 8x8 per thread, or
// 64 with 4x4 for small problems). Each step stages a TILE x 8 slice of A and an 8 x TILE slice of
// B in shared memory (stored k-major, rows padded by 4 floats so transposing stores hit distinct
// banks), double-buffered: the next slice is fetched into registers while the current one is
// multiplied, one __syncthreads per step. A thread's micro-tile rows are ty*4 + {0..3} (+64),
// columns tx*4 + {0..3} (+64), so it reads its fragments as float4 without bank conflicts.
// Long reductions are split over blockIdx.z (split-K) into a workspace and summed by a second,
// deterministic kernel.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda_check.h"

namespace dlcore::cuda::tiled_gemm {

constexpr int kThreads = 256;
constexpr int kTileK = 8;
constexpr int kPad = 4;

template <int TILE>
using SharedTile = float[kTileK][TILE + kPad];

// Which (i, k) of a kTileK x TILE slice thread t fetches as its e-th element. AlongI: a warp reads
// consecutive i (for sources contiguous in i); otherwise consecutive k, 8 per i.
template <int TILE, bool AlongI>
struct ElementMapping {
  static constexpr int kPerThread = TILE * kTileK / kThreads;
  __device__ static int i_of(int t, int e) {
    return AlongI ? t % TILE : t / kTileK + e * (kThreads / kTileK);
  }
  __device__ static int k_of(int t, int e) {
    return AlongI ? t / TILE + e * (kThreads / TILE) : t % kTileK;
  }
};

// A dense matrix seen as elements (i, k): base[k*ld + i] when AlongI, base[i*ld + k] otherwise.
// group_stride moves base to the group's block (grouped convolutions); 0 for plain GEMM.
template <bool AlongI>
struct MatrixSource {
  static constexpr bool kAlongI = AlongI;
  using ICoord = int64_t;
  using KCoord = int64_t;
  const float* base;
  int64_t ld;
  int64_t group_stride;
  __device__ void set_group(int group) { base += group * group_stride; }
  __device__ int64_t at_i(int i) const { return AlongI ? i : i * ld; }
  __device__ int64_t at_k(int k) const { return AlongI ? k * ld : k; }
  __device__ float load(int64_t i_part, int64_t k_part) const { return base[i_part + k_part]; }
};

// Fetches any Source element by element. The i-dependent part of each address is computed once
// per block, the k-dependent part once per fetched k, which keeps index arithmetic off the FMAs.
template <int TILE, class SourceT>
struct ElementLoader {
  using Source = SourceT;
  using Map = ElementMapping<TILE, Source::kAlongI>;
  static constexpr int E = Map::kPerThread;

  Source source;
  typename Source::ICoord i_coord[E];
  bool i_valid[E];
  float values[E];

  __device__ ElementLoader(const Source& s, int group, int i0, int extent) : source(s) {
    source.set_group(group);
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const int i = i0 + Map::i_of(threadIdx.x, e);
      i_valid[e] = i < extent;
      i_coord[e] = source.at_i(i_valid[e] ? i : i0);
    }
  }

  __device__ void fetch(int k0, int k_end) {
    if constexpr (Source::kAlongI) {
#pragma unroll
      for (int e = 0; e < E; ++e) {
        const int k = k0 + Map::k_of(threadIdx.x, e);
        values[e] = (k < k_end && i_valid[e]) ? source.load(i_coord[e], source.at_k(k)) : 0.0f;
      }
    } else {
      const int k = k0 + Map::k_of(threadIdx.x, 0);  // the same k for all of this thread's elements
      const bool k_valid = k < k_end;
      const typename Source::KCoord k_coord = source.at_k(k_valid ? k : k0);
#pragma unroll
      for (int e = 0; e < E; ++e)
        values[e] = (k_valid && i_valid[e]) ? source.load(i_coord[e], k_coord) : 0.0f;
    }
  }

  __device__ void stash(SharedTile<TILE>& tile) const {
#pragma unroll
    for (int e = 0; e < E; ++e) tile[Map::k_of(threadIdx.x, e)][Map::i_of(threadIdx.x, e)] = values[e];
  }
};

// A dense matrix fetched as float4. Needs a 16-byte aligned base, ld % 4 == 0 and
// group_stride % 4 == 0; slices that run past the matrix fall back to guarded scalar loads.
template <int TILE, bool AlongI>
struct VectorLoader {
  using Source = MatrixSource<AlongI>;
  static constexpr int kVectors = TILE * kTileK / 4;  // float4s per slice: 2 * TILE <= kThreads
  // AlongI: thread t covers i = 4*(t % (TILE/4)) .. +3 at k = t / (TILE/4); otherwise
  // k = 4*(t % 2) .. +3 at i = t / 2.
  Source source;
  int i, k_offset, extent;
  bool active;
  float4 value;

  __device__ VectorLoader(const Source& s, int group, int i0, int extent_) : source(s) {
    source.set_group(group);
    const int t = threadIdx.x;
    active = t < kVectors;
    i = i0 + (AlongI ? 4 * (t % (TILE / 4)) : t / 2);
    k_offset = AlongI ? t / (TILE / 4) : 4 * (t % 2);
    extent = extent_;
    value = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  }

  __device__ void fetch(int k0, int k_end) {
    if (!active) return;
    const int k = k0 + k_offset;
    const float* p = source.base + (AlongI ? k * source.ld + i : i * source.ld + k);
    const bool whole = AlongI ? (k < k_end && i + 3 < extent) : (i < extent && k + 3 < k_end);
    if (whole) {
      value = *reinterpret_cast<const float4*>(p);
      return;
    }
    float v[4];
#pragma unroll
    for (int c = 0; c < 4; ++c) {
      const bool inside = AlongI ? (k < k_end && i + c < extent) : (i < extent && k + c < k_end);
      v[c] = inside ? p[c] : 0.0f;
    }
    value = make_float4(v[0], v[1], v[2], v[3]);
  }

  __device__ void stash(SharedTile<TILE>& tile) const {
    if (!active) return;
    const int t = threadIdx.x;
    if constexpr (AlongI) {
      *reinterpret_cast<float4*>(&tile[t / (TILE / 4)][4 * (t % (TILE / 4))]) = value;
    } else {
      const int row = t / 2, k = 4 * (t % 2);
      tile[k + 0][row] = value.x;
      tile[k + 1][row] = value.y;
      tile[k + 2][row] = value.z;
      tile[k + 3][row] = value.w;
    }
  }
};

struct Problem {
  int M, N, K;
  int splits;       // blockIdx.z = group * splits + split
  int k_per_split;  // a multiple of kTileK, so vector loads stay aligned
  float* partial;   // [groups * splits, M, N] when splits > 1
};

template <int TM, class ALoader, class BLoader, class Epilogue>
__global__ void __launch_bounds__(kThreads, TM == 8 ? 2 : 4)
    tiled_gemm_kernel(typename ALoader::Source a_source, typename BLoader::Source b_source,
                      Epilogue epilogue, Problem problem) {
  constexpr int TILE = 16 * TM;
  constexpr int kChunks = TM / 4;  // float4 chunks per micro-tile side, 64 apart
  __shared__ __align__(16) SharedTile<TILE> a_tiles[2];
  __shared__ __align__(16) SharedTile<TILE> b_tiles[2];

  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const int group = blockIdx.z / problem.splits;
  const int split = blockIdx.z % problem.splits;
  const int m0 = blockIdx.y * TILE, n0 = blockIdx.x * TILE;
  const int k_begin = split * problem.k_per_split;
  const int k_end = min(problem.K, k_begin + problem.k_per_split);

  ALoader a(a_source, group, m0, problem.M);
  BLoader b(b_source, group, n0, problem.N);
  float acc[TM][TM];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TM; ++j) acc[i][j] = 0.0f;

  if (k_begin < k_end) {
    a.fetch(k_begin, k_end);
    b.fetch(k_begin, k_end);
    a.stash(a_tiles[0]);
    b.stash(b_tiles[0]);
    __syncthreads();
    int buffer = 0;
    for (int k0 = k_begin; k0 < k_end; k0 += kTileK) {
      const bool more = k0 + kTileK < k_end;
      if (more) {
        a.fetch(k0 + kTileK, k_end);
        b.fetch(k0 + kTileK, k_end);
      }
#pragma unroll
      for (int kk = 0; kk < kTileK; ++kk) {
        float a_frag[TM], b_frag[TM];
#pragma unroll
        for (int c = 0; c < kChunks; ++c) {
          const float4 av = *reinterpret_cast<const float4*>(&a_tiles[buffer][kk][c * 64 + ty * 4]);
          const float4 bv = *reinterpret_cast<const float4*>(&b_tiles[buffer][kk][c * 64 + tx * 4]);
          a_frag[c * 4 + 0] = av.x;
          a_frag[c * 4 + 1] = av.y;
          a_frag[c * 4 + 2] = av.z;
          a_frag[c * 4 + 3] = av.w;
          b_frag[c * 4 + 0] = bv.x;
          b_frag[c * 4 + 1] = bv.y;
          b_frag[c * 4 + 2] = bv.z;
          b_frag[c * 4 + 3] = bv.w;
        }
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TM; ++j) acc[i][j] = fmaf(a_frag[i], b_frag[j], acc[i][j]);
      }
      if (more) {  // uniform across the block, so the barrier is safe
        a.stash(a_tiles[buffer ^ 1]);
        b.stash(b_tiles[buffer ^ 1]);
        __syncthreads();
        buffer ^= 1;
      }
    }
  }

#pragma unroll
  for (int c = 0; c < kChunks; ++c)
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int m = m0 + c * 64 + ty * 4 + r;
      if (m >= problem.M) continue;
#pragma unroll
      for (int d = 0; d < kChunks; ++d) {
        const int n = n0 + d * 64 + tx * 4;
        if (n >= problem.N) continue;
        const float4 v = make_float4(acc[c * 4 + r][d * 4 + 0], acc[c * 4 + r][d * 4 + 1],
                                     acc[c * 4 + r][d * 4 + 2], acc[c * 4 + r][d * 4 + 3]);
        if (problem.splits == 1) {
          epilogue.store4(group, m, n, v, problem.N);
        } else {
          float* out = problem.partial +
                       (static_cast<int64_t>(blockIdx.z) * problem.M + m) * problem.N + n;
          out[0] = v.x;
          if (n + 1 < problem.N) out[1] = v.y;
          if (n + 2 < problem.N) out[2] = v.z;
          if (n + 3 < problem.N) out[3] = v.w;
        }
      }
    }
}

// Sums the split-K partials of every C element in a fixed order and hands them to the epilogue.
template <class Epilogue>
__global__ void split_k_reduce_kernel(const float* partial, Epilogue epilogue, int M, int N,
                                      int splits, int groups) {
  const int64_t plane = static_cast<int64_t>(M) * N;
  const int64_t total = plane * groups;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int group = static_cast<int>(i / plane);
    const int64_t within = i - group * plane;
    const float* p = partial + static_cast<int64_t>(group) * splits * plane + within;
    float sum = 0.0f;
    for (int s = 0; s < splits; ++s) sum += p[s * plane];
    epilogue.store(group, static_cast<int>(within / N), static_cast<int>(within % N), sum);
  }
}

// Epilogue helper for outputs without a vector path: four guarded scalar stores.
template <class Epilogue>
__device__ inline void store4_scalar(const Epilogue& e, int group, int m, int n, float4 v, int N) {
  e.store(group, m, n, v.x);
  if (n + 1 < N) e.store(group, m, n + 1, v.y);
  if (n + 2 < N) e.store(group, m, n + 2, v.z);
  if (n + 3 < N) e.store(group, m, n + 3, v.w);
}

// C[m*ldc + n] (+ group * group_stride) = alpha * acc + beta * C; C is not read when beta == 0,
// so it may hold garbage (or NaN) on entry, as BLAS allows.
struct MatrixEpilogue {
  float* C;
  int64_t ldc;
  int64_t group_stride;
  float alpha, beta;
  bool vector_ok;  // C 16-byte aligned, ldc and group_stride multiples of 4

  __device__ float combine(float acc, const float* c) const {
    return beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
  }
  __device__ void store(int group, int m, int n, float acc) const {
    float* c = C + group * group_stride + m * ldc + n;
    *c = combine(acc, c);
  }
  __device__ void store4(int group, int m, int n, float4 v, int N) const {
    float* c = C + group * group_stride + m * ldc + n;
    if (vector_ok && n + 3 < N) {
      float4 out;
      if (beta == 0.0f) {
        out = make_float4(alpha * v.x, alpha * v.y, alpha * v.z, alpha * v.w);
      } else {
        const float4 old = *reinterpret_cast<const float4*>(c);
        out = make_float4(alpha * v.x + beta * old.x, alpha * v.y + beta * old.y,
                          alpha * v.z + beta * old.z, alpha * v.w + beta * old.w);
      }
      *reinterpret_cast<float4*>(c) = out;
    } else {
      store4_scalar(*this, group, m, n, v, N);
    }
  }
};

// ---- host side: tile size, split-K and the launch --------------------------------------------

constexpr int kMinKPerSplit = 256;              // below this a split is not worth its partials
constexpr int64_t kMaxPartialFloats = 1 << 26;  // split-K workspace cap: 256 MiB

template <int TM, class ALoader, class BLoader, class Epilogue>
void launch_with_tile(const typename ALoader::Source& a, const typename BLoader::Source& b,
                      const Epilogue& epilogue, int M, int N, int K, int groups,
                      const char* op_name) {
  constexpr int TILE = 16 * TM;
  const int64_t tiles_m = (M + TILE - 1) / TILE, tiles_n = (N + TILE - 1) / TILE;
  const int64_t blocks = tiles_m * tiles_n * groups;
  const int64_t multiprocessors = multiprocessor_count();
  Problem problem{M, N, K, 1, (std::max(K, 1) + kTileK - 1) / kTileK * kTileK, nullptr};
  // Too few output tiles to fill the GPU and a long reduction: split K across more blocks.
  if (blocks < multiprocessors && K >= 2 * kMinKPerSplit) {
    int64_t splits = std::min<int64_t>((2 * multiprocessors + blocks - 1) / blocks, K / kMinKPerSplit);
    splits = std::min<int64_t>(splits, 65535 / groups);
    splits = std::min<int64_t>(splits, kMaxPartialFloats / (static_cast<int64_t>(groups) * M * N));
    if (splits > 1) {
      const int64_t per_split = ((K + splits - 1) / splits + kTileK - 1) / kTileK * kTileK;
      problem.k_per_split = static_cast<int>(per_split);
      problem.splits = static_cast<int>((K + per_split - 1) / per_split);
    }
  }
  if (tiles_m > 65535 || static_cast<int64_t>(groups) * problem.splits > 65535)
    throw std::runtime_error(std::string(op_name) + ": problem too large for one launch (M=" +
                             std::to_string(M) + ", groups=" + std::to_string(groups) +
                             ") exceeds CUDA's grid limit of 65535 blocks in y and z");
  const dim3 grid(static_cast<unsigned int>(tiles_n), static_cast<unsigned int>(tiles_m),
                  static_cast<unsigned int>(groups * problem.splits));
  if (problem.splits == 1) {
    tiled_gemm_kernel<TM, ALoader, BLoader, Epilogue>
        <<<grid, kThreads, 0, stream()>>>(a, b, epilogue, problem);
    DLCORE_CUDA_CHECK_LAUNCH(op_name);
    return;
  }
  const int64_t partial_floats = static_cast<int64_t>(groups) * problem.splits * M * N;
  const Workspace partial(partial_floats * sizeof(float));
  problem.partial = partial.as<float>();
  tiled_gemm_kernel<TM, ALoader, BLoader, Epilogue>
      <<<grid, kThreads, 0, stream()>>>(a, b, epilogue, problem);
  DLCORE_CUDA_CHECK_LAUNCH(op_name);
  const int64_t outputs = static_cast<int64_t>(groups) * M * N;
  split_k_reduce_kernel<Epilogue><<<grid_stride_blocks(outputs, kThreads), kThreads, 0, stream()>>>(
      problem.partial, epilogue, M, N, problem.splits, groups);
  DLCORE_CUDA_CHECK_LAUNCH(op_name);
}

// Runs C = A B for every group with ALoaderT<TILE> / BLoaderT<TILE> fetching the operands. The
// 128 x 128 tile (8x8 per thread) is the fast one; the 64 x 64 tile (4x4) wastes less on thin
// matrices and gives more blocks when the output is small.
template <template <int> class ALoaderT, template <int> class BLoaderT, class Epilogue>
void run(const typename ALoaderT<64>::Source& a, const typename BLoaderT<64>::Source& b,
         const Epilogue& epilogue, int M, int N, int K, int groups, const char* op_name) {
  if (M <= 0 || N <= 0 || groups <= 0) return;
  const int64_t large_blocks = static_cast<int64_t>((M + 127) / 128) * ((N + 127) / 128) * groups;
  if (M > 64 && N > 64 && large_blocks >= multiprocessor_count()) {
    launch_with_tile<8, ALoaderT<128>, BLoaderT<128>>(a, b, epilogue, M, N, K, groups, op_name);
  } else {
    launch_with_tile<4, ALoaderT<64>, BLoaderT<64>>(a, b, epilogue, M, N, K, groups, op_name);
  }
}

}  // namespace dlcore::cuda::tiled_gemm
