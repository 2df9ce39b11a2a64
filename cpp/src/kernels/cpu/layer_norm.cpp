// Layer normalisation on the CPU (kernel_list.inc; cuda/layer_norm.cu is checked against it): per
// row one pass for the mean, one for the (biased) variance and one for the output, as SIMD reductions (`omp simd reduction` lets the compiler split each sum
// into vector lanes; the sums stay in double). Rows run in parallel. The weight and bias gradients
// sum over rows in fixed blocks of rows, then add the blocks in order, so they are deterministic for
// any thread count while each block reads its rows contiguously.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {
namespace {
using detail::grain_for;
using detail::parallel_for;

constexpr int64_t kRowsPerBlock = 32;  // the unit of the weight/bias gradient's fixed summation order

double row_sum(const float* v, int64_t n) {
  double total = 0.0;
#pragma omp simd reduction(+ : total)
  for (int64_t c = 0; c < n; ++c) total += v[c];
  return total;
}

double row_squared_deviation(const float* v, int64_t n, double mean) {
  double total = 0.0;
#pragma omp simd reduction(+ : total)
  for (int64_t c = 0; c < n; ++c) total += (v[c] - mean) * (v[c] - mean);
  return total;
}
}  // namespace

void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t cols, float eps) {
  parallel_for(rows, grain_for(4 * cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* in = x + r * cols;
      float* out = y + r * cols;
      const double m = cols > 0 ? row_sum(in, cols) / static_cast<double>(cols) : 0.0;
      const double var = cols > 0 ? row_squared_deviation(in, cols, m) / static_cast<double>(cols) : 0.0;
      const float inv = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
      const float mf = static_cast<float>(m);
      mean[r] = mf;
      rstd[r] = inv;
      if (gamma && beta) {
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) out[c] = (in[c] - mf) * inv * gamma[c] + beta[c];
      } else {
        for (int64_t c = 0; c < cols; ++c)
          out[c] = (in[c] - mf) * inv * (gamma ? gamma[c] : 1.0f) + (beta ? beta[c] : 0.0f);
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
        const float m = mean[r], inv = rstd[r];
        double sum_h = 0.0, sum_h_xhat = 0.0;
#pragma omp simd reduction(+ : sum_h, sum_h_xhat)
        for (int64_t c = 0; c < cols; ++c) {
          const float h = g[c] * (gamma ? gamma[c] : 1.0f);
          sum_h += h;
          sum_h_xhat += static_cast<double>(h) * ((in[c] - m) * inv);
        }
        const float mean_h = static_cast<float>(sum_h / static_cast<double>(cols));
        const float mean_h_xhat = static_cast<float>(sum_h_xhat / static_cast<double>(cols));
        float* out = gx + r * cols;
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) {
          const float h = g[c] * (gamma ? gamma[c] : 1.0f);
          out[c] = inv * (h - mean_h - (in[c] - m) * inv * mean_h_xhat);
        }
      }
    });
  }
  if (!ggamma && !gbeta) return;
  const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  std::vector<double> partial(static_cast<size_t>(blocks * 2 * cols), 0.0);  // per block: [sum g*x_hat | sum g]
  parallel_for(blocks, grain_for(2 * kRowsPerBlock * cols), [&](int64_t begin, int64_t end) {
    for (int64_t blk = begin; blk < end; ++blk) {
      double* g_xhat = partial.data() + blk * 2 * cols;
      double* g_sum = g_xhat + cols;
      const int64_t last = std::min(rows, (blk + 1) * kRowsPerBlock);
      for (int64_t r = blk * kRowsPerBlock; r < last; ++r) {
        const float* g = gy + r * cols;
        const float* in = x + r * cols;
        const float m = mean[r], inv = rstd[r];
#pragma omp simd
        for (int64_t c = 0; c < cols; ++c) {
          g_xhat[c] += static_cast<double>(g[c]) * ((in[c] - m) * inv);
          g_sum[c] += g[c];
        }
      }
    }
  });
  for (int64_t c = 0; c < cols; ++c) {
    double sum_g_xhat = 0.0, sum_g = 0.0;
    for (int64_t blk = 0; blk < blocks; ++blk) {
      sum_g_xhat += partial[blk * 2 * cols + c];
      sum_g += partial[blk * 2 * cols + cols + c];
    }
    if (ggamma) ggamma[c] = static_cast<float>(sum_g_xhat);
    if (gbeta) gbeta[c] = static_cast<float>(sum_g);
  }
}

}  // namespace dlcore::kernels::cpu
