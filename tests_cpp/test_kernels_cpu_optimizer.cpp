// Tests of the fused CPU optimizer updates over three steps: hand-worked SGD and Adam cases, and
// values produced by torch.optim 2.13 for the same parameters and gradients (SGD nesterov + weight
// decay, Adam with L2, AdamW, AMSGrad with maximize, Adagrad, Adadelta, centered RMSprop with
// momentum, Adamax, NAdam, NAdam with decoupled decay, RAdam), so every rule follows torch's
// formulas term for term; plus per-tensor step counts in one list call and threaded large tensors.
#include <functional>

#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;

const std::vector<std::vector<float>> kGrads = {{0.5f, -1.0f, 2.0f},
                                                {0.25f, 0.5f, -1.5f},
                                                {-0.75f, 1.0f, 0.125f}};
const std::vector<float> kStart = {1.0f, -2.0f, 0.5f};
using Expected = std::vector<std::vector<double>>;

// Runs `update` for three steps of kGrads on kStart, with `slots` state tensors starting at
// `initial_state`, checking the parameter after each step.
void check_rule(int slots, float initial_state,
                const std::function<void(const OptimizerTensor*, int64_t)>& update, const Expected& expected) {
  auto p = kStart;
  std::vector<std::vector<float>> state(slots, std::vector<float>(3, initial_state));
  float mu_product = 1.0f;
  for (size_t step = 0; step < kGrads.size(); ++step) {
    OptimizerTensor t{};
    t.param = p.data();
    t.grad = kGrads[step].data();
    for (int s = 0; s < slots; ++s) t.state[s] = state[s].data();
    t.n = 3;
    t.step = static_cast<int64_t>(step + 1);
    // NAdam's mu_product as the op layer keeps it: float32, times mu_t (beta1 0.8, decay 0.004).
    mu_product *= static_cast<float>(0.8 * (1.0 - 0.5 * std::pow(0.96, (step + 1) * 0.004)));
    t.mu_product = mu_product;
    t.first_step = step == 0;
    update(&t, 1);
    // A handful of float operations per step, compared with torch's float results: 1e-6.
    EXPECT_TRUE(all_close(p, expected[step], 1e-6)) << "step " << step + 1;
  }
}

TEST(KernelsCpuOptimizer, SgdMomentumDampeningByHand) {
  // Element 0: buf = 0.5, p = 1 - 0.1*0.5 = 0.95; buf = 0.9*0.5 + 0.5*0.25 = 0.575,
  // p = 0.95 - 0.0575 = 0.8925; buf = 0.9*0.575 + 0.5*(-0.75) = 0.1425, p = 0.87825.
  const SgdHyper h{0.1, 0.9, 0.5, 0.0, false, false};
  check_rule(1, 1234.0f, [&](const OptimizerTensor* t, int64_t n) { kernels::cpu::sgd_update(t, n, h); },
             {{0.95, -1.9, 0.3}, {0.8925, -1.835, 0.195}, {0.87825, -1.8265, 0.09425}});
}

TEST(KernelsCpuOptimizer, SgdPlainStepAndMaximize) {
  // No momentum: p -= lr * (g + wd * p); 1 - 0.1*(0.5 + 0.1*1) = 0.94. maximize negates g only.
  for (bool maximize : {false, true}) {
    auto p = kStart;
    OptimizerTensor t{p.data(), kGrads[0].data(), {nullptr}, 3, 1, 1.0f, true};
    kernels::cpu::sgd_update(&t, 1, {0.1, 0.0, 0.0, 0.1, false, maximize});
    const std::vector<double> expected = maximize ? std::vector<double>{1.04, -2.08, 0.695}
                                                  : std::vector<double>{0.94, -1.88, 0.295};
    EXPECT_TRUE(all_close(p, expected, 1e-6)) << "maximize " << maximize;
  }
}

TEST(KernelsCpuOptimizer, SgdNesterovWeightDecayMatchesTorch) {
  const SgdHyper h{0.1, 0.9, 0.0, 0.01, true, false};
  check_rule(1, 1234.0f, [&](const OptimizerTensor* t, int64_t n) { kernels::cpu::sgd_update(t, n, h); },
             {{0.9031000137329102, -1.8062000274658203, 0.11904997378587723},
              {0.8125741481781006, -1.8151482343673706, 0.2414187639951706},
              {0.8953697681427002, -1.9663784503936768, 0.19244913756847382}});
}

TEST(KernelsCpuOptimizer, AdamConstantGradientByHand) {
  // With a constant gradient the bias-corrected m_hat = g and v_hat = g^2, so every step moves
  // p by lr * g / (|g| + eps) = lr: 0.9, 0.8, 0.7.
  std::vector<float> p{1.0f}, g{0.5f}, m{0.0f}, v{0.0f};
  for (int64_t step = 1; step <= 3; ++step) {
    OptimizerTensor t{p.data(), g.data(), {m.data(), v.data(), nullptr}, 1, step, 1.0f, false};
    kernels::cpu::adam_update(&t, 1, {0.1, 0.9, 0.999, 1e-8, 0.0, false, false, false});
    EXPECT_NEAR(p[0], 1.0 - 0.1 * static_cast<double>(step), 1e-6);
  }
}

TEST(KernelsCpuOptimizer, AdamL2WeightDecayMatchesTorch) {
  const AdamHyper h{0.01, 0.8, 0.95, 1e-6, 0.1, false, false, false};
  check_rule(2, 0.0f, [&](const OptimizerTensor* t, int64_t n) { kernels::cpu::adam_update(t, n, h); },
             {{0.9900000095367432, -1.9900000095367432, 0.49000000953674316},
              {0.9805564880371094, -1.985766887664795, 0.4894062280654907},
              {0.9804727435112, -1.9870997667312622, 0.4884735941886902}});
}

TEST(KernelsCpuOptimizer, AdamWDecoupledWeightDecayMatchesTorch) {
  const AdamHyper h{0.01, 0.8, 0.95, 1e-6, 0.1, true, false, false};
  check_rule(2, 0.0f, [&](const OptimizerTensor* t, int64_t n) { kernels::cpu::adam_update(t, n, h); },
             {{0.9890000224113464, -1.9880000352859497, 0.4895000159740448},
              {0.9788045287132263, -1.9838875532150269, 0.4886951148509979},
              {0.979555070400238, -1.9854997396469116, 0.48761534690856934}});
}

TEST(KernelsCpuOptimizer, AdamAmsgradMaximizeMatchesTorch) {
  const AdamHyper h{0.01, 0.8, 0.95, 1e-6, 0.0, false, true, true};
  check_rule(3, 0.0f, [&](const OptimizerTensor* t, int64_t n) { kernels::cpu::adam_update(t, n, h); },
             {{1.0099999904632568, -2.009999990463257, 0.5099999904632568},
              {1.0192065238952637, -2.012124538421631, 0.5103154182434082},
              {1.0174771547317505, -2.008528470993042, 0.5108923316001892}});
}

TEST(KernelsCpuOptimizer, AdagradMatchesTorch) {
  // lr 0.1, lr_decay 0.05, weight decay 0.1, initial accumulator 0.2, eps 1e-10.
  const AdagradHyper h{0.1, 0.05, 0.1, 1e-10, false};
  check_rule(1, 0.2f, [&](const OptimizerTensor* t, int64_t n) { kernels::cpu::adagrad_update(t, n, h); },
             {{0.9198216199874878, -1.9062957763671875, 0.40229782462120056},
              {0.8802362084388733, -1.9286597967147827, 0.4566885232925415},
              {0.9372237920761108, -1.9761507511138916, 0.4506319761276245}});
}

TEST(KernelsCpuOptimizer, AdadeltaMatchesTorch) {
  const AdadeltaHyper h{0.5, 0.8, 1e-6, 0.1, false};
  check_rule(2, 0.0f, [&](const OptimizerTensor* t, int64_t n) { kernels::cpu::adadelta_update(t, n, h); },
             {{0.998881995677948, -1.9988819360733032, 0.4988819658756256},
              {0.9980184435844421, -1.9993077516555786, 0.49986276030540466},
              {0.999316930770874, -2.000283718109131, 0.49971330165863037}});
}

TEST(KernelsCpuOptimizer, CenteredRmspropWithMomentumMatchesTorch) {
  const RmspropHyper h{0.01, 0.9, 1e-8, 0.1, 0.5, true, false};
  check_rule(3, 0.0f, [&](const OptimizerTensor* t, int64_t n) { kernels::cpu::rmsprop_update(t, n, h); },
             {{0.9666666984558105, -1.9666666984558105, 0.46666666865348816},
              {0.9318685531616211, -1.9583247900009155, 0.4689544141292572},
              {0.937279224395752, -1.9726279973983765, 0.46773868799209595}});
}

TEST(KernelsCpuOptimizer, AdamaxMatchesTorch) {
  const AdamaxHyper h{0.02, 0.8, 0.95, 1e-8, 0.1, false};
  check_rule(2, 0.0f, [&](const OptimizerTensor* t, int64_t n) { kernels::cpu::adamax_update(t, n, h); },
             {{0.9800000190734863, -1.9800000190734863, 0.47999998927116394},
              {0.9638596773147583, -1.9735867977142334, 0.4789274036884308},
              {0.9637494683265686, -1.975677490234375, 0.47749510407447815}});
}

TEST(KernelsCpuOptimizer, NadamMatchesTorch) {
  const NadamHyper l2{0.02, 0.8, 0.95, 1e-8, 0.1, 0.004, false, false};
  check_rule(2, 0.0f, [&](const OptimizerTensor* t, int64_t n) { kernels::cpu::nadam_update(t, n, l2); },
             {{0.9780944585800171, -1.978094458580017, 0.4780944287776947},
              {0.9649927616119385, -1.9817835092544556, 0.48963966965675354},
              {0.980160653591156, -1.9945050477981567, 0.4877067506313324}});
  const NadamHyper decoupled{0.02, 0.8, 0.95, 1e-8, 0.1, 0.004, true, false};
  check_rule(2, 0.0f, [&](const OptimizerTensor* t, int64_t n) { kernels::cpu::nadam_update(t, n, decoupled); },
             {{0.9760944843292236, -1.9740945100784302, 0.477094441652298},
              {0.9622036814689636, -1.978596568107605, 0.48820722103118896},
              {0.9786085486412048, -1.9908790588378906, 0.4858666658401489}});
}

TEST(KernelsCpuOptimizer, RadamBeforeRectificationMatchesTorch) {
  // Three steps keep rho_t below 5: the unrectified update (bias-corrected momentum times lr).
  const RadamHyper h{0.02, 0.8, 0.95, 1e-8, 0.1, false, false};
  check_rule(2, 0.0f, [&](const OptimizerTensor* t, int64_t n) { kernels::cpu::radam_update(t, n, h); },
             {{0.9879999756813049, -1.9759999513626099, 0.45899999141693115},
              {0.9787910580635071, -1.9686932563781738, 0.4569344222545624},
              {0.9787015318870544, -1.9709641933441162, 0.45431628823280334}});
}

TEST(KernelsCpuOptimizer, LargeTensorUsesThreadsConsistently) {
  // Every element gets the same gradient, so every element must end at the same value.
  const int64_t n = 200003;
  std::vector<float> p(n, 1.0f), g(n, 0.5f), m(n, 0.0f), v(n, 0.0f);
  for (int64_t step = 1; step <= 3; ++step) {
    OptimizerTensor t{p.data(), g.data(), {m.data(), v.data(), nullptr}, n, step, 1.0f, false};
    kernels::cpu::adam_update(&t, 1, {0.1, 0.9, 0.999, 1e-8, 0.0, false, false, false});
  }
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(p[i], p[0]);
  EXPECT_NEAR(p[0], 0.7f, 1e-6f);
}

TEST(KernelsCpuOptimizer, ListUpdatesEachTensorWithItsOwnStep) {
  // Two tensors in one call, the second one step behind (it had no gradient once), must match two
  // single-tensor calls: the list form carries per-tensor state, not shared state.
  std::vector<float> p0 = kStart, p1 = kStart, q0 = kStart, q1 = kStart;
  std::vector<float> m0(3), v0(3), m1(3), v1(3), n0(3), w0(3), n1(3), w1(3);
  const AdamHyper h{0.01, 0.8, 0.95, 1e-6, 0.1, true, false, false};
  for (int64_t step = 1; step <= 3; ++step) {
    const OptimizerTensor both[] = {
        {p0.data(), kGrads[step - 1].data(), {m0.data(), v0.data(), nullptr}, 3, step, 1.0f, false},
        {p1.data(), kGrads[0].data(), {m1.data(), v1.data(), nullptr}, 3, step + 5, 1.0f, false}};
    kernels::cpu::adam_update(both, 2, h);
    const OptimizerTensor one{q0.data(), kGrads[step - 1].data(), {n0.data(), w0.data(), nullptr}, 3, step, 1.0f, false};
    const OptimizerTensor two{q1.data(), kGrads[0].data(), {n1.data(), w1.data(), nullptr}, 3, step + 5, 1.0f, false};
    kernels::cpu::adam_update(&one, 1, h);
    kernels::cpu::adam_update(&two, 1, h);
  }
  EXPECT_EQ(p0, q0);
  EXPECT_EQ(p1, q1);
  EXPECT_NE(p0, p1);
}

}  // namespace
}  // namespace dlcore
