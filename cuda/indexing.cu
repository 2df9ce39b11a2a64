// CUDA kernels of advanced indexing: the gather and scatter through int64 element offsets that every
// indexing op is lowered to (IndexIter, kernels.h), and nonzero. Scatters that combine (Add,
// Multiply) use atomics: the hardware's atomicAdd for float32, float64, int32 and int64 additions,
// and a compare-and-swap loop for every other dtype and for Multiply (on the aligned 32-bit word
// that holds a 1- or 2-byte element). nonzero keeps torch's row-major order with block scans: each
// block counts its chunk, one block scans the counts, then each block writes its chunk in order.
// Indexing is 64-bit throughout (the CPU's rule), so no size is refused here. Math shared with the
// CPU backend: kernels/index_functors.h.
#include <cstring>

#include "block_reduce.cuh"
#include "cuda_check.h"
#include "dlcore/kernels.h"
#include "kernels/index_functors.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::grid_stride_begin;
using ::dlcore::cuda::grid_stride_blocks;
using ::dlcore::cuda::grid_stride_step;
using ::dlcore::cuda::stream;
using ::dlcore::cuda::Workspace;

constexpr int kThreads = 256;

struct ElementOffsets {
  int64_t data, offset, other;
};

__device__ inline ElementOffsets element_offsets(const IndexIter& it, int64_t i) {
  ElementOffsets o{0, 0, 0};
  for (int d = it.ndim - 1; d >= 0; --d) {
    const int64_t c = i % it.sizes[d];
    i /= it.sizes[d];
    o.data += c * it.data_strides[d];
    o.offset += c * it.offset_strides[d];
    o.other += c * it.other_strides[d];
  }
  return o;
}

template <class T>
__global__ void gather_kernel(const T* data, const int64_t* offsets, T* out, IndexIter it, int64_t n) {
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step()) {
    const ElementOffsets o = element_offsets(it, i);
    out[o.other] = data[o.data + offsets[o.offset]];
  }
}

// *address = combine(*address, value), atomically. Word-sized additions have hardware atomics; the
// rest retries a compare-and-swap on the 64-bit element or on the aligned 32-bit word holding it.
template <ScatterMode Mode, class T>
__device__ inline void atomic_combine(T* address, T value) {
  if constexpr (Mode == ScatterMode::Add && (std::is_same_v<T, float> || std::is_same_v<T, double>)) {
    atomicAdd(address, value);
  } else if constexpr (Mode == ScatterMode::Add && std::is_same_v<T, int32_t>) {
    atomicAdd(reinterpret_cast<int*>(address), static_cast<int>(value));
  } else if constexpr (Mode == ScatterMode::Add && std::is_same_v<T, int64_t>) {
    // Two's complement: an unsigned addition is the signed one, wrapping as the CPU kernel does.
    atomicAdd(reinterpret_cast<unsigned long long*>(address), static_cast<unsigned long long>(value));
  } else if constexpr (sizeof(T) == 8) {
    auto* word = reinterpret_cast<unsigned long long*>(address);
    unsigned long long old = *word, assumed;
    do {
      assumed = old;
      T current;
      memcpy(static_cast<void*>(&current), &assumed, sizeof(T));
      const T next = functors::scatter_combine<Mode>(current, value);
      unsigned long long bits;
      memcpy(&bits, &next, sizeof(T));
      old = atomicCAS(word, assumed, bits);
    } while (old != assumed);
  } else {
    static_assert(sizeof(T) == 4 || sizeof(T) == 2 || sizeof(T) == 1, "element size");
    const uintptr_t at = reinterpret_cast<uintptr_t>(address);
    int* word = reinterpret_cast<int*>(at & ~uintptr_t{3});
    const unsigned shift = static_cast<unsigned>(at & 3u) * 8u;
    unsigned mask = 0xFFFFFFFFu;
    if constexpr (sizeof(T) < 4) mask = ((1u << (8 * sizeof(T))) - 1u) << shift;
    int old = *word, assumed;
    do {
      assumed = old;
      const unsigned current_bits = static_cast<unsigned>(assumed) >> shift;
      T current;
      memcpy(static_cast<void*>(&current), &current_bits, sizeof(T));  // little-endian: the low bytes are the element
      const T next = functors::scatter_combine<Mode>(current, value);
      unsigned next_bits = 0;
      memcpy(&next_bits, &next, sizeof(T));
      const unsigned updated = (static_cast<unsigned>(assumed) & ~mask) | ((next_bits << shift) & mask);
      old = atomicCAS(word, assumed, static_cast<int>(updated));
    } while (old != assumed);
  }
}

template <ScatterMode Mode, class T>
__global__ void scatter_kernel(T* data, const int64_t* offsets, const T* values, IndexIter it, int64_t n) {
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step()) {
    const ElementOffsets o = element_offsets(it, i);
    T* target = data + o.data + offsets[o.offset];
    if constexpr (Mode == ScatterMode::Assign) {
      *target = values[o.other];
    } else {
      atomic_combine<Mode>(target, values[o.other]);
    }
  }
}

// ---- nonzero -----------------------------------------------------------------------------------

constexpr int kScanThreads = 256;  // the block size of the nonzero kernels (the scans assume it)
constexpr int kMaxScanBlocks = kScanThreads;  // so that one block scans the per-block counts

__device__ inline int64_t block_inclusive_scan(int64_t value, int64_t* buffer /* [2 * kScanThreads] */) {
  return ::dlcore::cuda::block_inclusive_scan<kScanThreads>(value, ::dlcore::cuda::SumOp{}, buffer);
}

template <class T>
__global__ void nonzero_count_kernel(const T* x, int64_t n, int64_t chunk, int64_t* counts) {
  __shared__ int64_t buffer[2 * kScanThreads];
  const int64_t begin = static_cast<int64_t>(blockIdx.x) * chunk;
  const int64_t end = begin + chunk < n ? begin + chunk : n;
  int64_t count = 0;
  for (int64_t i = begin + threadIdx.x; i < end; i += kScanThreads) count += functors::is_nonzero(x[i]) ? 1 : 0;
  const int64_t total = block_inclusive_scan(count, buffer);
  if (threadIdx.x == kScanThreads - 1) counts[blockIdx.x] = total;
}

// One block: starts[b] = counts[0] + ... + counts[b - 1].
__global__ void nonzero_starts_kernel(const int64_t* counts, int64_t* starts, int blocks) {
  __shared__ int64_t buffer[2 * kScanThreads];
  const int t = threadIdx.x;
  const int64_t mine = t < blocks ? counts[t] : 0;
  const int64_t inclusive = block_inclusive_scan(mine, buffer);
  if (t < blocks) starts[t] = inclusive - mine;
}

// One block: *total = counts[0] + ... + counts[blocks - 1].
__global__ void nonzero_total_kernel(const int64_t* counts, int64_t* total, int blocks) {
  __shared__ int64_t buffer[2 * kScanThreads];
  const int t = threadIdx.x;
  const int64_t inclusive = block_inclusive_scan(t < blocks ? counts[t] : 0, buffer);
  if (t == kScanThreads - 1) *total = inclusive;
}

template <class T>
__global__ void nonzero_write_kernel(const T* x, int64_t n, int64_t chunk, const int64_t* starts, int64_t* out,
                                     NonzeroShape s) {
  __shared__ int64_t buffer[2 * kScanThreads];
  __shared__ int64_t tile_total;
  const int64_t begin = static_cast<int64_t>(blockIdx.x) * chunk;
  const int64_t end = begin + chunk < n ? begin + chunk : n;
  int64_t row = starts[blockIdx.x];
  for (int64_t tile = begin; tile < end; tile += kScanThreads) {  // the same trip count in every thread
    const int64_t i = tile + threadIdx.x;
    const int64_t flag = i < end && functors::is_nonzero(x[i]) ? 1 : 0;
    const int64_t inclusive = block_inclusive_scan(flag, buffer);
    if (flag) {
      int64_t* coords = out + (row + inclusive - 1) * s.ndim;
      int64_t rest = i;
      for (int d = s.ndim - 1; d >= 0; --d) {
        coords[d] = rest % s.sizes[d];
        rest /= s.sizes[d];
      }
    }
    if (threadIdx.x == kScanThreads - 1) tile_total = inclusive;
    __syncthreads();
    row += tile_total;
    __syncthreads();  // everyone has read tile_total before the next tile writes it
  }
}

}  // namespace

void index_gather(DType dtype, const void* data, const int64_t* offsets, void* out, const IndexIter& it) {
  const int64_t n = it.numel();
  if (n == 0) return;
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    gather_kernel<T><<<grid_stride_blocks(n, kThreads), kThreads, 0, stream()>>>(
        static_cast<const T*>(data), offsets, static_cast<T*>(out), it, n);
  });
  DLCORE_CUDA_CHECK_LAUNCH("index_gather");
}

void index_scatter(DType dtype, void* data, const int64_t* offsets, const void* values, const IndexIter& it,
                   ScatterMode mode) {
  const int64_t n = it.numel();
  if (n == 0) return;
  const unsigned int blocks = grid_stride_blocks(n, kThreads);
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* d = static_cast<T*>(data);
    const T* v = static_cast<const T*>(values);
    switch (mode) {
      case ScatterMode::Assign:
        scatter_kernel<ScatterMode::Assign, T><<<blocks, kThreads, 0, stream()>>>(d, offsets, v, it, n);
        break;
      case ScatterMode::Add:
        scatter_kernel<ScatterMode::Add, T><<<blocks, kThreads, 0, stream()>>>(d, offsets, v, it, n);
        break;
      case ScatterMode::Multiply:
        scatter_kernel<ScatterMode::Multiply, T><<<blocks, kThreads, 0, stream()>>>(d, offsets, v, it, n);
        break;
    }
  });
  DLCORE_CUDA_CHECK_LAUNCH("index_scatter");
}

namespace {
// Chunks of at least a few tiles per block, and at most kMaxScanBlocks blocks.
struct NonzeroGrid {
  int64_t blocks, chunk;
  explicit NonzeroGrid(int64_t n) {
    blocks = (n + 4 * kScanThreads - 1) / (4 * kScanThreads);
    if (blocks > kMaxScanBlocks) blocks = kMaxScanBlocks;
    chunk = (n + blocks - 1) / blocks;
  }
};
}  // namespace

void nonzero_count(DType dtype, const void* x, int64_t* count, const NonzeroShape& s) {
  const int64_t n = s.numel();
  if (n == 0) {
    ::dlcore::cuda::memset_zero(count, sizeof(int64_t));
    return;
  }
  const NonzeroGrid g(n);
  Workspace workspace(static_cast<size_t>(g.blocks) * sizeof(int64_t));
  int64_t* counts = workspace.as<int64_t>();
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    nonzero_count_kernel<T><<<static_cast<unsigned int>(g.blocks), kScanThreads, 0, stream()>>>(
        static_cast<const T*>(x), n, g.chunk, counts);
  });
  DLCORE_CUDA_CHECK_LAUNCH("nonzero_count");
  nonzero_total_kernel<<<1, kScanThreads, 0, stream()>>>(counts, count, static_cast<int>(g.blocks));
  DLCORE_CUDA_CHECK_LAUNCH("nonzero_count (total)");
}

void nonzero(DType dtype, const void* x, int64_t* out, const NonzeroShape& s) {
  const int64_t n = s.numel();
  if (n == 0 || s.ndim == 0) return;  // nothing to write: no rows, or rows of no coordinates
  const NonzeroGrid g(n);
  const int64_t blocks = g.blocks, chunk = g.chunk;
  Workspace workspace(2 * static_cast<size_t>(blocks) * sizeof(int64_t));
  int64_t* counts = workspace.as<int64_t>();
  int64_t* starts = counts + blocks;
  const auto grid = static_cast<unsigned int>(blocks);
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = static_cast<const T*>(x);
    nonzero_count_kernel<T><<<grid, kScanThreads, 0, stream()>>>(p, n, chunk, counts);
    DLCORE_CUDA_CHECK_LAUNCH("nonzero (count)");
    nonzero_starts_kernel<<<1, kScanThreads, 0, stream()>>>(counts, starts, static_cast<int>(blocks));
    DLCORE_CUDA_CHECK_LAUNCH("nonzero (scan)");
    nonzero_write_kernel<T><<<grid, kScanThreads, 0, stream()>>>(p, n, chunk, starts, out, s);
    DLCORE_CUDA_CHECK_LAUNCH("nonzero (write)");
  });
}

}  // namespace dlcore::kernels::cuda
