// Tests of the fused CUDA optimizer updates against the CPU backend over several steps: SGD in
// every momentum / dampening / nesterov / weight-decay combination, Adam and AdamW.
#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_vector;

// Same formulas in the same order; only FMA contraction can differ: 1e-6 relative.
constexpr double kTol = 1e-6;
constexpr int64_t kSize = 10007;

TEST(CudaKernelsOptimizer, Sgd) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  struct Config {
    float momentum, dampening, weight_decay;
    bool nesterov;
  };
  const Config configs[] = {{0.0f, 0.0f, 0.0f, false}, {0.9f, 0.0f, 0.0f, false},
                            {0.9f, 0.1f, 1e-2f, false}, {0.9f, 0.0f, 5e-4f, true}};
  uint32_t seed = 1;
  for (const Config& c : configs) {
    auto p = random_vector(kSize, seed++);
    auto buf = random_vector(kSize, seed++);  // garbage before the first step: must be ignored
    DeviceBuffer<float> dp(p), dbuf(buf), dgrad(kSize);
    for (int step = 0; step < 3; ++step) {
      const auto grad = random_vector(kSize, seed++);
      dgrad.upload(grad);
      kernels::cuda::sgd_update(dp.get(), dgrad.get(), dbuf.get(), kSize, 0.05f, c.momentum,
                                c.dampening, c.weight_decay, c.nesterov, step == 0);
      kernels::cpu::sgd_update(p.data(), grad.data(), buf.data(), kSize, 0.05f, c.momentum,
                               c.dampening, c.weight_decay, c.nesterov, step == 0);
    }
    EXPECT_TRUE(all_close(dp.download(), p, kTol)) << "momentum=" << c.momentum;
    if (c.momentum != 0.0f) {
      EXPECT_TRUE(all_close(dbuf.download(), buf, kTol));
    }
  }
}

TEST(CudaKernelsOptimizer, AdamAndAdamW) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 100;
  for (bool decoupled : {false, true})
    for (float weight_decay : {0.0f, 0.01f}) {
      auto p = random_vector(kSize, seed++);
      std::vector<float> m(kSize, 0.0f), v(kSize, 0.0f);
      DeviceBuffer<float> dp(p), dm(m), dv(v), dgrad(kSize);
      for (int64_t step = 1; step <= 4; ++step) {
        const auto grad = random_vector(kSize, seed++);
        dgrad.upload(grad);
        kernels::cuda::adam_update(dp.get(), dgrad.get(), dm.get(), dv.get(), kSize, 1e-3f, 0.9f,
                                   0.999f, 1e-8f, weight_decay, step, decoupled);
        kernels::cpu::adam_update(p.data(), grad.data(), m.data(), v.data(), kSize, 1e-3f, 0.9f,
                                  0.999f, 1e-8f, weight_decay, step, decoupled);
      }
      EXPECT_TRUE(all_close(dp.download(), p, kTol)) << "decoupled=" << decoupled;
      EXPECT_TRUE(all_close(dm.download(), m, kTol));
      EXPECT_TRUE(all_close(dv.download(), v, kTol));
    }
}

}  // namespace
}  // namespace dlcore
