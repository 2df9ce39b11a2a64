// Bias kernels shared by Linear (inner = 1) and Conv2d (inner = H*W): adding a per-channel bias,
// optionally fused with ReLU so the common conv+bias+relu chain touches the output only once,
// and the bias gradient.
#include <algorithm>

#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {

using detail::grain_for;
using detail::parallel_for;

void bias_add(float* y, const float* bias, int64_t N, int64_t C, int64_t inner, bool fuse_relu) {
  if (inner == 1) {  // Linear: rows of C, parallel over rows
    parallel_for(N, grain_for(C), [&](int64_t begin, int64_t end) {
      for (int64_t n = begin; n < end; ++n) {
        float* row = y + n * C;
        if (fuse_relu) {
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) row[c] = std::max(row[c] + bias[c], 0.0f);
        } else {
#pragma omp simd
          for (int64_t c = 0; c < C; ++c) row[c] += bias[c];
        }
      }
    });
    return;
  }
  parallel_for(N * C, grain_for(inner), [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      float* dst = y + plane * inner;
      const float b = bias[plane % C];
      if (fuse_relu) {
#pragma omp simd
        for (int64_t i = 0; i < inner; ++i) dst[i] = std::max(dst[i] + b, 0.0f);
      } else {
#pragma omp simd
        for (int64_t i = 0; i < inner; ++i) dst[i] += b;
      }
    }
  });
}

void bias_backward(const float* gy, float* gbias, int64_t N, int64_t C, int64_t inner) {
  if (inner == 1) {
    // Double accumulators keep the accuracy of long batches.
    parallel_for(C, grain_for(N), [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        double total = 0.0;
        for (int64_t n = 0; n < N; ++n) total += gy[n * C + c];
        gbias[c] = static_cast<float>(total);
      }
    });
    return;
  }
  parallel_for(C, grain_for(N * inner), [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      double total = 0.0;
      for (int64_t n = 0; n < N; ++n) {
        const float* src = gy + (n * C + c) * inner;
        float partial = 0.0f;
#pragma omp simd reduction(+ : partial)
        for (int64_t i = 0; i < inner; ++i) partial += src[i];
        total += partial;
      }
      gbias[c] = static_cast<float>(total);
    }
  });
}

}  // namespace dlcore::kernels::cpu
