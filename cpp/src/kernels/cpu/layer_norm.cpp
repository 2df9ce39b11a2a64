// Layer normalisation on the CPU: one pass for the mean, one for the (biased) variance, one for the
// output, per row; rows run in parallel. The weight and bias gradients sum over rows in a fixed order
// (column-parallel), so they are deterministic for any thread count.
#include "layer_norm.h"

#include <cmath>

#include "cpu_parallel.h"

namespace dlcore::kernels::cpu {
namespace {
using detail::grain_for;
using detail::parallel_for;
}  // namespace

void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t cols, float eps) {
  parallel_for(rows, grain_for(4 * cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* in = x + r * cols;
      float* out = y + r * cols;
      double total = 0.0;
      for (int64_t c = 0; c < cols; ++c) total += in[c];
      const double m = cols > 0 ? total / static_cast<double>(cols) : 0.0;
      double squares = 0.0;
      for (int64_t c = 0; c < cols; ++c) squares += (in[c] - m) * (in[c] - m);
      const double var = cols > 0 ? squares / static_cast<double>(cols) : 0.0;
      const float inv = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
      const float mf = static_cast<float>(m);
      mean[r] = mf;
      rstd[r] = inv;
      for (int64_t c = 0; c < cols; ++c) {
        const float normalized = (in[c] - mf) * inv;
        out[c] = normalized * (gamma ? gamma[c] : 1.0f) + (beta ? beta[c] : 0.0f);
      }
    }
  });
}

// With x_hat = (x - mean) * rstd and h = gy * gamma: gx = rstd * (h - mean(h) - x_hat * mean(h * x_hat)).
void layer_norm_backward(const float* gy, const float* x, const float* mean, const float* rstd, const float* gamma,
                         float* gx, float* ggamma, float* gbeta, int64_t rows, int64_t cols) {
  if (gx) {
    parallel_for(rows, grain_for(6 * cols), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const float* g = gy + r * cols;
        const float* in = x + r * cols;
        double sum_h = 0.0, sum_h_xhat = 0.0;
        for (int64_t c = 0; c < cols; ++c) {
          const double h = static_cast<double>(g[c]) * (gamma ? gamma[c] : 1.0f);
          sum_h += h;
          sum_h_xhat += h * (in[c] - mean[r]) * rstd[r];
        }
        const float mean_h = static_cast<float>(sum_h / static_cast<double>(cols));
        const float mean_h_xhat = static_cast<float>(sum_h_xhat / static_cast<double>(cols));
        float* out = gx + r * cols;
        for (int64_t c = 0; c < cols; ++c) {
          const float x_hat = (in[c] - mean[r]) * rstd[r];
          const float h = g[c] * (gamma ? gamma[c] : 1.0f);
          out[c] = rstd[r] * (h - mean_h - x_hat * mean_h_xhat);
        }
      }
    });
  }
  if (!ggamma && !gbeta) return;
  parallel_for(cols, grain_for(2 * rows), [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      double sum_g = 0.0, sum_g_xhat = 0.0;
      for (int64_t r = 0; r < rows; ++r) {
        const float g = gy[r * cols + c];
        sum_g += g;
        sum_g_xhat += static_cast<double>(g) * (x[r * cols + c] - mean[r]) * rstd[r];
      }
      if (ggamma) ggamma[c] = static_cast<float>(sum_g_xhat);
      if (gbeta) gbeta[c] = static_cast<float>(sum_g);
    }
  });
}

}  // namespace dlcore::kernels::cpu
