// CUDA reductions: the reduce kernel (sum, prod, max, min with indices over any strided layout;
// math in kernels/reduce_functors.h, shared with the CPU reference; also the gradient of a
// broadcast, through ops::sum_to_shape). All are tree reductions in a fixed order, so results are deterministic;
// none uses atomics or a single-threaded loop over the data.
#include <cstdint>
#include <cstring>

#include <stdexcept>
#include <string>

#include "block_reduce.cuh"
#include "cuda_check.h"
#include "dlcore/kernels.h"
#include "kernels/reduce_functors.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::block_reduce;
using ::dlcore::cuda::stream;
using ::dlcore::cuda::SumOp;
using ::dlcore::cuda::warp_reduce;

constexpr int kThreads = 256;

// ---- reduce: one warp per output for short reductions, one block for long ones -----------------

// A warp shuffle of any value of at most 8 bytes (the accumulators: double, float, int64, ...).
template <typename V>
__device__ inline V shuffle_xor(V value, int offset) {
  if constexpr (sizeof(V) == 8) {
    long long bits;
    memcpy(&bits, &value, 8);
    bits = __shfl_xor_sync(0xffffffffu, bits, offset);
    memcpy(&value, &bits, 8);
  } else {
    int bits = 0;
    memcpy(&bits, &value, sizeof(V));
    bits = __shfl_xor_sync(0xffffffffu, bits, offset);
    memcpy(&value, &bits, sizeof(V));
  }
  return value;
}

template <typename R>
__device__ inline typename R::State warp_reduce_state(typename R::State s) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    typename R::State other{shuffle_xor(s.value, offset), shuffle_xor(s.index, offset)};
    s = R::combine(s, other);
  }
  return s;
}

__device__ inline int64_t reduce_offset(int64_t index, int ndim, const int64_t* sizes, const int64_t* strides) {
  int64_t offset = 0;
  for (int d = ndim - 1; d >= 0; --d) {
    offset += (index % sizes[d]) * strides[d];
    index /= sizes[d];
  }
  return offset;
}

// Groups of G threads (a warp, or the whole block) each reduce one output: every thread
// accumulates a strided share of the reduced elements in R::Acc (double for float sums), then a
// shuffle tree (and, for a block, a second tree over the warps' results in shared memory).
template <int G, ReduceOp Op, typename T>
__global__ void reduce_kernel(ReduceIter it) {
  using R = functors::Reducer<Op, T>;
  using State = typename R::State;
  constexpr int kGroups = kThreads / G;
  const int lane = threadIdx.x % G;
  const T* x = static_cast<const T*>(it.input);
  const int inner = it.red_ndim - 1;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * kGroups + threadIdx.x / G; o < it.outputs;
       o += static_cast<int64_t>(gridDim.x) * kGroups) {
    const T* base = x + reduce_offset(o, it.out_ndim, it.out_sizes, it.out_strides);
    State s = R::identity();
    if (it.red_ndim == 1) {
      for (int64_t r = lane; r < it.reduced; r += G) R::step(s, R::load(base[r * it.red_strides[inner]]), r);
    } else {
      for (int64_t r = lane; r < it.reduced; r += G)
        R::step(s, R::load(base[reduce_offset(r, it.red_ndim, it.red_sizes, it.red_strides)]), r);
    }
    s = warp_reduce_state<R>(s);
    if constexpr (G > 32) {
      __shared__ typename R::Acc scratch_value[32];
      __shared__ int64_t scratch_index[32];
      const int warp = threadIdx.x / 32;
      __syncthreads();  // the previous output's readers are done with scratch
      if (lane % 32 == 0) {
        scratch_value[warp] = s.value;
        scratch_index[warp] = s.index;
      }
      __syncthreads();
      s = lane < G / 32 ? State{scratch_value[lane], scratch_index[lane]} : R::identity();
      s = warp_reduce_state<R>(s);
    }
    if (lane == 0) {
      if (it.values) static_cast<typename R::Out*>(it.values)[o] = R::finish(s, it.scale);
      if (it.indices) it.indices[o] = s.index < 0 ? 0 : s.index;
    }
  }
}

// Reductions up to this many elements per output take a warp; longer ones a block.
constexpr int64_t kWarpReduceLimit = 4096;

template <ReduceOp Op, typename T>
void reduce_typed(const ReduceIter& it) {
  const int64_t cap = static_cast<int64_t>(::dlcore::cuda::multiprocessor_count()) * 32;
  auto blocks = [cap](int64_t wanted) { return static_cast<unsigned int>(wanted < cap ? wanted : cap); };
  if (it.reduced <= kWarpReduceLimit) {
    reduce_kernel<32, Op, T><<<blocks((it.outputs + kThreads / 32 - 1) / (kThreads / 32)), kThreads, 0, stream()>>>(it);
  } else {
    reduce_kernel<kThreads, Op, T><<<blocks(it.outputs), kThreads, 0, stream()>>>(it);
  }
  DLCORE_CUDA_CHECK_LAUNCH("reduce");
}

__global__ void increment_kernel(int64_t* counter, int64_t by) { *counter += by; }

}  // namespace

void reduce(ReduceOp op, DType dtype, const ReduceIter& it) {
  if (it.outputs == 0) return;
  functors::visit_reduce_op(op, [&](auto op_tag) {
    visit_dtype(dtype, [&](auto tag) { reduce_typed<decltype(op_tag)::value, typename decltype(tag)::type>(it); });
  });
}

void increment_int64(int64_t* counter, int64_t by) {
  increment_kernel<<<1, 1, 0, stream()>>>(counter, by);  // one thread: it stays on the stream, no host sync
  DLCORE_CUDA_CHECK_LAUNCH("increment_int64");
}

}  // namespace dlcore::kernels::cuda
