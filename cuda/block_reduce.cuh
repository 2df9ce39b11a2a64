// Warp- and block-wide reductions shared by the kernels that reduce rows or channels (softmax,
// loss, batch norm, sums). Fixed shuffle trees, so every result is deterministic run to run.
#pragma once
#include <cuda_runtime.h>

namespace dlcore::cuda {

struct SumOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

template <typename T, typename Op>
__device__ inline T warp_reduce(T value, Op op) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1)
    value = op(value, __shfl_xor_sync(0xffffffffu, value, offset));
  return value;
}

// Every thread of the block calls it and receives the result. blockDim.x must be a multiple of 32;
// scratch holds 32 values in shared memory and may be reused by the next call.
template <typename T, typename Op>
__device__ inline T block_reduce(T value, Op op, T identity, T* scratch) {
  const int lane = threadIdx.x & 31;
  const int warp = threadIdx.x >> 5;
  const int warps = blockDim.x >> 5;
  value = warp_reduce(value, op);
  __syncthreads();  // the previous call's readers are done with scratch
  if (lane == 0) scratch[warp] = value;
  __syncthreads();
  value = lane < warps ? scratch[lane] : identity;
  return warp_reduce(value, op);
}

}  // namespace dlcore::cuda
