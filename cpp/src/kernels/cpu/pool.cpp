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
  detail::parallel_for(s.N * s.C, detail::kParallelGrain / (work > 0 ? work : 1) + 1,
                       [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) fn(plane);
  });
}

}  // namespace

// NaN wins a window, as in PyTorch; an all -inf window picks its first element.
void max_pool2d_forward(const float* x, float* y, int32_t* argmax, const Pool2dShape& s) {
  for_each_plane(s, [&](int64_t plane) {
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
