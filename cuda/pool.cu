// CUDA kernels for 2-D max and average pooling. Backward passes gather (one thread per input pixel
// sums the outputs whose window covers it) instead of scattering with atomics, so overlapping
// windows give deterministic gradients and gx needs no zeroing pass.
#include "cuda_check.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::grid_stride_begin;
using ::dlcore::cuda::grid_stride_blocks;
using ::dlcore::cuda::grid_stride_step;
using ::dlcore::cuda::stream;

constexpr int kThreads = 256;

// The first output index whose window starts at or before `position` could still cover it, and the
// last one that covers it; an empty range when first > last.
struct CoveringRange {
  int64_t first, last;
};

__device__ inline CoveringRange covering_outputs(int64_t position, int64_t pad, int64_t kernel,
                                                 int64_t stride, int64_t outputs) {
  const int64_t padded = position + pad;  // position in the padded input
  // Output o covers padded position when o*stride <= padded < o*stride + kernel.
  const int64_t first = padded < kernel ? 0 : (padded - kernel) / stride + 1;
  const int64_t last = min(padded / stride, outputs - 1);
  return {first, last};
}

// Like PyTorch: ties keep the first position in the window and NaN wins over any number.
__global__ void max_pool2d_forward_kernel(const float* x, float* y, int32_t* argmax, Pool2dShape s,
                                          int64_t total) {
  for (int64_t i = grid_stride_begin(); i < total; i += grid_stride_step()) {
    const int64_t q = i % s.Q;
    const int64_t p = (i / s.Q) % s.P;
    const int64_t plane = i / (s.P * s.Q);
    const float* xp = x + plane * s.H * s.W;
    const int64_t h_begin = max(p * s.stride_h - s.pad_h, int64_t{0});
    const int64_t w_begin = max(q * s.stride_w - s.pad_w, int64_t{0});
    const int64_t h_end = min(p * s.stride_h - s.pad_h + s.kernel_h, s.H);
    const int64_t w_end = min(q * s.stride_w - s.pad_w + s.kernel_w, s.W);
    float best = -INFINITY;
    int64_t best_index = h_begin * s.W + w_begin;
    bool found_nan = false;  // nothing beats NaN, so the search stops there
    for (int64_t h = h_begin; h < h_end && !found_nan; ++h) {
      for (int64_t w = w_begin; w < w_end; ++w) {
        const float v = xp[h * s.W + w];
        if (v > best || isnan(v)) {
          best = v;
          best_index = h * s.W + w;
          found_nan = isnan(v);
          if (found_nan) break;
        }
      }
    }
    y[i] = best;
    argmax[i] = static_cast<int32_t>(best_index);
  }
}

__global__ void max_pool2d_backward_kernel(const float* gy, const int32_t* argmax, float* gx,
                                           Pool2dShape s, int64_t total) {
  for (int64_t i = grid_stride_begin(); i < total; i += grid_stride_step()) {
    const int64_t w = i % s.W;
    const int64_t h = (i / s.W) % s.H;
    const int64_t plane = i / (s.H * s.W);
    const CoveringRange rows = covering_outputs(h, s.pad_h, s.kernel_h, s.stride_h, s.P);
    const CoveringRange cols = covering_outputs(w, s.pad_w, s.kernel_w, s.stride_w, s.Q);
    const int32_t self = static_cast<int32_t>(h * s.W + w);
    const int64_t base = plane * s.P * s.Q;
    float sum = 0.0f;
    for (int64_t p = rows.first; p <= rows.last; ++p)
      for (int64_t q = cols.first; q <= cols.last; ++q)
        if (argmax[base + p * s.Q + q] == self) sum += gy[base + p * s.Q + q];
    gx[i] = sum;
  }
}

// PyTorch's divisor with count_include_pad=True: the window clipped to the padded input.
__device__ inline float average_divisor(int64_t p, int64_t q, const Pool2dShape& s) {
  const int64_t h0 = p * s.stride_h - s.pad_h, w0 = q * s.stride_w - s.pad_w;
  const int64_t h1 = min(h0 + s.kernel_h, s.H + s.pad_h), w1 = min(w0 + s.kernel_w, s.W + s.pad_w);
  return static_cast<float>((h1 - h0) * (w1 - w0));
}

__global__ void avg_pool2d_forward_kernel(const float* x, float* y, Pool2dShape s, int64_t total) {
  for (int64_t i = grid_stride_begin(); i < total; i += grid_stride_step()) {
    const int64_t q = i % s.Q;
    const int64_t p = (i / s.Q) % s.P;
    const float* xp = x + (i / (s.P * s.Q)) * s.H * s.W;
    const int64_t h_begin = max(p * s.stride_h - s.pad_h, int64_t{0});
    const int64_t w_begin = max(q * s.stride_w - s.pad_w, int64_t{0});
    const int64_t h_end = min(p * s.stride_h - s.pad_h + s.kernel_h, s.H);
    const int64_t w_end = min(q * s.stride_w - s.pad_w + s.kernel_w, s.W);
    float sum = 0.0f;
    for (int64_t h = h_begin; h < h_end; ++h)
      for (int64_t w = w_begin; w < w_end; ++w) sum += xp[h * s.W + w];
    y[i] = __fdiv_rn(sum, average_divisor(p, q, s));
  }
}

__global__ void avg_pool2d_backward_kernel(const float* gy, float* gx, Pool2dShape s,
                                           int64_t total) {
  for (int64_t i = grid_stride_begin(); i < total; i += grid_stride_step()) {
    const int64_t w = i % s.W;
    const int64_t h = (i / s.W) % s.H;
    const float* gyp = gy + (i / (s.H * s.W)) * s.P * s.Q;
    const CoveringRange rows = covering_outputs(h, s.pad_h, s.kernel_h, s.stride_h, s.P);
    const CoveringRange cols = covering_outputs(w, s.pad_w, s.kernel_w, s.stride_w, s.Q);
    float sum = 0.0f;
    for (int64_t p = rows.first; p <= rows.last; ++p)
      for (int64_t q = cols.first; q <= cols.last; ++q)
        sum += __fdiv_rn(gyp[p * s.Q + q], average_divisor(p, q, s));
    gx[i] = sum;
  }
}

}  // namespace

void max_pool2d_forward(const float* x, float* y, int32_t* argmax, const Pool2dShape& s) {
  const int64_t total = s.N * s.C * s.P * s.Q;
  if (total <= 0) return;
  max_pool2d_forward_kernel<<<grid_stride_blocks(total, kThreads), kThreads, 0, stream()>>>(
      x, y, argmax, s, total);
  DLCORE_CUDA_CHECK_LAUNCH("max_pool2d_forward");
}

void max_pool2d_backward(const float* gy, const int32_t* argmax, float* gx, const Pool2dShape& s) {
  const int64_t total = s.N * s.C * s.H * s.W;
  if (total <= 0) return;
  max_pool2d_backward_kernel<<<grid_stride_blocks(total, kThreads), kThreads, 0, stream()>>>(
      gy, argmax, gx, s, total);
  DLCORE_CUDA_CHECK_LAUNCH("max_pool2d_backward");
}

void avg_pool2d_forward(const float* x, float* y, const Pool2dShape& s) {
  const int64_t total = s.N * s.C * s.P * s.Q;
  if (total <= 0) return;
  avg_pool2d_forward_kernel<<<grid_stride_blocks(total, kThreads), kThreads, 0, stream()>>>(
      x, y, s, total);
  DLCORE_CUDA_CHECK_LAUNCH("avg_pool2d_forward");
}

void avg_pool2d_backward(const float* gy, float* gx, const Pool2dShape& s) {
  const int64_t total = s.N * s.C * s.H * s.W;
  if (total <= 0) return;
  avg_pool2d_backward_kernel<<<grid_stride_blocks(total, kThreads), kThreads, 0, stream()>>>(
      gy, gx, s, total);
  DLCORE_CUDA_CHECK_LAUNCH("avg_pool2d_backward");
}

}  // namespace dlcore::kernels::cuda
