// Tests of the CUDA softmax, log-softmax and fused cross-entropy against the CPU backend, for the
// warp-per-row path (C = 10) and the block-per-row path (C = 1500), with label smoothing, batch 1
// and large logits (the max-subtraction keeps them finite).
#include <cmath>

#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_indices;
using testing::random_vector;

struct RowsCase {
  int64_t N, C;
  float scale;  // logits are uniform in [-scale, scale)
};
const RowsCase kCases[] = {{64, 10, 5.0f}, {1, 10, 1.0f}, {7, 1500, 3.0f}, {3, 33, 80.0f}, {5, 1, 1.0f}};

// exp/log on the GPU are a few ulp off the CPU's libm; values are O(1) to O(10): 1e-5 relative
// with an absolute floor of 1.
constexpr double kTol = 1e-5;

TEST(CudaKernelsSoftmaxLoss, SoftmaxAndLogSoftmax) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 1;
  for (const RowsCase& c : kCases) {
    const int64_t n = c.N * c.C;
    const auto x = random_vector(n, seed++, -c.scale, c.scale), gy = random_vector(n, seed++);
    DeviceBuffer<float> dx(x), dgy(gy), dy(n), dgx(n);
    std::vector<float> y(n), gx(n);
    kernels::cuda::log_softmax_forward(dx.get(), dy.get(), c.N, c.C);
    kernels::cpu::log_softmax_forward(x.data(), y.data(), c.N, c.C);
    EXPECT_TRUE(all_close(dy.download(), y, kTol)) << "log_softmax C=" << c.C;
    dy.upload(y);
    kernels::cuda::log_softmax_backward(dgy.get(), dy.get(), dgx.get(), c.N, c.C);
    kernels::cpu::log_softmax_backward(gy.data(), y.data(), gx.data(), c.N, c.C);
    EXPECT_TRUE(all_close(dgx.download(), gx, kTol)) << "log_softmax backward C=" << c.C;

    kernels::cuda::softmax_forward(dx.get(), dy.get(), c.N, c.C);
    kernels::cpu::softmax_forward(x.data(), y.data(), c.N, c.C);
    EXPECT_TRUE(all_close(dy.download(), y, kTol)) << "softmax C=" << c.C;
    dy.upload(y);
    kernels::cuda::softmax_backward(dgy.get(), dy.get(), dgx.get(), c.N, c.C);
    kernels::cpu::softmax_backward(gy.data(), y.data(), gx.data(), c.N, c.C);
    EXPECT_TRUE(all_close(dgx.download(), gx, kTol)) << "softmax backward C=" << c.C;
  }
}

TEST(CudaKernelsSoftmaxLoss, CrossEntropyWithLabelSmoothing) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 100;
  for (const RowsCase& c : kCases)
    for (float smoothing : {0.0f, 0.1f}) {
      const int64_t n = c.N * c.C;
      const auto logits = random_vector(n, seed++, -c.scale, c.scale);
      const auto target = random_indices(c.N, seed++, c.C);
      const auto gloss = random_vector(c.N, seed++, 0.1f, 1.0f);
      DeviceBuffer<float> dlogits(logits), dlogp(n), dloss(c.N), dgloss(gloss), dglogits(n);
      DeviceBuffer<int64_t> dtarget(target);
      std::vector<float> logp(n), loss(c.N), glogits(n);
      kernels::cuda::cross_entropy_forward(dlogits.get(), dtarget.get(), dlogp.get(), dloss.get(),
                                           c.N, c.C, smoothing);
      kernels::cpu::cross_entropy_forward(logits.data(), target.data(), logp.data(), loss.data(),
                                          c.N, c.C, smoothing);
      EXPECT_TRUE(all_close(dlogp.download(), logp, kTol)) << "C=" << c.C << " eps=" << smoothing;
      EXPECT_TRUE(all_close(dloss.download(), loss, kTol)) << "C=" << c.C << " eps=" << smoothing;
      dlogp.upload(logp);
      kernels::cuda::cross_entropy_backward(dlogp.get(), dtarget.get(), dgloss.get(),
                                            dglogits.get(), c.N, c.C, smoothing);
      kernels::cpu::cross_entropy_backward(logp.data(), target.data(), gloss.data(),
                                           glogits.data(), c.N, c.C, smoothing);
      EXPECT_TRUE(all_close(dglogits.download(), glogits, kTol))
          << "C=" << c.C << " eps=" << smoothing;
    }
}

TEST(CudaKernelsSoftmaxLoss, OutOfRangeTargetGivesNanAndRaises) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const int64_t N = 4, C = 10;
  const auto logits = random_vector(N * C, 1);
  DeviceBuffer<float> dlogits(logits), dlogp(N * C), dloss(N);
  DeviceBuffer<int64_t> dtarget(std::vector<int64_t>{3, -1, 9, 10});
  kernels::cuda::cross_entropy_forward(dlogits.get(), dtarget.get(), dlogp.get(), dloss.get(), N,
                                       C, 0.0f);
  EXPECT_THROW(cuda::synchronize(), std::runtime_error);
  std::vector<float> loss;
  EXPECT_NO_THROW(loss = dloss.download());  // the flag was cleared by the first report
  ASSERT_EQ(loss.size(), 4u);
  EXPECT_TRUE(std::isfinite(loss[0]));
  EXPECT_TRUE(std::isnan(loss[1]));
  EXPECT_TRUE(std::isfinite(loss[2]));
  EXPECT_TRUE(std::isnan(loss[3]));
}

}  // namespace
}  // namespace dlcore
