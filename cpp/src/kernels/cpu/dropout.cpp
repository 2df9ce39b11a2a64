// Dropout for the CPU backend. The keep decision for element i is a pure function of (seed, i)
// from counter_rng.h, so the CUDA kernel draws the identical mask and threads need no RNG state.
#include "../counter_rng.h"
#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {

// Element i is kept when its uniform draw is >= p, i.e. with probability 1 - p; kept elements are
// scaled by 1/(1-p) so the expectation is unchanged. p >= 1 drops everything.
void dropout_forward(const float* x, float* y, float* mask, int64_t n, float p, uint64_t seed) {
  const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  detail::parallel_for(n, detail::kParallelGrain / 4, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const bool keep = rng::uniform_float(seed, static_cast<uint64_t>(i)) >= p;
      const float m = keep ? scale : 0.0f;
      mask[i] = m;
      y[i] = x[i] * m;
    }
  });
}

}  // namespace dlcore::kernels::cpu
