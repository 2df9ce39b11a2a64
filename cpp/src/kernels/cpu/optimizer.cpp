// Fused optimizer updates for the CPU backend: one pass over each parameter tensor per step,
// following torch.optim's SGD and Adam/AdamW formulas term for term so runs are comparable. This
// is the reference the CUDA multi-tensor kernels are tested against.
#include <cmath>

#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {

using detail::kParallelGrain;
using detail::parallel_for;

void sgd_update(const SgdParam* params, int64_t count, const SgdHyper& h) {
  for (int64_t t = 0; t < count; ++t) {
    const SgdParam& a = params[t];
    parallel_for(a.n, kParallelGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        float g = a.grad[i];
        if (h.weight_decay != 0.0f) g += h.weight_decay * a.p[i];
        if (h.momentum != 0.0f) {
          // torch seeds the buffer with the raw gradient on the first step (no dampening).
          const float buf = a.first_step ? g : h.momentum * a.momentum_buf[i] + (1.0f - h.dampening) * g;
          a.momentum_buf[i] = buf;
          g = h.nesterov ? g + h.momentum * buf : buf;
        }
        a.p[i] -= h.lr * g;
      }
    });
  }
}

void adam_update(const AdamParam* params, int64_t count, const AdamHyper& h) {
  const float decay = static_cast<float>(1.0 - static_cast<double>(h.lr) * h.weight_decay);
  // exp_avg.lerp_(grad, 1 - beta1) in torch: this form when the weight is below one half.
  const float avg_weight = 1.0f - h.beta1;
  for (int64_t t = 0; t < count; ++t) {
    const AdamParam& a = params[t];
    // torch computes the bias corrections in Python floats (double).
    const double correction1 = 1.0 - std::pow(static_cast<double>(h.beta1), static_cast<double>(a.step));
    const double correction2 = 1.0 - std::pow(static_cast<double>(h.beta2), static_cast<double>(a.step));
    const float step_size = static_cast<float>(h.lr / correction1);
    const float correction2_sqrt = static_cast<float>(std::sqrt(correction2));
    parallel_for(a.n, kParallelGrain / 2, [&](int64_t begin, int64_t end) {
      float* p = a.p;
      float* exp_avg = a.exp_avg;
      float* exp_avg_sq = a.exp_avg_sq;
      const float* grad = a.grad;
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) {
        float g = grad[i];
        float param = p[i];
        if (h.decoupled)
          param *= decay;
        else if (h.weight_decay != 0.0f)
          g += h.weight_decay * param;
        const float m = avg_weight < 0.5f ? exp_avg[i] + avg_weight * (g - exp_avg[i])
                                          : g - (g - exp_avg[i]) * (1.0f - avg_weight);
        const float v = h.beta2 * exp_avg_sq[i] + (1.0f - h.beta2) * g * g;
        exp_avg[i] = m;
        exp_avg_sq[i] = v;
        const float denom = std::sqrt(v) / correction2_sqrt + h.eps;
        p[i] = param - step_size * m / denom;
      }
    });
  }
}

}  // namespace dlcore::kernels::cpu
