// CUDA reductions: whole-tensor sums (loss means, accuracy counts), row argmax, and sum_to, the
// gradient of a broadcast. All are tree reductions in a fixed order, so results are deterministic;
// none uses atomics or a single-threaded loop over the data.
#include <cstdint>

#include <stdexcept>
#include <string>

#include "block_reduce.cuh"
#include "cuda_check.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::block_reduce;
using ::dlcore::cuda::stream;
using ::dlcore::cuda::SumOp;
using ::dlcore::cuda::warp_reduce;

constexpr int kReduceThreads = 1024;
constexpr int kThreads = 256;
constexpr int64_t kSingleBlockLimit = 1 << 16;  // below this one block sums everything
constexpr int kMaxPartials = 1024;

// Block b sums elements b, b + gridDim.x, ... (in blockDim-sized strides) into out[b].
template <typename T>
__global__ void sum_blocks_kernel(const T* x, T* out, int64_t n) {
  __shared__ T scratch[32];
  T sum = 0;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    sum += x[i];
  sum = block_reduce(sum, SumOp{}, T{0}, scratch);
  if (threadIdx.x == 0) out[blockIdx.x] = sum;
}

template <typename T>
void sum_all_typed(const T* x, T* y, int64_t n, const char* op_name) {
  if (n <= kSingleBlockLimit) {
    // Also covers n == 0: the block writes a zero.
    sum_blocks_kernel<T><<<1, kReduceThreads, 0, stream()>>>(x, y, n);
    DLCORE_CUDA_CHECK_LAUNCH(op_name);
    return;
  }
  const int64_t wanted = (n + 4 * kReduceThreads - 1) / (4 * kReduceThreads);
  const int partials = static_cast<int>(wanted < kMaxPartials ? wanted : kMaxPartials);
  const ::dlcore::cuda::Workspace partial_sums(partials * sizeof(T));
  sum_blocks_kernel<T><<<partials, kReduceThreads, 0, stream()>>>(x, partial_sums.as<T>(), n);
  DLCORE_CUDA_CHECK_LAUNCH(op_name);
  sum_blocks_kernel<T><<<1, kReduceThreads, 0, stream()>>>(partial_sums.as<T>(), y, partials);
  DLCORE_CUDA_CHECK_LAUNCH(op_name);
}

// torch.argmax order: NaN beats every number, and among equals the lowest index wins.
__device__ inline bool argmax_better(float v, int64_t i, float best, int64_t best_i) {
  if (isnan(v)) return !isnan(best) || i < best_i;
  if (isnan(best)) return false;
  return v > best || (v == best && i < best_i);
}

// Rows of up to kWarpRowLimit columns get a warp each, longer rows a block.
constexpr int64_t kWarpRowLimit = 2048;

template <int G>
__global__ void argmax_rows_kernel(const float* x, int64_t* y, int64_t N, int64_t C) {
  __shared__ float scratch_value[32];
  __shared__ int64_t scratch_index[32];
  constexpr int kGroups = kThreads / G;
  const int lane = threadIdx.x % G;
  for (int64_t n = static_cast<int64_t>(blockIdx.x) * kGroups + threadIdx.x / G; n < N;
       n += static_cast<int64_t>(gridDim.x) * kGroups) {
    float best = -INFINITY;
    int64_t best_i = INT64_MAX;
    for (int64_t c = lane; c < C; c += G) {
      const float v = x[n * C + c];
      if (argmax_better(v, c, best, best_i)) {
        best = v;
        best_i = c;
      }
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) {
      const float other = __shfl_xor_sync(0xffffffffu, best, offset);
      const int64_t other_i = __shfl_xor_sync(0xffffffffu, best_i, offset);
      if (argmax_better(other, other_i, best, best_i)) {
        best = other;
        best_i = other_i;
      }
    }
    if constexpr (G > 32) {
      const int warp = threadIdx.x / 32;
      __syncthreads();
      if (lane % 32 == 0) {
        scratch_value[warp] = best;
        scratch_index[warp] = best_i;
      }
      __syncthreads();
      if (threadIdx.x == 0) {
        for (int w = 1; w < G / 32; ++w)
          if (argmax_better(scratch_value[w], scratch_index[w], best, best_i)) {
            best = scratch_value[w];
            best_i = scratch_index[w];
          }
      }
    }
    if (lane == 0) y[n] = best_i == INT64_MAX ? 0 : best_i;
  }
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

void sum_all(const float* x, float* y, int64_t n) { sum_all_typed(x, y, n, "sum_all"); }

void increment_int64(int64_t* counter, int64_t by) {
  increment_kernel<<<1, 1, 0, stream()>>>(counter, by);  // one thread: it stays on the stream, no host sync
  DLCORE_CUDA_CHECK_LAUNCH("increment_int64");
}

void sum_all_int64(const int64_t* x, int64_t* y, int64_t n) {
  sum_all_typed(x, y, n, "sum_all_int64");
}

void argmax_rows(const float* x, int64_t* y, int64_t N, int64_t C) {
  if (N <= 0) return;
  if (C <= kWarpRowLimit) {
    const int64_t blocks = (N + kThreads / 32 - 1) / (kThreads / 32);
    argmax_rows_kernel<32><<<static_cast<unsigned int>(blocks < 65535 ? blocks : 65535), kThreads,
                             0, stream()>>>(x, y, N, C);
  } else {
    argmax_rows_kernel<kThreads>
        <<<static_cast<unsigned int>(N < 65535 ? N : 65535), kThreads, 0, stream()>>>(x, y, N, C);
  }
  DLCORE_CUDA_CHECK_LAUNCH("argmax_rows");
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
