// Fused optimizer updates for the CPU backend: one pass over a parameter tensor per step,
// following torch.optim's SGD and Adam/AdamW formulas term for term so runs are comparable.
#include <cmath>

#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {

using detail::kParallelGrain;
using detail::parallel_for;

void sgd_update(float* p, const float* grad, float* momentum_buf, int64_t n, float lr,
                float momentum, float dampening, float weight_decay, bool nesterov,
                bool first_step) {
  parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float g = grad[i];
      if (weight_decay != 0.0f) g += weight_decay * p[i];
      if (momentum != 0.0f) {
        // torch seeds the buffer with the raw gradient on the first step (no dampening).
        const float buf =
            first_step ? g : momentum * momentum_buf[i] + (1.0f - dampening) * g;
        momentum_buf[i] = buf;
        g = nesterov ? g + momentum * buf : buf;
      }
      p[i] -= lr * g;
    }
  });
}

void adam_update(float* p, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n,
                 float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step,
                 bool decoupled) {
  // torch computes the bias corrections in Python floats (double).
  const double correction1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
  const double correction2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
  const float step_size = static_cast<float>(lr / correction1);
  const float correction2_sqrt = static_cast<float>(std::sqrt(correction2));
  const float decay = static_cast<float>(1.0 - static_cast<double>(lr) * weight_decay);
  // exp_avg.lerp_(grad, 1 - beta1) in torch: this form when the weight is below one half.
  const float avg_weight = 1.0f - beta1;
  parallel_for(n, kParallelGrain / 2, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      float g = grad[i];
      float param = p[i];
      if (decoupled)
        param *= decay;
      else if (weight_decay != 0.0f)
        g += weight_decay * param;
      const float m = avg_weight < 0.5f ? exp_avg[i] + avg_weight * (g - exp_avg[i])
                                        : g - (g - exp_avg[i]) * (1.0f - avg_weight);
      const float v = beta2 * exp_avg_sq[i] + (1.0f - beta2) * g * g;
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
      const float denom = std::sqrt(v) / correction2_sqrt + eps;
      p[i] = param - step_size * m / denom;
    }
  });
}

}  // namespace dlcore::kernels::cpu
