// CUDA kernels for adding a per-channel bias (optionally fused with ReLU, saving a launch and a
// pass over memory after every Linear/Conv2d+ReLU) and for the bias gradient, a sum over batch and
// spatial positions done as one deterministic reduction per channel.
#include <climits>

#include "block_reduce.cuh"
#include "cuda_check.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::block_reduce;
using ::dlcore::cuda::grid_stride_blocks;
using ::dlcore::cuda::stream;
using ::dlcore::cuda::SumOp;

constexpr int kThreads = 256;

// Index is int32_t when the tensor is small enough, which makes the channel division cheaper.
template <typename Index, bool FuseRelu>
__global__ void bias_add_kernel(float* y, const float* bias, Index total, Index channels,
                                Index inner) {
  const Index step = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += step) {
    const Index channel = (inner == 1 ? i : i / inner) % channels;
    const float value = y[i] + bias[channel];
    y[i] = FuseRelu ? fmaxf(value, 0.0f) : value;
  }
}

// inner == 1 (Linear): thread c walks down column c; neighbouring threads read neighbouring
// addresses, so every load is coalesced.
__global__ void bias_backward_columns_kernel(const float* gy, float* gbias, int64_t rows,
                                             int64_t channels) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  float sum = 0.0f;
  for (int64_t n = 0; n < rows; ++n) sum += gy[n * channels + c];
  gbias[c] = sum;
}

// inner > 1 (Conv2d): one block per channel walks the channel's contiguous planes.
__global__ void bias_backward_planes_kernel(const float* gy, float* gbias, int64_t batch,
                                            int64_t channels, int64_t inner) {
  __shared__ float scratch[32];
  const int64_t c = blockIdx.x;
  float sum = 0.0f;
  for (int64_t n = 0; n < batch; ++n) {
    const float* plane = gy + (n * channels + c) * inner;
    for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) sum += plane[i];
  }
  sum = block_reduce(sum, SumOp{}, 0.0f, scratch);
  if (threadIdx.x == 0) gbias[c] = sum;
}

template <typename Index>
void launch_bias_add(float* y, const float* bias, int64_t total, int64_t channels, int64_t inner,
                     bool fuse_relu) {
  const unsigned int blocks = grid_stride_blocks(total, kThreads);
  if (fuse_relu) {
    bias_add_kernel<Index, true><<<blocks, kThreads, 0, stream()>>>(
        y, bias, static_cast<Index>(total), static_cast<Index>(channels),
        static_cast<Index>(inner));
  } else {
    bias_add_kernel<Index, false><<<blocks, kThreads, 0, stream()>>>(
        y, bias, static_cast<Index>(total), static_cast<Index>(channels),
        static_cast<Index>(inner));
  }
  DLCORE_CUDA_CHECK_LAUNCH("bias_add");
}

}  // namespace

void bias_add(float* y, const float* bias, int64_t N, int64_t C, int64_t inner, bool fuse_relu) {
  const int64_t total = N * C * inner;
  if (total <= 0) return;
  if (total <= INT_MAX / 2) {
    launch_bias_add<int32_t>(y, bias, total, C, inner, fuse_relu);
  } else {
    launch_bias_add<int64_t>(y, bias, total, C, inner, fuse_relu);
  }
}

void bias_backward(const float* gy, float* gbias, int64_t N, int64_t C, int64_t inner) {
  if (C <= 0) return;
  if (N <= 0 || inner <= 0) {
    fill(gbias, 0.0f, C);
    return;
  }
  if (inner == 1) {
    const unsigned int blocks = static_cast<unsigned int>((C + kThreads - 1) / kThreads);
    bias_backward_columns_kernel<<<blocks, kThreads, 0, stream()>>>(gy, gbias, N, C);
  } else {
    bias_backward_planes_kernel<<<static_cast<unsigned int>(C), kThreads, 0, stream()>>>(
        gy, gbias, N, C, inner);
  }
  DLCORE_CUDA_CHECK_LAUNCH("bias_backward");
}

}  // namespace dlcore::kernels::cuda
