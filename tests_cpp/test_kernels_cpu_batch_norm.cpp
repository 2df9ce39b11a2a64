// Tests of the CPU batch-norm kernels: training forward against a double-precision reference
// (batch statistics, saved mean/invstd, PyTorch's running-stat update with unbiased variance),
// eval forward, and the backward kernel against finite differences of the training forward.
#include <cmath>

#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::numeric_gradient;
using testing::random_vector;

struct BatchNormCase {
  int64_t N, C, inner;
};

std::vector<float> train_forward(const BatchNormCase& c, const std::vector<float>& x,
                                 const std::vector<float>& gamma, const std::vector<float>& beta) {
  std::vector<float> y(x.size()), mean(c.C), invstd(c.C);
  kernels::cpu::batch_norm_forward_train(x.data(), gamma.data(), beta.data(), y.data(),
                                         mean.data(), invstd.data(), nullptr, nullptr, c.N, c.C,
                                         c.inner, 0.1f, 1e-5f);
  return y;
}

TEST(KernelsCpuBatchNorm, TrainForwardStatisticsAndRunningStats) {
  for (const BatchNormCase c : {BatchNormCase{4, 3, 25}, {16, 5, 1}, {64, 6, 196}}) {
    const auto x = random_vector(c.N * c.C * c.inner, 1, -2.0f, 3.0f);
    const auto gamma = random_vector(c.C, 2, 0.5f, 1.5f), beta = random_vector(c.C, 3);
    auto running_mean = random_vector(c.C, 4), running_var = random_vector(c.C, 5, 0.5f, 2.0f);
    const auto old_mean = running_mean, old_var = running_var;
    std::vector<float> y(x.size()), mean(c.C), invstd(c.C);
    const float momentum = 0.1f, eps = 1e-5f;
    kernels::cpu::batch_norm_forward_train(x.data(), gamma.data(), beta.data(), y.data(),
                                           mean.data(), invstd.data(), running_mean.data(),
                                           running_var.data(), c.N, c.C, c.inner, momentum, eps);
    const int64_t count = c.N * c.inner;
    std::vector<double> e_mean(c.C, 0.0), e_var(c.C, 0.0), e_invstd(c.C), e_rm(c.C), e_rv(c.C);
    std::vector<double> e_y(x.size());
    auto at = [&](int64_t n, int64_t ch, int64_t i) { return (n * c.C + ch) * c.inner + i; };
    for (int64_t ch = 0; ch < c.C; ++ch) {
      for (int64_t n = 0; n < c.N; ++n)
        for (int64_t i = 0; i < c.inner; ++i) e_mean[ch] += x[at(n, ch, i)] / double(count);
      for (int64_t n = 0; n < c.N; ++n)
        for (int64_t i = 0; i < c.inner; ++i)
          e_var[ch] += std::pow(x[at(n, ch, i)] - e_mean[ch], 2) / double(count);
      e_invstd[ch] = 1.0 / std::sqrt(e_var[ch] + eps);
      e_rm[ch] = (1 - momentum) * old_mean[ch] + momentum * e_mean[ch];
      e_rv[ch] = (1 - momentum) * old_var[ch] + momentum * e_var[ch] * count / (count - 1.0);
      for (int64_t n = 0; n < c.N; ++n)
        for (int64_t i = 0; i < c.inner; ++i)
          e_y[at(n, ch, i)] = (x[at(n, ch, i)] - e_mean[ch]) * e_invstd[ch] * gamma[ch] + beta[ch];
    }
    // Statistics accumulate in double; the outputs carry a few float roundings.
    EXPECT_TRUE(all_close(mean, e_mean, 1e-6));
    EXPECT_TRUE(all_close(invstd, e_invstd, 1e-6));
    EXPECT_TRUE(all_close(running_mean, e_rm, 1e-6));
    EXPECT_TRUE(all_close(running_var, e_rv, 1e-6));
    EXPECT_TRUE(all_close(y, e_y, 1e-5));
  }
}

TEST(KernelsCpuBatchNorm, EvalForwardUsesRunningStats) {
  const int64_t N = 3, C = 4, inner = 10;
  const auto x = random_vector(N * C * inner, 10);
  const auto gamma = random_vector(C, 11), beta = random_vector(C, 12);
  const auto rm = random_vector(C, 13), rv = random_vector(C, 14, 0.5f, 2.0f);
  std::vector<float> y(x.size());
  kernels::cpu::batch_norm_forward_eval(x.data(), gamma.data(), beta.data(), rm.data(), rv.data(),
                                        y.data(), N, C, inner, 1e-3f);
  std::vector<double> expected(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const int64_t ch = (i / inner) % C;
    expected[i] = (x[i] - rm[ch]) / std::sqrt(rv[ch] + 1e-3) * gamma[ch] + beta[ch];
  }
  EXPECT_TRUE(all_close(y, expected, 1e-5));
}

TEST(KernelsCpuBatchNorm, BackwardMatchesFiniteDifferences) {
  for (const BatchNormCase c : {BatchNormCase{3, 2, 5}, {6, 3, 1}}) {
    const auto x = random_vector(c.N * c.C * c.inner, 20, -2.0f, 2.0f);
    const auto gamma = random_vector(c.C, 21, 0.5f, 1.5f), beta = random_vector(c.C, 22);
    const auto gy = random_vector(x.size(), 23);
    std::vector<float> y(x.size()), mean(c.C), invstd(c.C);
    kernels::cpu::batch_norm_forward_train(x.data(), gamma.data(), beta.data(), y.data(),
                                           mean.data(), invstd.data(), nullptr, nullptr, c.N,
                                           c.C, c.inner, 0.1f, 1e-5f);
    std::vector<float> gx(x.size()), ggamma(c.C), gbeta(c.C);
    kernels::cpu::batch_norm_backward(gy.data(), x.data(), gamma.data(), mean.data(),
                                      invstd.data(), gx.data(), ggamma.data(), gbeta.data(), c.N,
                                      c.C, c.inner);
    const auto fd_x = numeric_gradient(
        [&](const std::vector<float>& v) { return train_forward(c, v, gamma, beta); }, x, gy, 1e-2);
    const auto fd_gamma = numeric_gradient(
        [&](const std::vector<float>& v) { return train_forward(c, x, v, beta); }, gamma, gy, 1e-2);
    const auto fd_beta = numeric_gradient(
        [&](const std::vector<float>& v) { return train_forward(c, x, gamma, v); }, beta, gy, 1e-2);
    // Step 1e-2 on a smooth O(1) function: truncation ~1e-4; gx sums to ~0, hence the floor 0.1.
    EXPECT_TRUE(all_close(gx, fd_x, 2e-3, 0.1));
    EXPECT_TRUE(all_close(ggamma, fd_gamma, 1e-3));
    EXPECT_TRUE(all_close(gbeta, fd_beta, 1e-3));
  }
}

TEST(KernelsCpuBatchNorm, NullAffineMeansIdentityScale) {
  const int64_t N = 5, C = 2, inner = 3;
  const auto x = random_vector(N * C * inner, 30);
  const std::vector<float> ones(C, 1.0f), zeros(C, 0.0f);
  std::vector<float> y_null(x.size()), y_ones(x.size()), mean(C), invstd(C);
  kernels::cpu::batch_norm_forward_train(x.data(), nullptr, nullptr, y_null.data(), mean.data(),
                                         invstd.data(), nullptr, nullptr, N, C, inner, 0.1f, 1e-5f);
  kernels::cpu::batch_norm_forward_train(x.data(), ones.data(), zeros.data(), y_ones.data(),
                                         mean.data(), invstd.data(), nullptr, nullptr, N, C, inner,
                                         0.1f, 1e-5f);
  EXPECT_EQ(y_null, y_ones);
}

}  // namespace
}  // namespace dlcore
