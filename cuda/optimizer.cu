// Fused CUDA optimizer updates: one launch per parameter tensor reads the gradient and state once
// and writes parameter and state once. The arithmetic follows the CPU backend term for term
// (torch.optim's formulas, bias corrections computed in double on the host); sqrt and division
// are IEEE-rounded even under --use_fast_math so the two backends agree to rounding.
#include <cmath>

#include "cuda_check.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::grid_stride_begin;
using ::dlcore::cuda::grid_stride_blocks;
using ::dlcore::cuda::grid_stride_step;
using ::dlcore::cuda::stream;

constexpr int kThreads = 256;

__global__ void sgd_update_kernel(float* p, const float* grad, float* momentum_buf, int64_t n,
                                  float lr, float momentum, float dampening, float weight_decay,
                                  bool nesterov, bool first_step) {
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step()) {
    float g = grad[i];
    if (weight_decay != 0.0f) g += weight_decay * p[i];
    if (momentum != 0.0f) {
      // torch seeds the buffer with the raw gradient on the first step (no dampening).
      const float buf = first_step ? g : momentum * momentum_buf[i] + (1.0f - dampening) * g;
      momentum_buf[i] = buf;
      g = nesterov ? g + momentum * buf : buf;
    }
    p[i] -= lr * g;
  }
}

struct AdamConstants {
  float beta2, eps, weight_decay;
  float step_size;         // lr / (1 - beta1^step)
  float correction2_sqrt;  // sqrt(1 - beta2^step)
  float decay;             // 1 - lr * weight_decay (AdamW)
  float avg_weight;        // 1 - beta1, the weight of exp_avg.lerp_(grad, .)
  bool decoupled;
};

__global__ void adam_update_kernel(float* p, const float* grad, float* exp_avg, float* exp_avg_sq,
                                   int64_t n, AdamConstants k) {
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step()) {
    float g = grad[i];
    float param = p[i];
    if (k.decoupled)
      param *= k.decay;
    else if (k.weight_decay != 0.0f)
      g += k.weight_decay * param;
    const float m0 = exp_avg[i];
    // torch's lerp picks its formula by the weight so that it is exact at both ends.
    const float m = k.avg_weight < 0.5f ? m0 + k.avg_weight * (g - m0)
                                        : g - (g - m0) * (1.0f - k.avg_weight);
    const float v = k.beta2 * exp_avg_sq[i] + (1.0f - k.beta2) * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    const float denom = __fdiv_rn(__fsqrt_rn(v), k.correction2_sqrt) + k.eps;
    p[i] = param - __fdiv_rn(k.step_size * m, denom);
  }
}

}  // namespace

void sgd_update(float* p, const float* grad, float* momentum_buf, int64_t n, float lr,
                float momentum, float dampening, float weight_decay, bool nesterov,
                bool first_step) {
  if (n <= 0) return;
  sgd_update_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream()>>>(
      p, grad, momentum_buf, n, lr, momentum, dampening, weight_decay, nesterov, first_step);
  DLCORE_CUDA_CHECK_LAUNCH("sgd_update");
}

void adam_update(float* p, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                 float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step,
                 bool decoupled) {
  if (n <= 0) return;
  // torch computes the bias corrections in Python floats (double).
  const double correction1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double correction2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  AdamConstants k;
  k.beta2 = beta2;
  k.eps = eps;
  k.weight_decay = weight_decay;
  k.step_size = static_cast<float>(lr / correction1);
  k.correction2_sqrt = static_cast<float>(std::sqrt(correction2));
  k.decay = static_cast<float>(1.0 - static_cast<double>(lr) * weight_decay);
  k.avg_weight = 1.0f - beta1;
  k.decoupled = decoupled;
  adam_update_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream()>>>(
      p, grad, exp_avg, exp_avg_sq, n, k);
  DLCORE_CUDA_CHECK_LAUNCH("adam_update");
}

}  // namespace dlcore::kernels::cuda
