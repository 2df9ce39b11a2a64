// Tests of the CPU layer-norm kernels: the forward against a double-precision reference (saved mean
// and rstd included, with and without the affine weight), and the backward's three gradients against
// central finite differences of the forward.
#include <cmath>

#include "kernel_test_util.h"
#include "dlcore/kernels.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::numeric_gradient;
using testing::random_vector;

constexpr float kEps = 1e-5f;

std::vector<float> forward(const std::vector<float>& x, const std::vector<float>& gamma, const std::vector<float>& beta,
                           int64_t rows, int64_t cols) {
  std::vector<float> y(x.size()), mean(rows), rstd(rows);
  kernels::cpu::layer_norm_forward(x.data(), gamma.empty() ? nullptr : gamma.data(), beta.empty() ? nullptr : beta.data(),
                                   y.data(), mean.data(), rstd.data(), rows, cols, kEps);
  return y;
}

TEST(KernelsCpuLayerNorm, ForwardMatchesDoubleReference) {
  for (bool affine : {true, false}) {
    const int64_t rows = 5, cols = 37;
    const auto x = random_vector(rows * cols, 1, -2.0f, 3.0f);
    const auto gamma = affine ? random_vector(cols, 2, 0.5f, 1.5f) : std::vector<float>{};
    const auto beta = affine ? random_vector(cols, 3) : std::vector<float>{};
    std::vector<float> y(x.size()), mean(rows), rstd(rows);
    kernels::cpu::layer_norm_forward(x.data(), affine ? gamma.data() : nullptr, affine ? beta.data() : nullptr,
                                     y.data(), mean.data(), rstd.data(), rows, cols, kEps);
    std::vector<double> e_y(x.size()), e_mean(rows), e_rstd(rows);
    for (int64_t r = 0; r < rows; ++r) {
      double m = 0.0, v = 0.0;
      for (int64_t c = 0; c < cols; ++c) m += x[r * cols + c] / double(cols);
      for (int64_t c = 0; c < cols; ++c) v += std::pow(x[r * cols + c] - m, 2) / double(cols);
      e_mean[r] = m;
      e_rstd[r] = 1.0 / std::sqrt(v + kEps);
      for (int64_t c = 0; c < cols; ++c)
        e_y[r * cols + c] = (x[r * cols + c] - m) * e_rstd[r] * (affine ? gamma[c] : 1.0) + (affine ? beta[c] : 0.0);
    }
    EXPECT_TRUE(all_close(mean, e_mean, 1e-6));
    EXPECT_TRUE(all_close(rstd, e_rstd, 1e-6));
    EXPECT_TRUE(all_close(y, e_y, 1e-5));
  }
}

TEST(KernelsCpuLayerNorm, BackwardMatchesFiniteDifferences) {
  const int64_t rows = 4, cols = 9;
  const auto x = random_vector(rows * cols, 4, -2.0f, 2.0f);
  const auto gamma = random_vector(cols, 5, 0.5f, 1.5f), beta = random_vector(cols, 6);
  const auto gy = random_vector(rows * cols, 7);
  std::vector<float> y(x.size()), mean(rows), rstd(rows), gx(x.size()), ggamma(cols), gbeta(cols);
  kernels::cpu::layer_norm_forward(x.data(), gamma.data(), beta.data(), y.data(), mean.data(), rstd.data(), rows, cols,
                                   kEps);
  kernels::cpu::layer_norm_backward(gy.data(), x.data(), mean.data(), rstd.data(), gamma.data(), gx.data(),
                                    ggamma.data(), gbeta.data(), rows, cols);
  const auto e_gx = numeric_gradient([&](const std::vector<float>& v) { return forward(v, gamma, beta, rows, cols); },
                                     x, gy, 1e-2);
  const auto e_ggamma = numeric_gradient([&](const std::vector<float>& v) { return forward(x, v, beta, rows, cols); },
                                         gamma, gy, 1e-2);
  const auto e_gbeta = numeric_gradient([&](const std::vector<float>& v) { return forward(x, gamma, v, rows, cols); },
                                        beta, gy, 1e-2);
  // Central differences of a float32 forward with h = 1e-2: agreement to about 1e-3.
  EXPECT_TRUE(all_close(gx, e_gx, 2e-3, 1e-2));
  EXPECT_TRUE(all_close(ggamma, e_ggamma, 2e-3, 1e-2));
  EXPECT_TRUE(all_close(gbeta, e_gbeta, 2e-3, 1e-2));
}

}  // namespace
}  // namespace dlcore
