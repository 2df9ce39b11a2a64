// CUDA reductions: the reduce kernel (sum, prod, max, min with indices over any strided layout;
// math in kernels/reduce_functors.h, shared with the CPU reference) and sum_to, the gradient of a
// broadcast. All are tree reductions in a fixed order, so results are deterministic;
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

// sum_to: the kept and summed dimensions of x, each with x's (contiguous) strides.
struct SumToPlan {
  int kept_ndim = 0, summed_ndim = 0;
  int64_t kept_sizes[kMaxDims], kept_strides[kMaxDims];
  int64_t summed_sizes[kMaxDims], summed_strides[kMaxDims];
  int64_t outputs = 1, summed = 1;
};

__device__ inline int64_t unravel(int64_t index, int ndim, const int64_t* sizes,
                                  const int64_t* strides) {
  int64_t offset = 0;
  for (int d = ndim - 1; d >= 0; --d) {
    offset += (index % sizes[d]) * strides[d];
    index /= sizes[d];
  }
  return offset;
}

// One thread per output: used when x's innermost dimension is kept, so neighbouring threads
// read neighbouring addresses at every step of the loop.
// T is the element type; sums accumulate in opmath_t<T> (float for the 16-bit types).
template <typename T>
__global__ void sum_to_thread_kernel(const T* x, T* y, SumToPlan plan) {
  using Acc = opmath_t<T>;
  const int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= plan.outputs) return;
  const T* base = x + unravel(o, plan.kept_ndim, plan.kept_sizes, plan.kept_strides);
  Acc sum = Acc(0);
  for (int64_t r = 0; r < plan.summed; ++r)
    sum += static_cast<Acc>(base[unravel(r, plan.summed_ndim, plan.summed_sizes, plan.summed_strides)]);
  y[o] = static_cast<T>(sum);
}

// G threads per output (a warp, or a whole block for long sums): used when the innermost
// dimension is summed, so a group's threads read a contiguous run together.
template <int G, typename T>
__global__ void sum_to_group_kernel(const T* x, T* y, SumToPlan plan) {
  using Acc = opmath_t<T>;
  __shared__ Acc scratch[32];
  constexpr int kGroups = kThreads / G;
  const int lane = threadIdx.x % G;
  for (int64_t o = static_cast<int64_t>(blockIdx.x) * kGroups + threadIdx.x / G; o < plan.outputs;
       o += static_cast<int64_t>(gridDim.x) * kGroups) {
    const T* base = x + unravel(o, plan.kept_ndim, plan.kept_sizes, plan.kept_strides);
    Acc sum = Acc(0);
    for (int64_t r = lane; r < plan.summed; r += G)
      sum += static_cast<Acc>(base[unravel(r, plan.summed_ndim, plan.summed_sizes, plan.summed_strides)]);
    if constexpr (G == 32) {
      sum = warp_reduce(sum, SumOp{});
    } else {
      sum = block_reduce(sum, SumOp{}, Acc(0), scratch);
    }
    if (lane == 0) y[o] = static_cast<T>(sum);
  }
}

// Splits x's dimensions into kept (y stride != 0) and summed ones, merging neighbours of the same
// kind (x is contiguous, so neighbours always merge) and dropping size-1 dimensions.
SumToPlan plan_sum_to(const BroadcastShape& s, bool& innermost_summed) {
  SumToPlan plan;
  int64_t stride = 1;
  int previous_kind = -1;  // 0 kept, 1 summed, for the dimension just inside the current one
  innermost_summed = false;
  for (int d = s.ndim - 1; d >= 0; --d) {
    const int64_t size = s.sizes[d];
    if (size == 1) continue;
    const int kind = s.a_strides[d] == 0 ? 1 : 0;
    int& ndim = kind ? plan.summed_ndim : plan.kept_ndim;
    int64_t* sizes = kind ? plan.summed_sizes : plan.kept_sizes;
    int64_t* strides = kind ? plan.summed_strides : plan.kept_strides;
    if (previous_kind == -1) innermost_summed = kind == 1;
    if (kind == previous_kind) {
      sizes[0] *= size;  // extends the outermost dimension recorded so far
    } else {
      for (int i = ndim; i > 0; --i) {
        sizes[i] = sizes[i - 1];
        strides[i] = strides[i - 1];
      }
      sizes[0] = size;
      strides[0] = stride;
      ++ndim;
    }
    (kind ? plan.summed : plan.outputs) *= size;
    stride *= size;
    previous_kind = kind;
  }
  return plan;
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

namespace {
template <typename T>
void sum_to_typed(const T* x, T* y, const BroadcastShape& s) {
  bool innermost_summed = false;
  const SumToPlan plan = plan_sum_to(s, innermost_summed);
  if (plan.outputs == 0) return;
  for (int d = 0; d < s.ndim; ++d) {
    if (s.sizes[d] == 0) {  // nothing to sum: the gradient is zero
      ::dlcore::cuda::memset_zero(y, plan.outputs * sizeof(T));
      return;
    }
  }
  const int64_t cap = static_cast<int64_t>(::dlcore::cuda::multiprocessor_count()) * 32;
  auto capped = [cap](int64_t blocks) {
    return static_cast<unsigned int>(blocks < cap ? (blocks > 0 ? blocks : 1) : cap);
  };
  if (!innermost_summed && (plan.outputs >= 4096 || plan.summed <= 64)) {
    const int64_t blocks = (plan.outputs + kThreads - 1) / kThreads;
    sum_to_thread_kernel<T><<<static_cast<unsigned int>(blocks), kThreads, 0, stream()>>>(x, y, plan);
  } else if (plan.summed <= 8192) {
    sum_to_group_kernel<32, T>
        <<<capped((plan.outputs + kThreads / 32 - 1) / (kThreads / 32)), kThreads, 0, stream()>>>(
            x, y, plan);
  } else {
    sum_to_group_kernel<kThreads, T><<<capped(plan.outputs), kThreads, 0, stream()>>>(x, y, plan);
  }
  DLCORE_CUDA_CHECK_LAUNCH("sum_to");
}
}  // namespace

// y's strides are s.a_strides (0 on summed dimensions), as in the CPU backend; x is contiguous.
void sum_to(DType dtype, const void* x, void* y, const BroadcastShape& s) {
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T>) {
      throw std::logic_error("sum_to: floating-point gradients only, got " + dtype_name(dtype));
    } else {
      sum_to_typed(static_cast<const T*>(x), static_cast<T*>(y), s);
    }
  });
}

}  // namespace dlcore::kernels::cuda
