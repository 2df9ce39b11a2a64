// CUDA kernels for batch normalisation over x = [N, C, inner]. Training forward and backward use one
// block per channel that computes the channel's statistics and then rewrites the channel, so each
// needs a single launch; the two-pass mean/variance keeps the variance accurate.
// gamma/beta may be null (no affine), as may running stats (not tracked) and unneeded gradients.
#include "block_reduce.cuh"
#include "cuda_check.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::block_reduce;
using ::dlcore::cuda::grid_stride_begin;
using ::dlcore::cuda::grid_stride_blocks;
using ::dlcore::cuda::grid_stride_step;
using ::dlcore::cuda::stream;
using ::dlcore::cuda::SumOp;

constexpr int kChannelThreads = 512;
constexpr int kThreads = 256;

// Walks channel c's elements: the j-th of count = N*inner sits in plane n = j / inner.
struct ChannelView {
  int64_t channels, inner, c;
  __device__ int64_t offset(int64_t j) const {
    const int64_t n = j / inner;
    return (n * channels + c) * inner + (j - n * inner);
  }
};

__global__ void batch_norm_train_kernel(const float* x, const float* gamma, const float* beta,
                                        float* y, float* save_mean, float* save_invstd,
                                        float* running_mean, float* running_var, int64_t N,
                                        int64_t C, int64_t inner, float momentum, float eps) {
  __shared__ float scratch[32];
  const ChannelView view{C, inner, blockIdx.x};
  const int64_t count = N * inner;
  const int c = blockIdx.x;

  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < count; j += blockDim.x) sum += x[view.offset(j)];
  const float mean = __fdiv_rn(block_reduce(sum, SumOp{}, 0.0f, scratch), static_cast<float>(count));

  float squares = 0.0f;
  for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const float d = x[view.offset(j)] - mean;
    squares += d * d;
  }
  const float var =
      __fdiv_rn(block_reduce(squares, SumOp{}, 0.0f, scratch), static_cast<float>(count));
  const float invstd = __fdiv_rn(1.0f, __fsqrt_rn(var + eps));

  if (threadIdx.x == 0) {
    save_mean[c] = mean;
    save_invstd[c] = invstd;
    if (running_mean != nullptr && running_var != nullptr) {
      running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * mean;
      // PyTorch's running variance is unbiased; a single value per channel keeps the biased one.
      const float unbiased =
          count > 1 ? __fdiv_rn(var * static_cast<float>(count), static_cast<float>(count - 1))
                    : var;
      running_var[c] = (1.0f - momentum) * running_var[c] + momentum * unbiased;
    }
  }

  const float scale = invstd * (gamma != nullptr ? gamma[c] : 1.0f);
  const float shift = (beta != nullptr ? beta[c] : 0.0f) - mean * scale;
  for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const int64_t o = view.offset(j);
    y[o] = x[o] * scale + shift;
  }
}

__global__ void batch_norm_eval_kernel(const float* x, const float* gamma, const float* beta,
                                       const float* running_mean, const float* running_var,
                                       float* y, int64_t C, int64_t inner, float eps,
                                       int64_t total) {
  for (int64_t i = grid_stride_begin(); i < total; i += grid_stride_step()) {
    const int64_t c = (i / inner) % C;
    const float invstd = __fdiv_rn(1.0f, __fsqrt_rn(running_var[c] + eps));
    const float scale = invstd * (gamma != nullptr ? gamma[c] : 1.0f);
    const float shift = (beta != nullptr ? beta[c] : 0.0f) - running_mean[c] * scale;
    y[i] = x[i] * scale + shift;
  }
}

// gx = gamma*invstd * (gy - mean(gy) - xhat*mean(gy*xhat)) over the channel's M = N*inner values,
// xhat = (x-mean)*invstd.
__global__ void batch_norm_backward_kernel(const float* gy, const float* x, const float* gamma,
                                           const float* save_mean, const float* save_invstd,
                                           float* gx, float* ggamma, float* gbeta, int64_t N,
                                           int64_t C, int64_t inner) {
  __shared__ float scratch[32];
  const ChannelView view{C, inner, blockIdx.x};
  const int64_t count = N * inner;
  const int c = blockIdx.x;
  const float mean = save_mean[c];
  const float invstd = save_invstd[c];

  float sum_gy = 0.0f, sum_gy_xhat = 0.0f;
  for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const int64_t o = view.offset(j);
    sum_gy += gy[o];
    sum_gy_xhat += gy[o] * (x[o] - mean) * invstd;
  }
  sum_gy = block_reduce(sum_gy, SumOp{}, 0.0f, scratch);
  sum_gy_xhat = block_reduce(sum_gy_xhat, SumOp{}, 0.0f, scratch);
  if (threadIdx.x == 0) {
    if (ggamma != nullptr) ggamma[c] = sum_gy_xhat;
    if (gbeta != nullptr) gbeta[c] = sum_gy;
  }
  if (gx == nullptr) return;

  const float scale = (gamma != nullptr ? gamma[c] : 1.0f) * invstd;
  const float mean_gy = __fdiv_rn(sum_gy, static_cast<float>(count));
  const float mean_gy_xhat = __fdiv_rn(sum_gy_xhat, static_cast<float>(count));
  for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const int64_t o = view.offset(j);
    const float xhat = (x[o] - mean) * invstd;
    gx[o] = scale * (gy[o] - mean_gy - xhat * mean_gy_xhat);
  }
}

}  // namespace

void batch_norm_forward_train(const float* x, const float* gamma, const float* beta, float* y,
                              float* save_mean, float* save_invstd, float* running_mean,
                              float* running_var, int64_t N, int64_t C, int64_t inner,
                              float momentum, float eps) {
  if (C <= 0 || N * inner <= 0) return;
  batch_norm_train_kernel<<<static_cast<unsigned int>(C), kChannelThreads, 0, stream()>>>(
      x, gamma, beta, y, save_mean, save_invstd, running_mean, running_var, N, C, inner, momentum,
      eps);
  DLCORE_CUDA_CHECK_LAUNCH("batch_norm_forward_train");
}

void batch_norm_forward_eval(const float* x, const float* gamma, const float* beta,
                             const float* running_mean, const float* running_var, float* y,
                             int64_t N, int64_t C, int64_t inner, float eps) {
  const int64_t total = N * C * inner;
  if (total <= 0) return;
  batch_norm_eval_kernel<<<grid_stride_blocks(total, kThreads), kThreads, 0, stream()>>>(
      x, gamma, beta, running_mean, running_var, y, C, inner, eps, total);
  DLCORE_CUDA_CHECK_LAUNCH("batch_norm_forward_eval");
}

void batch_norm_backward(const float* gy, const float* x, const float* gamma,
                         const float* save_mean, const float* save_invstd, float* gx,
                         float* ggamma, float* gbeta, int64_t N, int64_t C, int64_t inner) {
  if (C <= 0 || N * inner <= 0) return;
  batch_norm_backward_kernel<<<static_cast<unsigned int>(C), kChannelThreads, 0, stream()>>>(
      gy, x, gamma, save_mean, save_invstd, gx, ggamma, gbeta, N, C, inner);
  DLCORE_CUDA_CHECK_LAUNCH("batch_norm_backward");
}

}  // namespace dlcore::kernels::cuda
