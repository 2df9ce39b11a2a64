// Max and average 2-D pooling of the CPU backend (NCHW). Each (n, c) plane is independent, so
// planes are spread over threads and backward passes scatter into their own plane without races.
#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {
namespace {

// Window [begin, end) of one output coordinate along one axis, clipped to the input.
struct Window {
  int64_t begin, end;
};

inline Window clip(int64_t out, int64_t stride, int64_t pad, int64_t kernel, int64_t size) {
  const int64_t start = out * stride - pad;
  return {std::max<int64_t>(start, 0), std::min(start + kernel, size)};
}

template <class PlaneFn>
void for_each_plane(const Pool2dShape& s, PlaneFn&& fn) {
  const int64_t work = s.P * s.Q * s.kernel_h * s.kernel_w + s.H * s.W;
  detail::parallel_for(s.N * s.C, detail::grain_for(work),
                       [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) fn(plane);
  });
}

// The common 2x2 / stride 2 / no padding case (LeNet, most CNNs) without window clipping, with
// branch-free selects so the loop over q vectorises.
void max_pool_2x2(const float* in, float* out, int32_t* out_index, const Pool2dShape& s) {
  for (int64_t p = 0; p < s.P; ++p) {
    const float* top = in + 2 * p * s.W;
    const float* bottom = top + s.W;
    const int32_t base = static_cast<int32_t>(2 * p * s.W);
    const int32_t width = static_cast<int32_t>(s.W);
#pragma omp simd
    for (int64_t q = 0; q < s.Q; ++q) {
      const int32_t w = static_cast<int32_t>(2 * q);
      float best = top[w];
      int32_t index = base + w;
      const float candidates[3] = {top[w + 1], bottom[w], bottom[w + 1]};
      const int32_t offsets[3] = {1, width, width + 1};
      for (int i = 0; i < 3; ++i) {
        const float v = candidates[i];
        const bool take = v > best || v != v;  // v != v: NaN wins, as in PyTorch
        best = take ? v : best;
        index = take ? base + w + offsets[i] : index;
      }
      out[p * s.Q + q] = best;
      out_index[p * s.Q + q] = index;
    }
  }
}

}  // namespace

// NaN wins a window, as in PyTorch; an all -inf window picks its first element.
void max_pool2d_forward(const float* x, float* y, int32_t* argmax, const Pool2dShape& s) {
  const bool two_by_two = s.kernel_h == 2 && s.kernel_w == 2 && s.stride_h == 2 &&
                          s.stride_w == 2 && s.pad_h == 0 && s.pad_w == 0;
  for_each_plane(s, [&](int64_t plane) {
    if (two_by_two) {
      max_pool_2x2(x + plane * s.H * s.W, y + plane * s.P * s.Q, argmax + plane * s.P * s.Q, s);
      return;
    }
    const float* in = x + plane * s.H * s.W;
    float* out = y + plane * s.P * s.Q;
    int32_t* out_index = argmax + plane * s.P * s.Q;
    for (int64_t p = 0; p < s.P; ++p) {
      const Window rows = clip(p, s.stride_h, s.pad_h, s.kernel_h, s.H);
      for (int64_t q = 0; q < s.Q; ++q) {
        const Window cols = clip(q, s.stride_w, s.pad_w, s.kernel_w, s.W);
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_index = rows.begin * s.W + cols.begin;
        for (int64_t h = rows.begin; h < rows.end; ++h)
          for (int64_t w = cols.begin; w < cols.end; ++w) {
            const float v = in[h * s.W + w];
            if (v > best || std::isnan(v)) {
              best = v;
              best_index = h * s.W + w;
            }
          }
        out[p * s.Q + q] = best;
        out_index[p * s.Q + q] = static_cast<int32_t>(best_index);
      }
    }
  });
}

void max_pool2d_backward(const float* gy, const int32_t* argmax, float* gx, const Pool2dShape& s) {
  for_each_plane(s, [&](int64_t plane) {
    float* grad_in = gx + plane * s.H * s.W;
    const float* grad_out = gy + plane * s.P * s.Q;
    const int32_t* index = argmax + plane * s.P * s.Q;
    std::fill(grad_in, grad_in + s.H * s.W, 0.0f);
    for (int64_t i = 0; i < s.P * s.Q; ++i) grad_in[index[i]] += grad_out[i];
  });
}

// The divisor is the window clipped to the padded input (count_include_pad=True): the full
// kernel area except where a ceil-mode window hangs past the padding.
inline float avg_divisor(int64_t p, int64_t q, const Pool2dShape& s) {
  const int64_t h0 = p * s.stride_h - s.pad_h, w0 = q * s.stride_w - s.pad_w;
  const int64_t h1 = std::min(h0 + s.kernel_h, s.H + s.pad_h);
  const int64_t w1 = std::min(w0 + s.kernel_w, s.W + s.pad_w);
  return static_cast<float>((h1 - h0) * (w1 - w0));
}

void avg_pool2d_forward(const float* x, float* y, const Pool2dShape& s) {
  for_each_plane(s, [&](int64_t plane) {
    const float* in = x + plane * s.H * s.W;
    float* out = y + plane * s.P * s.Q;
    for (int64_t p = 0; p < s.P; ++p) {
      const Window rows = clip(p, s.stride_h, s.pad_h, s.kernel_h, s.H);
      for (int64_t q = 0; q < s.Q; ++q) {
        const Window cols = clip(q, s.stride_w, s.pad_w, s.kernel_w, s.W);
        float total = 0.0f;
        for (int64_t h = rows.begin; h < rows.end; ++h)
          for (int64_t w = cols.begin; w < cols.end; ++w) total += in[h * s.W + w];
        out[p * s.Q + q] = total / avg_divisor(p, q, s);
      }
    }
  });
}

void avg_pool2d_backward(const float* gy, float* gx, const Pool2dShape& s) {
  for_each_plane(s, [&](int64_t plane) {
    float* grad_in = gx + plane * s.H * s.W;
    const float* grad_out = gy + plane * s.P * s.Q;
    std::fill(grad_in, grad_in + s.H * s.W, 0.0f);
    for (int64_t p = 0; p < s.P; ++p) {
      const Window rows = clip(p, s.stride_h, s.pad_h, s.kernel_h, s.H);
      for (int64_t q = 0; q < s.Q; ++q) {
        const Window cols = clip(q, s.stride_w, s.pad_w, s.kernel_w, s.W);
        const float share = grad_out[p * s.Q + q] / avg_divisor(p, q, s);
        for (int64_t h = rows.begin; h < rows.end; ++h)
          for (int64_t w = cols.begin; w < cols.end; ++w) grad_in[h * s.W + w] += share;
      }
    }
  });
}

}  // namespace dlcore::kernels::cpu
