// Tests of the CPU softmax family: softmax / log-softmax forward against double references and
// backward against finite differences, and the fused cross-entropy (with label smoothing) against
// the documented formula, its gradient against finite differences, and huge logits.
#include <cmath>

#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::numeric_gradient;
using testing::random_indices;
using testing::random_vector;

std::vector<double> reference_log_softmax(const std::vector<float>& x, int64_t N, int64_t C) {
  std::vector<double> out(x.size());
  for (int64_t n = 0; n < N; ++n) {
    double total = 0.0;
    for (int64_t c = 0; c < C; ++c) total += std::exp(static_cast<double>(x[n * C + c]));
    for (int64_t c = 0; c < C; ++c) out[n * C + c] = x[n * C + c] - std::log(total);
  }
  return out;
}

using RowForward = void (*)(const float*, float*, int64_t, int64_t);
using RowBackward = void (*)(const float*, const float*, float*, int64_t, int64_t);

std::vector<float> run_rows(RowForward forward, const std::vector<float>& x, int64_t N, int64_t C) {
  std::vector<float> y(x.size());
  forward(x.data(), y.data(), N, C);
  return y;
}

void check_softmax_pair(RowForward forward, RowBackward backward, bool log_space) {
  for (auto [N, C] : {std::pair<int64_t, int64_t>{4, 10}, {1, 1}, {3, 37}, {2000, 10}}) {
    const auto x = random_vector(N * C, 1, -3.0f, 3.0f);
    const auto y = run_rows(forward, x, N, C);
    auto expected = reference_log_softmax(x, N, C);
    if (!log_space)
      for (auto& v : expected) v = std::exp(v);
    EXPECT_TRUE(all_close(y, expected, 1e-6)) << "N=" << N << " C=" << C;
    if (N * C > 200) continue;  // the large case only checks the threaded forward
    const auto gy = random_vector(N * C, 2);
    std::vector<float> gx(N * C);
    backward(gy.data(), y.data(), gx.data(), N, C);
    const auto fd = numeric_gradient(
        [&](const std::vector<float>& v) { return run_rows(forward, v, N, C); }, x, gy, 1e-2);
    // Smooth O(1) function, step 1e-2: truncation ~1e-4.
    EXPECT_TRUE(all_close(gx, fd, 2e-3, 0.1)) << "N=" << N << " C=" << C;
  }
}

TEST(KernelsCpuSoftmax, LogSoftmax) {
  check_softmax_pair(kernels::cpu::log_softmax_forward, kernels::cpu::log_softmax_backward, true);
}

TEST(KernelsCpuSoftmax, Softmax) {
  check_softmax_pair(kernels::cpu::softmax_forward, kernels::cpu::softmax_backward, false);
}

TEST(KernelsCpuSoftmax, HugeLogitsStayFinite) {
  const std::vector<float> x = {1e4f, -1e4f, 1e4f - 1.0f, 0.0f};
  const auto logp = run_rows(kernels::cpu::log_softmax_forward, x, 1, 4);
  const auto p = run_rows(kernels::cpu::softmax_forward, x, 1, 4);
  const double lse = 1e4 + std::log(1.0 + std::exp(-1.0));
  EXPECT_TRUE(all_close(logp, std::vector<double>{1e4 - lse, -1e4 - lse, 1e4 - 1.0 - lse, -lse},
                        1e-6));
  const std::vector<double> expected_p = {std::exp(1e4 - lse), 0.0, std::exp(1e4 - 1 - lse), 0.0};
  EXPECT_TRUE(all_close(p, expected_p, 1e-6));
}

std::vector<float> cross_entropy(const std::vector<float>& logits,
                                 const std::vector<int64_t>& target, int64_t N, int64_t C,
                                 float smoothing, std::vector<float>* logp_out = nullptr) {
  std::vector<float> logp(N * C), loss(N);
  kernels::cpu::cross_entropy_forward(logits.data(), target.data(), logp.data(), loss.data(), N,
                                      C, smoothing);
  if (logp_out) *logp_out = logp;
  return loss;
}

TEST(KernelsCpuCrossEntropy, ForwardAndBackward) {
  for (float smoothing : {0.0f, 0.1f, 0.5f}) {
    const int64_t N = 6, C = 7;
    const auto logits = random_vector(N * C, 3, -4.0f, 4.0f);
    const auto target = random_indices(N, 4, C);
    std::vector<float> logp;
    const auto loss = cross_entropy(logits, target, N, C, smoothing, &logp);
    const auto ref_logp = reference_log_softmax(logits, N, C);
    std::vector<double> expected(N);
    for (int64_t n = 0; n < N; ++n) {
      double total = 0.0;
      for (int64_t c = 0; c < C; ++c) total += ref_logp[n * C + c];
      expected[n] = -(1.0 - smoothing) * ref_logp[n * C + target[n]] - smoothing / C * total;
    }
    EXPECT_TRUE(all_close(logp, ref_logp, 1e-6));
    EXPECT_TRUE(all_close(loss, expected, 1e-6)) << "smoothing " << smoothing;

    const auto gloss = random_vector(N, 5, 0.1f, 1.0f);
    std::vector<float> glogits(N * C);
    kernels::cpu::cross_entropy_backward(logp.data(), target.data(), gloss.data(), glogits.data(),
                                         N, C, smoothing);
    const auto fd = numeric_gradient(
        [&](const std::vector<float>& v) { return cross_entropy(v, target, N, C, smoothing); },
        logits, gloss, 1e-2);
    EXPECT_TRUE(all_close(glogits, fd, 2e-3, 0.1)) << "smoothing " << smoothing;
  }
}

TEST(KernelsCpuCrossEntropy, HugeLogitsGiveFiniteLoss) {
  const std::vector<float> logits = {1e4f, -1e4f, 0.0f};
  const std::vector<int64_t> target = {1};
  const auto loss = cross_entropy(logits, target, 1, 3, 0.0f);
  EXPECT_TRUE(all_close(loss, std::vector<double>{2e4}, 1e-6));
}

}  // namespace
}  // namespace dlcore
