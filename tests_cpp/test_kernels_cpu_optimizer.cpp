// Tests of the fused CPU optimizer updates over three steps: hand-worked SGD and Adam cases, and
// values produced by torch.optim 2.13 (SGD nesterov + weight decay, Adam with L2, AdamW) for the
// same parameters and gradients, so the kernels follow torch's formulas term for term.
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;

const std::vector<std::vector<float>> kGrads = {{0.5f, -1.0f, 2.0f},
                                                {0.25f, 0.5f, -1.5f},
                                                {-0.75f, 1.0f, 0.125f}};
const std::vector<float> kStart = {1.0f, -2.0f, 0.5f};

struct SgdConfig {
  float lr, momentum, dampening, weight_decay;
  bool nesterov;
};

void check_sgd(const SgdConfig& c, const std::vector<std::vector<double>>& expected) {
  auto p = kStart;
  std::vector<float> buf(3, 1234.0f);  // ignored on the first step
  for (size_t step = 0; step < kGrads.size(); ++step) {
    const SgdParam a{p.data(), kGrads[step].data(), buf.data(), 3, step == 0};
    kernels::cpu::sgd_update(&a, 1, {c.lr, c.momentum, c.dampening, c.weight_decay, c.nesterov});
    // Float arithmetic vs torch's float arithmetic (possibly fused differently): 1e-6.
    EXPECT_TRUE(all_close(p, expected[step], 1e-6)) << "step " << step + 1;
  }
}

TEST(KernelsCpuOptimizer, SgdMomentumDampeningByHand) {
  // Element 0: buf = 0.5, p = 1 - 0.1*0.5 = 0.95; buf = 0.9*0.5 + 0.5*0.25 = 0.575,
  // p = 0.95 - 0.0575 = 0.8925; buf = 0.9*0.575 + 0.5*(-0.75) = 0.1425, p = 0.87825.
  check_sgd({0.1f, 0.9f, 0.5f, 0.0f, false}, {{0.95, -1.9, 0.3},
                                              {0.8925, -1.835, 0.195},
                                              {0.87825, -1.8265, 0.09425}});
}

TEST(KernelsCpuOptimizer, SgdPlainStep) {
  // No momentum: p -= lr * (g + wd * p); 1 - 0.1*(0.5 + 0.1*1) = 0.94.
  auto p = kStart;
  std::vector<float> unused(3);
  const SgdParam a{p.data(), kGrads[0].data(), unused.data(), 3, true};
  kernels::cpu::sgd_update(&a, 1, {0.1f, 0.0f, 0.0f, 0.1f, false});
  EXPECT_TRUE(all_close(p, std::vector<double>{0.94, -1.88, 0.295}, 1e-6));
}

TEST(KernelsCpuOptimizer, SgdNesterovWeightDecayMatchesTorch) {
  check_sgd({0.1f, 0.9f, 0.0f, 0.01f, true},
            {{0.9031000137329102, -1.8062000274658203, 0.11904997378587723},
             {0.8125741481781006, -1.8151482343673706, 0.2414187639951706},
             {0.8953697681427002, -1.9663784503936768, 0.19244913756847382}});
}

struct AdamConfig {
  float lr, beta1, beta2, eps, weight_decay;
  bool decoupled;
};

void check_adam(const AdamConfig& c, const std::vector<std::vector<float>>& grads,
                std::vector<float> p, const std::vector<std::vector<double>>& expected) {
  const int64_t n = static_cast<int64_t>(p.size());
  std::vector<float> m(n, 0.0f), v(n, 0.0f);
  for (size_t step = 0; step < grads.size(); ++step) {
    const AdamParam a{p.data(), grads[step].data(), m.data(), v.data(), n, static_cast<int64_t>(step + 1)};
    kernels::cpu::adam_update(&a, 1, {c.lr, c.beta1, c.beta2, c.eps, c.weight_decay, c.decoupled});
    // A handful of float operations per step, compared with torch's float results: 1e-6.
    EXPECT_TRUE(all_close(p, expected[step], 1e-6)) << "step " << step + 1;
  }
}

TEST(KernelsCpuOptimizer, AdamConstantGradientByHand) {
  // With a constant gradient the bias-corrected m_hat = g and v_hat = g^2, so every step moves
  // p by lr * g / (|g| + eps) = lr: 0.9, 0.8, 0.7.
  check_adam({0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, false}, {{0.5f}, {0.5f}, {0.5f}}, {1.0f},
             {{0.9}, {0.8}, {0.7}});
}

TEST(KernelsCpuOptimizer, AdamL2WeightDecayMatchesTorch) {
  check_adam({0.01f, 0.8f, 0.95f, 1e-6f, 0.1f, false}, kGrads, kStart,
             {{0.9900000095367432, -1.9900000095367432, 0.49000000953674316},
              {0.9805564880371094, -1.985766887664795, 0.4894062280654907},
              {0.9804727435112, -1.9870997667312622, 0.4884735941886902}});
}

TEST(KernelsCpuOptimizer, AdamWDecoupledWeightDecayMatchesTorch) {
  check_adam({0.01f, 0.8f, 0.95f, 1e-6f, 0.1f, true}, kGrads, kStart,
             {{0.9890000224113464, -1.9880000352859497, 0.4895000159740448},
              {0.9788045287132263, -1.9838875532150269, 0.4886951148509979},
              {0.979555070400238, -1.9854997396469116, 0.48761534690856934}});
}

TEST(KernelsCpuOptimizer, LargeTensorUsesThreadsConsistently) {
  // Every element gets the same gradient, so every element must end at the same value.
  const int64_t n = 200003;
  std::vector<float> p(n, 1.0f), g(n, 0.5f), m(n, 0.0f), v(n, 0.0f);
  for (int64_t step = 1; step <= 3; ++step) {
    const AdamParam a{p.data(), g.data(), m.data(), v.data(), n, step};
    kernels::cpu::adam_update(&a, 1, {0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, false});
  }
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(p[i], p[0]);
  EXPECT_NEAR(p[0], 0.7f, 1e-6f);
}

TEST(KernelsCpuOptimizer, ListUpdatesEachTensorWithItsOwnStep) {
  // Two tensors in one call, the second one step behind (it had no gradient once), must match two
  // single-tensor calls: the list form carries per-tensor state, not shared state.
  std::vector<float> p0 = kStart, p1 = kStart, q0 = kStart, q1 = kStart;
  std::vector<float> m0(3), v0(3), m1(3), v1(3), n0(3), w0(3), n1(3), w1(3);
  const AdamHyper h{0.01f, 0.8f, 0.95f, 1e-6f, 0.1f, true};
  for (int64_t step = 1; step <= 3; ++step) {
    const AdamParam both[] = {{p0.data(), kGrads[step - 1].data(), m0.data(), v0.data(), 3, step},
                              {p1.data(), kGrads[0].data(), m1.data(), v1.data(), 3, step + 5}};
    kernels::cpu::adam_update(both, 2, h);
    const AdamParam one = {q0.data(), kGrads[step - 1].data(), n0.data(), w0.data(), 3, step};
    const AdamParam two = {q1.data(), kGrads[0].data(), n1.data(), w1.data(), 3, step + 5};
    kernels::cpu::adam_update(&one, 1, h);
    kernels::cpu::adam_update(&two, 1, h);
  }
  EXPECT_EQ(p0, q0);
  EXPECT_EQ(p1, q1);
  EXPECT_NE(p0, p1);
}

}  // namespace
}  // namespace dlcore
