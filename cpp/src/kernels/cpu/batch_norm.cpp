// Batch normalisation of the CPU backend over x = [N, C, inner] (inner = H*W for BatchNorm2d,
// 1 for BatchNorm1d). Channels are independent, so they are spread over threads; statistics
// are accumulated in double, two-pass, so large batches keep float accuracy; the sums are `omp simd`
// reductions (double lanes summed in any order: still far inside float accuracy), without which the
// strict left-to-right double sums would run one element per cycle.
#include <cmath>

#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {
namespace {

template <class ChannelFn>
void for_each_channel(int64_t N, int64_t C, int64_t inner, ChannelFn&& fn) {
  const int64_t per_channel = N * inner;
  detail::parallel_for(C, detail::grain_for(per_channel),
                       [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) fn(c);
  });
}

// Calls fn(pointer to the channel's run of `inner` values) for each n.
template <class T, class RunFn>
void for_each_run(T* base, int64_t N, int64_t C, int64_t inner, int64_t c, RunFn&& fn) {
  for (int64_t n = 0; n < N; ++n) fn(base + (n * C + c) * inner, n);
}

}  // namespace

// gamma / beta may be null (affine=False): scale 1 and shift 0. running_mean / running_var may be
// null (track_running_stats=False).
void batch_norm_forward_train(const float* x, const float* gamma, const float* beta, float* y,
                              float* save_mean, float* save_invstd, float* running_mean,
                              float* running_var, int64_t N, int64_t C, int64_t inner,
                              float momentum, float eps) {
  const int64_t count = N * inner;
  for_each_channel(N, C, inner, [&](int64_t c) {
    double total = 0.0;
    for_each_run(x, N, C, inner, c, [&](const float* run, int64_t) {
#pragma omp simd reduction(+ : total)
      for (int64_t i = 0; i < inner; ++i) total += run[i];
    });
    const double mean = total / static_cast<double>(count);
    double squares = 0.0;
    for_each_run(x, N, C, inner, c, [&](const float* run, int64_t) {
#pragma omp simd reduction(+ : squares)
      for (int64_t i = 0; i < inner; ++i) {
        const double d = run[i] - mean;
        squares += d * d;
      }
    });
    const double var = squares / static_cast<double>(count);
    const double invstd = 1.0 / std::sqrt(var + eps);
    save_mean[c] = static_cast<float>(mean);
    save_invstd[c] = static_cast<float>(invstd);
    if (running_mean != nullptr && running_var != nullptr) {
      // PyTorch's running variance is unbiased; one value per channel has none, keep the biased.
      const double unbiased = count > 1 ? squares / static_cast<double>(count - 1) : var;
      running_mean[c] = static_cast<float>((1.0 - momentum) * running_mean[c] + momentum * mean);
      running_var[c] = static_cast<float>((1.0 - momentum) * running_var[c] + momentum * unbiased);
    }
    const float scale = static_cast<float>(invstd) * (gamma ? gamma[c] : 1.0f);
    const float shift = (beta ? beta[c] : 0.0f) - static_cast<float>(mean) * scale;
    for (int64_t n = 0; n < N; ++n) {
      const float* in = x + (n * C + c) * inner;
      float* out = y + (n * C + c) * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) out[i] = in[i] * scale + shift;
    }
  });
}

void batch_norm_forward_eval(const float* x, const float* gamma, const float* beta,
                             const float* running_mean, const float* running_var, float* y,
                             int64_t N, int64_t C, int64_t inner, float eps) {
  for_each_channel(N, C, inner, [&](int64_t c) {
    const float invstd = 1.0f / std::sqrt(running_var[c] + eps);
    const float scale = invstd * (gamma ? gamma[c] : 1.0f);
    const float shift = (beta ? beta[c] : 0.0f) - running_mean[c] * scale;
    for (int64_t n = 0; n < N; ++n) {
      const float* in = x + (n * C + c) * inner;
      float* out = y + (n * C + c) * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) out[i] = in[i] * scale + shift;
    }
  });
}

// With xhat = (x - mean) * invstd: gbeta = sum gy, ggamma = sum gy * xhat,
// gx = gamma * invstd / count * (count * gy - gbeta - xhat * ggamma). Any of gx, ggamma, gbeta
// may be null when that gradient is not needed.
void batch_norm_backward(const float* gy, const float* x, const float* gamma,
                         const float* save_mean, const float* save_invstd, float* gx,
                         float* ggamma, float* gbeta, int64_t N, int64_t C, int64_t inner) {
  const int64_t count = N * inner;
  for_each_channel(N, C, inner, [&](int64_t c) {
    const float mean = save_mean[c], invstd = save_invstd[c];
    double sum_gy = 0.0, sum_gy_xhat = 0.0;
    for (int64_t n = 0; n < N; ++n) {
      const float* g = gy + (n * C + c) * inner;
      const float* in = x + (n * C + c) * inner;
#pragma omp simd reduction(+ : sum_gy, sum_gy_xhat)
      for (int64_t i = 0; i < inner; ++i) {
        sum_gy += g[i];
        sum_gy_xhat += static_cast<double>(g[i]) * ((in[i] - mean) * invstd);
      }
    }
    if (gbeta) gbeta[c] = static_cast<float>(sum_gy);
    if (ggamma) ggamma[c] = static_cast<float>(sum_gy_xhat);
    if (!gx) return;
    const float scale = (gamma ? gamma[c] : 1.0f) * invstd;
    const float mean_gy = static_cast<float>(sum_gy / static_cast<double>(count));
    const float mean_gy_xhat = static_cast<float>(sum_gy_xhat / static_cast<double>(count));
    for (int64_t n = 0; n < N; ++n) {
      const float* g = gy + (n * C + c) * inner;
      const float* in = x + (n * C + c) * inner;
      float* out = gx + (n * C + c) * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i) {
        const float xhat = (in[i] - mean) * invstd;
        out[i] = scale * (g[i] - mean_gy - xhat * mean_gy_xhat);
      }
    }
  });
}

}  // namespace dlcore::kernels::cpu
