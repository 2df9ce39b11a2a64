// The ReLU epilogue of conv2d/linear without bias (with a bias it is fused into bias_add). Backward
// takes the forward output y. (ReLU as an op of its own is a row of the op table: pointwise.cpp.)
#include <cmath>

#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {

using detail::kParallelGrain;
using detail::parallel_for;

void relu_forward(const float* x, float* y, int64_t n) {
  parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
  });
}

// The gradient at exactly 0 is 0, as in PyTorch (y > 0, not y >= 0).
void relu_backward(const float* gy, const float* y, float* gx, int64_t n) {
  parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float g = gy[i];  // loaded unconditionally so the select vectorises
      gx[i] = y[i] > 0.0f ? g : 0.0f;
    }
  });
}

}  // namespace dlcore::kernels::cpu
