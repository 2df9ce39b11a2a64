// Float fills and scale_shift of the CPU backend. (Copies between views and casts are
// pointwise.cpp's `cast`, over the iteration the op layer coalesces.)
#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {

using detail::kParallelGrain;
using detail::parallel_for;

void fill(float* y, float value, int64_t n) {
  parallel_for(n, kParallelGrain * 4, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) y[i] = value;
  });
}

void scale_shift(float* y, const float* x, float scale, float shift, int64_t n) {
  parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) y[i] = x[i] * scale + shift;
  });
}

}  // namespace dlcore::kernels::cpu
