// Modules as containers: parameter names and order (they are the state-dict keys PyTorch
// checkpoints use), state_dict round trips and their errors, train/eval, BatchNorm's running
// statistics, Sequential, and PyTorch's default initialisation bounds.
#include <algorithm>
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>

#include "dlcore/nn.h"
#include "gradcheck.h"

namespace dlcore {
namespace {

using nn::NamedTensors;
using testing::all_close;
using testing::random_tensor;
using testing::values_of;

std::vector<std::string> names_of(const NamedTensors& entries) {
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.first);
  return names;
}

std::string value_error_message(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ValueError& e) {
    return e.what();
  }
  return "(no ValueError)";
}

// A small CNN in the shape of a user's subclass: a parameter of its own, then submodules.
std::shared_ptr<nn::Module> make_net() {
  auto net = std::make_shared<nn::Module>("Net");
  net->register_parameter("scale", Tensor::full({1}, 1.0f));
  net->register_module("conv1", std::make_shared<nn::Conv2d>(2, 3, std::make_pair(3, 3)));
  net->register_module("bn", std::make_shared<nn::BatchNorm2d>(3));
  auto head = std::make_shared<nn::Sequential>();
  head->append(std::make_shared<nn::Flatten>());
  head->append(std::make_shared<nn::Linear>(12, 4));
  net->register_module("head", head);
  return net;
}

TEST(Module, NamedParametersFollowRegistrationOrderDepthFirst) {
  auto net = make_net();
  EXPECT_EQ(names_of(net->named_parameters()),
            (std::vector<std::string>{"scale", "conv1.weight", "conv1.bias", "bn.weight", "bn.bias", "head.1.weight",
                                      "head.1.bias"}));
  EXPECT_EQ(names_of(net->named_buffers()),
            (std::vector<std::string>{"bn.running_mean", "bn.running_var", "bn.num_batches_tracked"}));
  EXPECT_EQ(names_of(net->named_parameters("model", /*recurse=*/false)), (std::vector<std::string>{"model.scale"}));
  EXPECT_EQ(net->parameters().size(), 7u);
  for (const Tensor& p : net->parameters()) {
    EXPECT_TRUE(p.requires_grad());
    EXPECT_TRUE(p.is_leaf());
  }
  EXPECT_EQ(names_of(nn::Linear(3, 2, /*bias=*/false).named_parameters()), (std::vector<std::string>{"weight"}));
}

TEST(Module, SharedParameterIsListedOnce) {
  auto a = std::make_shared<nn::Linear>(3, 3), b = std::make_shared<nn::Linear>(3, 3);
  b->register_parameter("weight", a->parameter("weight"));
  nn::Sequential seq;
  seq.append(a);
  seq.append(b);
  EXPECT_EQ(names_of(seq.named_parameters()), (std::vector<std::string>{"0.weight", "0.bias", "1.bias"}));
}

TEST(Module, RegistrationRejectsBadNamesAndNonLeaves) {
  nn::Module m;
  EXPECT_NE(value_error_message([&] { m.register_parameter("a.b", Tensor::zeros({1})); }).find("register_parameter"),
            std::string::npos);
  Tensor x = random_tensor({2}, 1, true);
  EXPECT_THROW(m.register_parameter("p", ops::relu(x)), ValueError);
  EXPECT_THROW(m.child("missing"), ValueError);
  EXPECT_THROW(m.forward(x), std::runtime_error);  // a bare Module has no forward
}

TEST(Module, StateDictRoundTripCopiesValuesAndKeepsIdentity) {
  manual_seed(1);
  auto source = make_net();
  manual_seed(2);
  auto target = make_net();
  NamedTensors state = source->state_dict();
  EXPECT_EQ(names_of(state).size(), 10u);  // 7 parameters and 3 buffers
  // PyTorch's order: each module's parameters, then its buffers, then its children.
  auto names = names_of(state);
  auto at = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
  EXPECT_EQ(at("bn.running_mean"), at("bn.bias") + 1);
  EXPECT_EQ(at("bn.num_batches_tracked"), at("bn.running_var") + 1);
  for (const auto& [name, t] : state) EXPECT_FALSE(t.requires_grad()) << name;

  Tensor target_weight = target->child("conv1")->parameter("weight");
  EXPECT_NE(values_of(target_weight), values_of(source->child("conv1")->parameter("weight")));
  auto [missing, unexpected] = target->load_state_dict(state);
  EXPECT_TRUE(missing.empty());
  EXPECT_TRUE(unexpected.empty());
  NamedTensors loaded = target->state_dict();
  for (size_t i = 0; i < state.size(); ++i) {
    if (state[i].second.dtype() != DType::Float32) continue;
    EXPECT_EQ(values_of(loaded[i].second), values_of(state[i].second)) << state[i].first;
  }
  // Copied in place: the same parameter object (optimizers keep their handles), its own storage.
  EXPECT_TRUE(target->child("conv1")->parameter("weight").same(target_weight));
  EXPECT_TRUE(target_weight.requires_grad());
  state[1].second.fill_(9.0f);  // conv1.weight of the source
  EXPECT_NE(values_of(target_weight)[0], 9.0f);
}

TEST(Module, StrictLoadNamesMissingAndUnexpectedKeys) {
  auto net = make_net();
  NamedTensors state = net->state_dict();
  state.erase(std::find_if(state.begin(), state.end(), [](const auto& e) { return e.first == "bn.running_var"; }));
  state.emplace_back("head.2.weight", Tensor::zeros({1}));
  std::string message = value_error_message([&] { net->load_state_dict(state); });
  EXPECT_NE(message.find("Missing: bn.running_var"), std::string::npos) << message;
  EXPECT_NE(message.find("Unexpected: head.2.weight"), std::string::npos) << message;

  auto [missing, unexpected] = net->load_state_dict(state, /*strict=*/false);
  EXPECT_EQ(missing, (std::vector<std::string>{"bn.running_var"}));
  EXPECT_EQ(unexpected, (std::vector<std::string>{"head.2.weight"}));
}

TEST(Module, ShapeMismatchLeavesTheModuleUnchanged) {
  manual_seed(3);
  auto net = make_net();
  NamedTensors before = net->state_dict();
  std::vector<std::vector<float>> before_values;
  for (const auto& [name, t] : before)
    if (t.dtype() == DType::Float32) before_values.push_back(values_of(t.clone()));

  NamedTensors state;
  for (const auto& [name, t] : before) state.emplace_back(name, t.clone());
  for (auto& [name, t] : state)
    if (t.dtype() == DType::Float32) t.fill_(0.5f);
  // bn.running_var should be [3]; it comes after conv1's and bn's parameters, so a load that copied
  // as it checked would already have overwritten those.
  std::find_if(state.begin(), state.end(), [](const auto& e) { return e.first == "bn.running_var"; })->second =
      Tensor::zeros({5});
  std::string message = value_error_message([&] { net->load_state_dict(state); });
  EXPECT_NE(message.find("size mismatch for bn.running_var"), std::string::npos) << message;

  size_t k = 0;
  for (const auto& [name, t] : net->state_dict())
    if (t.dtype() == DType::Float32) {
      EXPECT_EQ(values_of(t), before_values[k++]) << name << " changed";
    }
}

TEST(Module, TrainAndEvalReachEveryDescendant) {
  auto net = make_net();
  net->train(false);  // eval() lives in the Python layer
  EXPECT_FALSE(net->is_training());
  EXPECT_FALSE(net->child("bn")->is_training());
  EXPECT_FALSE(net->child("head")->child("1")->is_training());
  net->train();
  EXPECT_TRUE(net->child("head")->child("0")->is_training());
}

TEST(Module, ZeroGradSetsToNoneOrZeros) {
  nn::Linear fc(3, 2);
  Tensor x = random_tensor({4, 3}, 4);
  ops::sum(fc.forward(x)).backward();
  fc.zero_grad(/*set_to_none=*/false);
  for (const Tensor& p : fc.parameters())
    for (float g : values_of(p.grad())) EXPECT_EQ(g, 0.0f);
  fc.zero_grad();
  for (const Tensor& p : fc.parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(BatchNorm2d, RunningStatsUpdateInTrainAndServeInEval) {
  const float momentum = 0.1f, eps = 1e-5f;
  nn::BatchNorm2d bn(2, eps, momentum);
  Tensor x = random_tensor({3, 2, 2, 2}, 5, false, -1.0f, 3.0f);
  std::vector<float> xv = values_of(x);
  bn.forward(x);
  std::vector<double> mean(2, 0.0), unbiased(2, 0.0);
  for (int64_t c = 0; c < 2; ++c) {
    for (int64_t n = 0; n < 3; ++n)
      for (int64_t i = 0; i < 4; ++i) mean[c] += xv[(n * 2 + c) * 4 + i] / 12.0;
    for (int64_t n = 0; n < 3; ++n)
      for (int64_t i = 0; i < 4; ++i) unbiased[c] += std::pow(xv[(n * 2 + c) * 4 + i] - mean[c], 2) / 11.0;
  }
  std::vector<double> expected_mean = {momentum * mean[0], momentum * mean[1]};
  std::vector<double> expected_var = {1 - momentum + momentum * unbiased[0], 1 - momentum + momentum * unbiased[1]};
  EXPECT_TRUE(all_close(values_of(bn.buffer("running_mean")), expected_mean, 1e-6));
  EXPECT_TRUE(all_close(values_of(bn.buffer("running_var")), expected_var, 1e-6));

  // Eval: normalise with the running statistics and leave them alone.
  Tensor weight = bn.parameter("weight"), bias = bn.parameter("bias");
  {
    NoGradGuard no_grad;  // parameters require grad: setting them is not an op to record
    weight.copy_(testing::tensor_from({1.5f, 0.5f}, {2}));
    bias.copy_(testing::tensor_from({0.25f, -1.0f}, {2}));
  }
  bn.train(false);
  std::vector<float> y = values_of(bn.forward(x));
  std::vector<double> expected_y;
  for (int64_t n = 0; n < 3; ++n)
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t i = 0; i < 4; ++i)
        expected_y.push_back((xv[(n * 2 + c) * 4 + i] - expected_mean[c]) / std::sqrt(expected_var[c] + eps) *
                                 (c == 0 ? 1.5 : 0.5) + (c == 0 ? 0.25 : -1.0));
  EXPECT_TRUE(all_close(y, expected_y, 1e-5));
  EXPECT_TRUE(all_close(values_of(bn.buffer("running_mean")), expected_mean, 1e-6));
  EXPECT_THROW(bn.forward(random_tensor({2, 3, 2, 2}, 6)), ValueError);  // wrong channel count
}

TEST(Sequential, ForwardComposesChildrenInOrder) {
  manual_seed(7);
  auto fc1 = std::make_shared<nn::Linear>(4, 5), fc2 = std::make_shared<nn::Linear>(5, 2);
  nn::Sequential seq;
  seq.append(fc1);
  seq.append(std::make_shared<nn::Flatten>(0));  // [3, 5] -> [15]
  seq.append(fc2);
  seq.append(std::make_shared<nn::Dropout>(0.5f));
  EXPECT_EQ(seq.size(), 4u);
  seq.train(false);  // dropout off
  Tensor x = random_tensor({3, 4}, 8);
  EXPECT_THROW(seq.forward(x), ValueError);  // fc2 gets [15]: the children really run in order
  nn::Sequential ordered;
  ordered.append(fc1);
  ordered.append(std::make_shared<nn::Flatten>(1));
  ordered.append(fc2);
  EXPECT_EQ(values_of(ordered.forward(x)), values_of(fc2->forward(fc1->forward(x))));
  EXPECT_THROW(seq.append(nullptr), ValueError);
}

TEST(Layers, InputChecksNameTheLayerAndPoolStrides) {
  nn::Linear fc(4, 2);
  EXPECT_NE(value_error_message([&] { fc.forward(Tensor::zeros({3, 5})); }).find("Linear(in_features=4)"),
            std::string::npos);
  nn::Conv2d conv(3, 4, {3, 3});
  EXPECT_NE(value_error_message([&] { conv.forward(Tensor::zeros({1, 2, 5, 5})); }).find("Conv2d(3, 4)"),
            std::string::npos);
  // The Python binding turns stride=None into the kernel size; in C++ a zero stride is an error.
  EXPECT_THROW(nn::MaxPool2d({3, 2}, {0, 0}, {1, 0}), ValueError);
  nn::MaxPool2d pool({3, 2}, {3, 2}, {1, 0});
  EXPECT_EQ(pool.args.stride_h, 3);
  EXPECT_EQ(pool.args.stride_w, 2);
  EXPECT_EQ(pool.forward(Tensor::zeros({1, 1, 7, 6})).shape(), (Shape{1, 1, 3, 3}));
  EXPECT_THROW(nn::AvgPool2d({2, 2}, {2, 2}, {2, 0}), ValueError);  // padding above half the kernel
}

// PyTorch's kaiming_uniform(a=sqrt(5)) and bias init both reduce to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void expect_fan_in_uniform(const Tensor& t, int64_t fan_in, const std::string& what) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
  float largest = 0.0f;
  for (float v : values_of(t)) {
    EXPECT_LE(std::fabs(v), bound) << what;
    largest = std::max(largest, std::fabs(v));
  }
  // Hundreds of uniform draws reach the outer 20% of the range with certainty for practical purposes.
  if (t.numel() >= 100) {
    EXPECT_GT(largest, 0.8f * bound) << what << " is not spread over its range";
  }
}

TEST(Init, DefaultBoundsAreOneOverSqrtFanIn) {
  manual_seed(9);
  nn::Linear fc(50, 20);
  expect_fan_in_uniform(fc.parameter("weight"), 50, "Linear.weight");
  expect_fan_in_uniform(fc.parameter("bias"), 50, "Linear.bias");
  nn::Conv2d conv(3, 8, {3, 3});
  expect_fan_in_uniform(conv.parameter("weight"), 27, "Conv2d.weight");
  expect_fan_in_uniform(conv.parameter("bias"), 27, "Conv2d.bias");
  nn::Conv2d grouped(4, 8, {3, 2}, {1, 1}, {0, 0}, {1, 1}, /*groups=*/2);
  EXPECT_EQ(grouped.parameter("weight").shape(), (Shape{8, 2, 3, 2}));
  expect_fan_in_uniform(grouped.parameter("weight"), 12, "grouped Conv2d.weight");
  nn::BatchNorm2d bn(3);
  EXPECT_EQ(values_of(bn.parameter("weight")), (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(values_of(bn.parameter("bias")), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(values_of(bn.buffer("running_var")), (std::vector<float>{1, 1, 1}));
  EXPECT_THROW(nn::Conv2d(3, 8, {3, 3}, {1, 1}, {0, 0}, {1, 1}, 2), ValueError);  // 3 % 2 != 0
  EXPECT_THROW(nn::CrossEntropyLoss("avg"), ValueError);
}

TEST(Layers, BatchNormCountsTrainingBatchesLikePyTorch) {
  nn::BatchNorm2d bn(3);
  Tensor x = Tensor::full({2, 3, 2, 2}, 1.0f);
  bn.forward(x);
  bn.forward(x);
  bn.train(false);
  bn.forward(x);  // evaluation does not count
  EXPECT_EQ(bn.buffer("num_batches_tracked").item(), 2.0);
}

}  // namespace
}  // namespace dlcore
