// Pointwise activations of the CPU backend. Backward passes take the forward output y (not x),
// so autograd only has to keep one tensor alive and in-place variants stay possible.
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

void sigmoid_forward(const float* x, float* y, int64_t n) {
  // Transcendentals are costlier per element, so a smaller grain pays for the fork.
  parallel_for(n, kParallelGrain / 4, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
  });
}

void sigmoid_backward(const float* gy, const float* y, float* gx, int64_t n) {
  parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) gx[i] = gy[i] * y[i] * (1.0f - y[i]);
  });
}

void tanh_forward(const float* x, float* y, int64_t n) {
  parallel_for(n, kParallelGrain / 4, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) y[i] = std::tanh(x[i]);
  });
}

void tanh_backward(const float* gy, const float* y, float* gx, int64_t n) {
  parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) gx[i] = gy[i] * (1.0f - y[i] * y[i]);
  });
}

}  // namespace dlcore::kernels::cpu
