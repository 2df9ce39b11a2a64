// Softmax, log-softmax and the fused cross-entropy loss of the CPU backend, row by row over
// [N, C]. Every row subtracts its maximum before exponentiating so large logits cannot overflow.
#include <algorithm>
#include <cmath>

#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {
namespace {

using detail::grain_for;
using detail::parallel_for;

// Rows are independent; exp and log cost enough that a few thousand elements pay for a fork.
template <class RowFn>
void for_each_row(int64_t N, int64_t C, RowFn&& fn) {
  parallel_for(N, grain_for(8 * C), [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) fn(n);
  });
}

// y[c] = x[c] - max - log(sum exp(x - max)).
void log_softmax_row(const float* x, float* y, int64_t C) {
  float max_value = x[0];
  for (int64_t c = 1; c < C; ++c) max_value = std::max(max_value, x[c]);
  double total = 0.0;
  for (int64_t c = 0; c < C; ++c) total += std::exp(static_cast<double>(x[c] - max_value));
  // (x - max) first: adding log(total) to a large max would round away its fraction.
  const float log_total = static_cast<float>(std::log(total));
  for (int64_t c = 0; c < C; ++c) y[c] = (x[c] - max_value) - log_total;
}

}  // namespace

void log_softmax_forward(const float* x, float* y, int64_t N, int64_t C) {
  if (C <= 0) return;
  for_each_row(N, C, [&](int64_t n) { log_softmax_row(x + n * C, y + n * C, C); });
}

// gx = gy - softmax * sum(gy), with softmax = exp(y).
void log_softmax_backward(const float* gy, const float* y, float* gx, int64_t N, int64_t C) {
  for_each_row(N, C, [&](int64_t n) {
    const float* g = gy + n * C;
    const float* out = y + n * C;
    float* dst = gx + n * C;
    double total = 0.0;
    for (int64_t c = 0; c < C; ++c) total += g[c];
    const float g_sum = static_cast<float>(total);
    for (int64_t c = 0; c < C; ++c) dst[c] = g[c] - std::exp(out[c]) * g_sum;
  });
}

void softmax_forward(const float* x, float* y, int64_t N, int64_t C) {
  if (C <= 0) return;
  for_each_row(N, C, [&](int64_t n) {
    const float* in = x + n * C;
    float* out = y + n * C;
    float max_value = in[0];
    for (int64_t c = 1; c < C; ++c) max_value = std::max(max_value, in[c]);
    double total = 0.0;
    for (int64_t c = 0; c < C; ++c) {
      out[c] = std::exp(in[c] - max_value);
      total += out[c];
    }
    const float inverse = static_cast<float>(1.0 / total);
    for (int64_t c = 0; c < C; ++c) out[c] *= inverse;
  });
}

// gx = y * (gy - sum(gy * y)).
void softmax_backward(const float* gy, const float* y, float* gx, int64_t N, int64_t C) {
  for_each_row(N, C, [&](int64_t n) {
    const float* g = gy + n * C;
    const float* out = y + n * C;
    float* dst = gx + n * C;
    double dot = 0.0;
    for (int64_t c = 0; c < C; ++c) dot += static_cast<double>(g[c]) * out[c];
    const float g_dot = static_cast<float>(dot);
    for (int64_t c = 0; c < C; ++c) dst[c] = out[c] * (g[c] - g_dot);
  });
}

void cross_entropy_forward(const float* logits, const int64_t* target, float* logp, float* loss,
                           int64_t N, int64_t C, float label_smoothing) {
  if (C <= 0) return;
  const double smooth = label_smoothing;
  for_each_row(N, C, [&](int64_t n) {
    float* row = logp + n * C;
    log_softmax_row(logits + n * C, row, C);
    double value = -(1.0 - smooth) * row[target[n]];
    if (smooth != 0.0) {
      double total = 0.0;
      for (int64_t c = 0; c < C; ++c) total += row[c];
      value -= smooth / static_cast<double>(C) * total;
    }
    loss[n] = static_cast<float>(value);
  });
}

void cross_entropy_backward(const float* logp, const int64_t* target, const float* gloss,
                            float* glogits, int64_t N, int64_t C, float label_smoothing) {
  const float uniform = label_smoothing / static_cast<float>(C);
  const float on_target = 1.0f - label_smoothing;
  for_each_row(N, C, [&](int64_t n) {
    const float* row = logp + n * C;
    float* dst = glogits + n * C;
    const float g = gloss[n];
    for (int64_t c = 0; c < C; ++c) dst[c] = g * (std::exp(row[c]) - uniform);
    dst[target[n]] -= g * on_target;
  });
}

}  // namespace dlcore::kernels::cpu
