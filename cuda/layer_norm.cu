// CUDA layer normalisation over rows of x = [rows, cols], checked against the CPU kernels
// (kernels/cpu/layer_norm.cpp) and computed the same way: per row, the mean and then the biased
// variance as double sums (a warp per row up to kWarpRowLimit columns, a block beyond), the output
// in float. The backward's gx is row-parallel the same way. The weight and bias gradients sum over
// rows in the CPU's fixed blocks of kRowsPerBlock rows (one thread per column and block, in double),
// then one thread per column adds the blocks in order: deterministic, and without atomics.
#include <cmath>

#include "cuda_check.h"
#include "dlcore/kernels.h"
#include "row_groups.cuh"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::grid_stride_begin;
using ::dlcore::cuda::grid_stride_blocks;
using ::dlcore::cuda::grid_stride_step;
using ::dlcore::cuda::launch_rows;
using ::dlcore::cuda::RowGroup;
using ::dlcore::cuda::stream;
using ::dlcore::cuda::SumOp;
using ::dlcore::cuda::Workspace;

constexpr int kThreads = ::dlcore::cuda::kRowThreads;
constexpr int64_t kRowsPerBlock = 32;  // the CPU's unit of the weight/bias gradient's summation order

template <int G>
__global__ void layer_norm_forward_kernel(const float* x, const float* gamma, const float* beta, float* y,
                                          float* mean, float* rstd, int64_t rows, int64_t cols, float eps) {
  __shared__ double scratch[32];
  const RowGroup<G> group;
  for (int64_t r = group.first_row; r < rows; r += group.row_step) {
    const float* in = x + r * cols;
    double sum = 0.0;
    for (int64_t c = group.lane; c < cols; c += G) sum += in[c];
    const double m = group.reduce(sum, SumOp{}, 0.0, scratch) / static_cast<double>(cols);
    double squares = 0.0;
    for (int64_t c = group.lane; c < cols; c += G) squares += (in[c] - m) * (in[c] - m);
    const double var = group.reduce(squares, SumOp{}, 0.0, scratch) / static_cast<double>(cols);
    const float inv = static_cast<float>(1.0 / sqrt(var + static_cast<double>(eps)));
    const float mf = static_cast<float>(m);
    if (group.lane == 0) {
      mean[r] = mf;
      rstd[r] = inv;
    }
    float* out = y + r * cols;
    for (int64_t c = group.lane; c < cols; c += G)
      out[c] = (in[c] - mf) * inv * (gamma ? gamma[c] : 1.0f) + (beta ? beta[c] : 0.0f);
  }
}

// With x_hat = (x - mean) * rstd and h = gy * gamma: gx = rstd * (h - mean(h) - x_hat * mean(h * x_hat)).
template <int G>
__global__ void layer_norm_backward_input_kernel(const float* gy, const float* x, const float* mean,
                                                 const float* rstd, const float* gamma, float* gx, int64_t rows,
                                                 int64_t cols) {
  __shared__ double scratch[32];
  const RowGroup<G> group;
  for (int64_t r = group.first_row; r < rows; r += group.row_step) {
    const float* g = gy + r * cols;
    const float* in = x + r * cols;
    const float m = mean[r], inv = rstd[r];
    double sum_h = 0.0, sum_h_xhat = 0.0;
    for (int64_t c = group.lane; c < cols; c += G) {
      const float h = g[c] * (gamma ? gamma[c] : 1.0f);
      sum_h += h;
      sum_h_xhat += static_cast<double>(h) * ((in[c] - m) * inv);
    }
    const float mean_h = static_cast<float>(group.reduce(sum_h, SumOp{}, 0.0, scratch) / static_cast<double>(cols));
    const float mean_h_xhat =
        static_cast<float>(group.reduce(sum_h_xhat, SumOp{}, 0.0, scratch) / static_cast<double>(cols));
    float* out = gx + r * cols;
    for (int64_t c = group.lane; c < cols; c += G) {
      const float h = g[c] * (gamma ? gamma[c] : 1.0f);
      out[c] = inv * (h - mean_h - (in[c] - m) * inv * mean_h_xhat);
    }
  }
}

// partial[blk][0..cols) = sum over block blk's rows of gy * x_hat, partial[blk][cols..2 cols) of gy.
__global__ void layer_norm_affine_partials_kernel(const float* gy, const float* x, const float* mean,
                                                  const float* rstd, double* partial, int64_t rows, int64_t cols,
                                                  int64_t blocks) {
  for (int64_t i = grid_stride_begin(); i < blocks * cols; i += grid_stride_step()) {
    const int64_t blk = i / cols, c = i % cols;
    const int64_t last = (blk + 1) * kRowsPerBlock < rows ? (blk + 1) * kRowsPerBlock : rows;
    double g_xhat = 0.0, g_sum = 0.0;
    for (int64_t r = blk * kRowsPerBlock; r < last; ++r) {
      const float g = gy[r * cols + c];
      g_xhat += static_cast<double>(g) * ((x[r * cols + c] - mean[r]) * rstd[r]);
      g_sum += g;
    }
    partial[blk * 2 * cols + c] = g_xhat;
    partial[blk * 2 * cols + cols + c] = g_sum;
  }
}

__global__ void layer_norm_affine_total_kernel(const double* partial, float* ggamma, float* gbeta, int64_t cols,
                                               int64_t blocks) {
  for (int64_t c = grid_stride_begin(); c < cols; c += grid_stride_step()) {
    double sum_g_xhat = 0.0, sum_g = 0.0;
    for (int64_t blk = 0; blk < blocks; ++blk) {
      sum_g_xhat += partial[blk * 2 * cols + c];
      sum_g += partial[blk * 2 * cols + cols + c];
    }
    if (ggamma) ggamma[c] = static_cast<float>(sum_g_xhat);
    if (gbeta) gbeta[c] = static_cast<float>(sum_g);
  }
}

}  // namespace

void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t cols, float eps) {
  launch_rows(layer_norm_forward_kernel<32>, layer_norm_forward_kernel<kThreads>, "layer_norm", rows, cols, x, gamma,
              beta, y, mean, rstd, rows, cols, eps);
}

void layer_norm_backward(const float* gy, const float* x, const float* mean, const float* rstd, const float* gamma,
                         float* gx, float* ggamma, float* gbeta, int64_t rows, int64_t cols) {
  if (gx)
    launch_rows(layer_norm_backward_input_kernel<32>, layer_norm_backward_input_kernel<kThreads>,
                "layer_norm (backward)", rows, cols, gy, x, mean, rstd, gamma, gx, rows, cols);
  if ((!ggamma && !gbeta) || cols == 0) return;
  const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  Workspace workspace(static_cast<size_t>(std::max<int64_t>(1, blocks * 2 * cols)) * sizeof(double));
  double* partial = workspace.as<double>();
  if (blocks > 0) {
    layer_norm_affine_partials_kernel<<<grid_stride_blocks(blocks * cols, kThreads), kThreads, 0, stream()>>>(
        gy, x, mean, rstd, partial, rows, cols, blocks);
    DLCORE_CUDA_CHECK_LAUNCH("layer_norm (backward, weight and bias)");
  }
  layer_norm_affine_total_kernel<<<grid_stride_blocks(cols, kThreads), kThreads, 0, stream()>>>(partial, ggamma, gbeta,
                                                                                              cols, blocks);
  DLCORE_CUDA_CHECK_LAUNCH("layer_norm (backward, weight and bias)");
}

}  // namespace dlcore::kernels::cuda
