// SGD (plain, momentum, dampening, Nesterov, weight decay), Adam and AdamW over three steps against
// values worked out in double from torch.optim's update rules, plus checkpointed state that resumes
// identically, parameters without gradients, and the argument checks.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>

#include "dlcore/optim.h"
#include "gradcheck.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::tensor_from;
using testing::values_of;

const std::vector<float> kStart = {0.5f, -1.0f, 2.0f};
const std::vector<std::vector<float>> kGrads = {{0.1f, -0.2f, 0.3f}, {-0.4f, 0.5f, 0.05f}, {0.2f, 0.2f, -0.6f}};

using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;

// Three steps from kStart with the fixed gradients kGrads; returns the parameter afterwards.
std::vector<float> run_three_steps(const MakeOptimizer& make) {
  Tensor p = tensor_from(kStart, {3}, true);
  auto opt = make({p});
  for (const auto& g : kGrads) {
    p.set_grad(tensor_from(g, {3}));
    opt->step();
  }
  return values_of(p);
}

struct Case {
  const char* name;
  MakeOptimizer make;
  std::vector<double> expected;
};

// Expected values, in double, of the torch.optim rules (g_t includes weight decay where coupled):
//   SGD:   b_1 = g_1, b_t = momentum * b_{t-1} + (1 - dampening) * g_t;
//          p -= lr * (nesterov ? g_t + momentum * b_t : b_t)
//   Adam:  m_t = b1 m + (1 - b1) g, v_t = b2 v + (1 - b2) g^2;
//          p -= lr / (1 - b1^t) * m_t / (sqrt(v_t) / sqrt(1 - b2^t) + eps)
//   AdamW: p *= 1 - lr * wd before the Adam step, with g free of weight decay.
// Worked example, momentum 0.9 on the first element: b = 0.1, p = 0.49; b = 0.09 - 0.4 = -0.31,
// p = 0.521; b = -0.279 + 0.2 = -0.079, p = 0.5289.
std::vector<Case> cases() {
  using optim::Adam;
  using optim::SGD;
  auto sgd = [](float lr, float momentum, float dampening, float wd, bool nesterov) -> MakeOptimizer {
    return [=](std::vector<Tensor> ps) { return std::make_unique<SGD>(ps, lr, momentum, dampening, wd, nesterov); };
  };
  auto adam = [](float wd, bool decoupled) -> MakeOptimizer {
    return [=](std::vector<Tensor> ps) { return std::make_unique<Adam>(ps, 0.01f, 0.9f, 0.999f, 1e-8f, wd, decoupled); };
  };
  return {
      {"SGD plain", sgd(0.1f, 0, 0, 0, false), {0.51, -1.05, 2.025}},
      {"SGD momentum 0.9", sgd(0.1f, 0.9f, 0, 0, false), {0.5289, -1.0608, 1.9692}},
      {"SGD momentum 0.9, dampening 0.5", sgd(0.1f, 0.9f, 0.5f, 0, false), {0.5009, -1.0033, 1.94395}},
      {"SGD Nesterov 0.9", sgd(0.1f, 0.9f, 0, 0, true), {0.53601, -1.10472, 1.99728}},
      {"SGD momentum 0.9, weight decay 0.01", sgd(0.1f, 0.9f, 0, 0.01f, false),
       {0.5260953895, -1.055220779, 1.958108568}},
      {"Adam", adam(0, false), {0.496696772346, -0.999851582813, 1.985130241311}},
      {"Adam, L2 weight decay 0.1", adam(0.1f, false), {0.493440077733, -0.994683576948, 1.978574003964}},
      {"AdamW, weight decay 0.1", adam(0.1f, true), {0.495212666810, -0.996870149659, 1.979164062583}},
  };
}

TEST(Optimizer, ThreeStepsMatchTheTorchRulesInDouble) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    // float32 arithmetic on values of order 1 over three steps: 2e-6 absolute.
    EXPECT_TRUE(all_close(run_three_steps(c.make), c.expected, 2e-6));
  }
}

// Runs two steps, checkpoints (parameter and optimizer state), restores both into fresh objects,
// and checks the third step is identical to an uninterrupted run.
void expect_resume_identical(const MakeOptimizer& make, const std::vector<std::string>& expected_keys) {
  Tensor p = tensor_from(kStart, {3}, true);
  auto opt = make({p});
  for (int step = 0; step < 2; ++step) {
    p.set_grad(tensor_from(kGrads[step], {3}));
    opt->step();
  }
  nn::NamedTensors saved;
  for (const auto& [key, t] : opt->state_tensors()) saved.emplace_back(key, t.clone());
  std::vector<std::string> keys;
  for (const auto& e : saved) keys.push_back(e.first);
  EXPECT_EQ(keys, expected_keys);

  Tensor resumed = tensor_from(values_of(p), {3}, true);
  auto restored = make({resumed});
  restored->load_state_tensors(saved);
  p.set_grad(tensor_from(kGrads[2], {3}));
  resumed.set_grad(tensor_from(kGrads[2], {3}));
  opt->step();
  restored->step();
  EXPECT_EQ(values_of(resumed), values_of(p));  // bit for bit
  for (size_t i = 0; i < saved.size(); ++i)
    EXPECT_EQ(values_of(restored->state_tensors()[i].second), values_of(opt->state_tensors()[i].second));
}

TEST(Optimizer, StateRoundTripResumesIdentically) {
  {
    SCOPED_TRACE("SGD");
    expect_resume_identical(cases()[1].make, {"0.momentum_buffer"});
  }
  {
    SCOPED_TRACE("Adam");  // the step count travels too, or the bias correction would restart
    expect_resume_identical(cases()[5].make, {"0.exp_avg", "0.exp_avg_sq", "0.step"});
  }
}

TEST(Optimizer, LoadStateRejectsBadEntries) {
  Tensor p = tensor_from(kStart, {3}, true);
  optim::Adam adam({p}, 0.01f, 0.9f, 0.999f, 1e-8f, 0, false);
  EXPECT_THROW(adam.load_state_tensors({{"0.momentum_buffer", Tensor::zeros({3})}}), ValueError);
  EXPECT_THROW(adam.load_state_tensors({{"0.exp_avg", Tensor::zeros({4})}}), ValueError);
  EXPECT_THROW(adam.load_state_tensors({{"1.exp_avg", Tensor::zeros({3})}}), ValueError);
  EXPECT_THROW(adam.load_state_tensors({{"exp_avg", Tensor::zeros({3})}}), ValueError);
}

TEST(Optimizer, ParametersWithoutGradientsAreSkipped) {
  Tensor with_grad = tensor_from(kStart, {3}, true), without = tensor_from({1.0f, 2.0f}, {2}, true);
  optim::Adam adam({with_grad, without}, 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f, true);
  with_grad.set_grad(tensor_from(kGrads[0], {3}));
  adam.step();
  adam.step();
  EXPECT_EQ(values_of(without), (std::vector<float>{1.0f, 2.0f}));  // not even weight decay touched it
  for (const auto& [key, t] : adam.state_tensors()) EXPECT_EQ(key[0], '0') << key << " is state for a skipped parameter";

  // Its first real step is a first step (bias correction with t = 1), like a fresh optimizer's.
  Tensor fresh = tensor_from({1.0f, 2.0f}, {2}, true);
  optim::Adam reference({fresh}, 0.01f, 0.9f, 0.999f, 1e-8f, 0.1f, true);
  with_grad.set_grad(Tensor());
  without.set_grad(tensor_from({0.3f, -0.7f}, {2}));
  fresh.set_grad(tensor_from({0.3f, -0.7f}, {2}));
  adam.step();
  reference.step();
  EXPECT_EQ(values_of(without), values_of(fresh));

  optim::SGD sgd({with_grad}, 0.1f, 0.9f);
  sgd.step();  // no gradient at all: a no-op
  EXPECT_TRUE(sgd.state_tensors().empty());
}

TEST(Optimizer, ZeroGradAndLearningRate) {
  Tensor p = tensor_from(kStart, {3}, true);
  optim::SGD sgd({p}, 0.1f);
  p.set_grad(tensor_from(kGrads[0], {3}));
  sgd.zero_grad(/*set_to_none=*/false);
  EXPECT_EQ(values_of(p.grad()), (std::vector<float>{0, 0, 0}));
  sgd.zero_grad();
  EXPECT_FALSE(p.grad().defined());
  sgd.set_lr(0.5f);
  EXPECT_DOUBLE_EQ(sgd.hyperparameters().at("lr"), 0.5);
  p.set_grad(tensor_from({1.0f, 1.0f, 1.0f}, {3}));
  sgd.step();
  EXPECT_EQ(values_of(p), (std::vector<float>{0.0f, -1.5f, 1.5f}));
  EXPECT_THROW(sgd.set_hyperparameter("betas", 0.5), ValueError);
}

TEST(Optimizer, InvalidArgumentsThrow) {
  auto param = [] { return tensor_from(kStart, {3}, true); };
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(optim::SGD({param()}, -0.1f), ValueError);
  EXPECT_THROW(optim::SGD({param()}, nan), ValueError);
  EXPECT_THROW(optim::SGD({param()}, 0.1f, -0.9f), ValueError);
  EXPECT_THROW(optim::SGD({param()}, 0.1f, 0.9f, 0, -1e-4f), ValueError);
  EXPECT_THROW(optim::SGD({param()}, 0.1f, 0.0f, 0, 0, true), ValueError);     // Nesterov without momentum
  EXPECT_THROW(optim::SGD({param()}, 0.1f, 0.9f, 0.1f, 0, true), ValueError);  // Nesterov with dampening
  EXPECT_THROW(optim::Adam({param()}, 0.01f, 1.0f, 0.999f, 1e-8f, 0, false), ValueError);
  EXPECT_THROW(optim::Adam({param()}, 0.01f, 0.9f, -0.1f, 1e-8f, 0, false), ValueError);
  EXPECT_THROW(optim::Adam({param()}, 0.01f, 0.9f, 0.999f, -1e-8f, 0, false), ValueError);
  EXPECT_THROW(optim::Adam({param()}, 0.01f, 0.9f, 0.999f, 1e-8f, -0.1f, true), ValueError);
  EXPECT_THROW(optim::Adam({param()}, -0.01f, 0.9f, 0.999f, 1e-8f, 0, true), ValueError);

  Tensor p = param();
  EXPECT_THROW(optim::SGD({}, 0.1f), ValueError);
  EXPECT_THROW(optim::SGD({p, p}, 0.1f), ValueError);                       // duplicated
  EXPECT_THROW(optim::SGD({tensor_from(kStart, {3})}, 0.1f), ValueError);   // no requires_grad
  EXPECT_THROW(optim::SGD({ops::affine(p, 2.0f, 0.0f)}, 0.1f), ValueError);  // not a leaf
}

}  // namespace
}  // namespace dlcore
