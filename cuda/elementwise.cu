// CUDA float fills and scale_shift. (Copies between views and casts are pointwise.cu's `cast`,
// over the iteration the op layer coalesces.)
#include "cuda_check.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::grid_stride_begin;
using ::dlcore::cuda::grid_stride_blocks;
using ::dlcore::cuda::grid_stride_step;
using ::dlcore::cuda::stream;

constexpr int kThreads = 256;

__global__ void fill_kernel(float* y, float value, int64_t n) {
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step()) y[i] = value;
}

__global__ void scale_shift_kernel(float* y, const float* x, float scale, float shift, int64_t n) {
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step()) y[i] = x[i] * scale + shift;
}

}  // namespace

void fill(float* y, float value, int64_t n) {
  if (n <= 0) return;
  fill_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream()>>>(y, value, n);
  DLCORE_CUDA_CHECK_LAUNCH("fill");
}

void scale_shift(float* y, const float* x, float scale, float shift, int64_t n) {
  if (n <= 0) return;
  scale_shift_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream()>>>(y, x, scale,
                                                                                  shift, n);
  DLCORE_CUDA_CHECK_LAUNCH("scale_shift");
}

}  // namespace dlcore::kernels::cuda
