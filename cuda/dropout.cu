// CUDA dropout. The keep decision for element i comes from the counter-based hash shared with the
// CPU backend (counter_rng.h), a pure function of (seed, i), so both devices draw the identical
// mask for a seed and no thread needs generator state.
#include "../cpp/src/kernels/counter_rng.h"
#include "cuda_check.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::grid_stride_begin;
using ::dlcore::cuda::grid_stride_blocks;
using ::dlcore::cuda::grid_stride_step;
using ::dlcore::cuda::stream;

constexpr int kThreads = 256;

__global__ void dropout_forward_kernel(const float* x, float* y, float* mask, int64_t n, float p,
                                       float scale, uint64_t seed) {
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step()) {
    const bool keep = rng::uniform_float(seed, static_cast<uint64_t>(i)) >= p;
    const float m = keep ? scale : 0.0f;
    mask[i] = m;
    y[i] = x[i] * m;
  }
}

}  // namespace

// Kept elements (uniform draw >= p) are scaled by 1/(1-p); p >= 1 drops everything. The scale is
// computed on the host exactly as the CPU backend does, so masks match bit for bit.
void dropout_forward(const float* x, float* y, float* mask, int64_t n, float p, uint64_t seed) {
  if (n <= 0) return;
  const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  dropout_forward_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream()>>>(
      x, y, mask, n, p, scale, seed);
  DLCORE_CUDA_CHECK_LAUNCH("dropout_forward");
}

}  // namespace dlcore::kernels::cuda
