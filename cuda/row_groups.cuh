// Row-parallel kernels over a matrix [N, C] (softmax, the losses, layer norm): a group of G threads
// owns a row, G = 32 (a warp) when rows are short and G = kRowThreads (the whole block) when they
// are long; launch_rows picks the instance. Groups walk rows grid-stride, so any N fits the grid.
#pragma once
#include <algorithm>
#include <cstdint>

#include "block_reduce.cuh"
#include "cuda_check.h"

namespace dlcore::cuda {

constexpr int kRowThreads = 256;
constexpr int64_t kWarpRowLimit = 1024;  // up to this many columns a warp handles a row

template <int G>
struct RowGroup {
  static constexpr int kGroupsPerBlock = kRowThreads / G;
  int lane = threadIdx.x % G;
  int64_t first_row = static_cast<int64_t>(blockIdx.x) * kGroupsPerBlock + threadIdx.x / G;
  int64_t row_step = static_cast<int64_t>(gridDim.x) * kGroupsPerBlock;

  // The group-wide reduction of every member's value; scratch: 32 values of T in shared memory.
  template <typename T, typename Op>
  __device__ T reduce(T value, Op op, T identity, T* scratch) const {
    if constexpr (G == 32) {
      return warp_reduce(value, op);
    } else {
      return block_reduce(value, op, identity, scratch);
    }
  }
};

inline unsigned int row_blocks(int64_t N, int groups_per_block) {
  const int64_t needed = (N + groups_per_block - 1) / groups_per_block;
  const int64_t cap = static_cast<int64_t>(multiprocessor_count()) * 16;
  return static_cast<unsigned int>(std::max<int64_t>(1, std::min(needed, cap)));
}

// Runs the warp-per-row instance when C is small, the block-per-row one otherwise.
template <typename... Params, typename... Args>
void launch_rows(void (*warp_kernel)(Params...), void (*block_kernel)(Params...),
                 const char* op_name, int64_t N, int64_t C, Args... args) {
  if (N <= 0 || C <= 0) return;
  if (C <= kWarpRowLimit) {
    warp_kernel<<<row_blocks(N, kRowThreads / 32), kRowThreads, 0, stream()>>>(args...);
  } else {
    block_kernel<<<row_blocks(N, 1), kRowThreads, 0, stream()>>>(args...);
  }
  DLCORE_CUDA_CHECK_LAUNCH(op_name);
}

}  // namespace dlcore::cuda
