// Warp- and block-wide reductions and scans shared by the kernels that reduce or scan rows or
// channels (softmax, loss, batch and layer norm, sums, nonzero, cumsum). Fixed shuffle trees and
// scan steps, so every result is deterministic run to run.
#pragma once
#include <cuda_runtime.h>

namespace dlcore::cuda {

struct SumOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a + b; }
};
struct ProductOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a * b; }
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

// Inclusive scan under op of one value per thread across a block of exactly Threads threads
// (Hillis-Steele, double-buffered in shared memory). Every thread of the block must call it; buffer
// may be reused by the next call.
template <int Threads, typename T, typename Op>
__device__ inline T block_inclusive_scan(T value, Op op, T* buffer /* [2 * Threads] */) {
  const int t = threadIdx.x;
  int in = 0;
  buffer[t] = value;
  __syncthreads();
  for (int offset = 1; offset < Threads; offset <<= 1) {
    T combined = buffer[in * Threads + t];
    if (t >= offset) combined = op(buffer[in * Threads + t - offset], combined);
    buffer[(1 - in) * Threads + t] = combined;
    in = 1 - in;
    __syncthreads();
  }
  const T result = buffer[in * Threads + t];
  __syncthreads();  // the next call overwrites buffer
  return result;
}

}  // namespace dlcore::cuda
