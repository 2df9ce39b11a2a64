// The C++ hook API (what a profiler, gradient clipping or bucketed all-reduce would use): tensor
// gradient hooks on leaves and non-leaves, post-accumulate hooks, retain_grad, removal, group
// gradient hooks, and the engine's gradient-shape check. Expected values are by hand.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "dlcore/autograd.h"
#include "dlcore/ops.h"
#include "gradcheck.h"

namespace dlcore {
namespace {

using testing::tensor_from;
using testing::values_of;

TEST(Hooks, RunInOrderOnNonLeafThenLeafThenPostAccumulate) {
  Tensor x = tensor_from({1, 2, 3}, {3}, true);
  Tensor y = ops::affine(x, 2.0f, 0.0f);
  std::vector<std::string> order;
  y.register_hook([&](const Tensor& g) {
    order.push_back("y1");
    return ops::affine(g, 10.0f, 0.0f);  // replaces the gradient w.r.t. y
  });
  y.register_hook([&](const Tensor& g) {
    order.push_back("y2");
    EXPECT_EQ(values_of(g), (std::vector<float>{10, 10, 10}));  // sees the previous hook's result
    return Tensor();
  });
  x.register_hook([&](const Tensor& g) {
    order.push_back("x");
    EXPECT_EQ(values_of(g), (std::vector<float>{20, 20, 20}));
    return Tensor();
  });
  x.register_post_accumulate_grad_hook([&](const Tensor& leaf) {
    order.push_back("post");
    EXPECT_EQ(values_of(leaf.grad()), (std::vector<float>{20, 20, 20}));
  });
  ops::sum(y).backward();
  EXPECT_EQ(order, (std::vector<std::string>{"y1", "y2", "x", "post"}));
}

TEST(Hooks, RemovedHooksDoNotRunAndRemoveIsIdempotent) {
  Tensor x = tensor_from({1, 2}, {2}, true);
  int calls = 0;
  HookHandle handle = x.register_hook([&](const Tensor&) {
    ++calls;
    return Tensor();
  });
  ops::sum(x).backward();
  handle.remove();
  handle.remove();
  ops::sum(x).backward();
  EXPECT_EQ(calls, 1);
  HookHandle other = x.register_hook([](const Tensor&) { return Tensor(); });
  EXPECT_NE(other.id(), handle.id());
}

TEST(Hooks, RetainGradKeepsTheHookedGradientAndAccumulates) {
  Tensor x = tensor_from({1, 2}, {2}, true);
  Tensor y = ops::affine(x, 3.0f, 0.0f);
  y.retain_grad();
  y.register_hook([](const Tensor& g) { return ops::affine(g, 2.0f, 0.0f); });  // registered after, runs before
  EXPECT_TRUE(y.retains_grad());
  EXPECT_FALSE(x.retains_grad());
  ops::sum(y).backward(Tensor(), true);
  EXPECT_EQ(values_of(y.grad()), (std::vector<float>{2, 2}));
  ops::sum(y).backward();
  EXPECT_EQ(values_of(y.grad()), (std::vector<float>{4, 4}));
  EXPECT_EQ(values_of(x.grad()), (std::vector<float>{12, 12}));
}

TEST(Hooks, RegistrationErrorsAndBadHookResultsAreRuntimeErrors) {
  Tensor plain = tensor_from({1}, {1});
  EXPECT_THROW(plain.register_hook([](const Tensor&) { return Tensor(); }), std::runtime_error);
  EXPECT_THROW(plain.retain_grad(), std::runtime_error);
  Tensor x = tensor_from({1, 2}, {2}, true);
  Tensor y = ops::affine(x, 1.0f, 0.0f);
  EXPECT_THROW(y.register_post_accumulate_grad_hook([](const Tensor&) {}), std::runtime_error);
  y.register_hook([](const Tensor&) { return Tensor::zeros({3}); });
  EXPECT_THROW(ops::sum(y).backward(), std::runtime_error);
}

TEST(Hooks, ExceptionsFromHooksLeaveTheEngineUsable) {
  Tensor x = tensor_from({1, 2}, {2}, true);
  HookHandle h = x.register_hook([](const Tensor&) -> Tensor { throw std::logic_error("hook failed"); });
  EXPECT_THROW(ops::sum(x).backward(), std::logic_error);
  h.remove();
  ops::sum(x).backward();
  EXPECT_EQ(values_of(x.grad()), (std::vector<float>{1, 1}));
}

TEST(Hooks, GroupHookSeesAllGradientsTogetherAndMayReplaceThem) {
  Tensor a = tensor_from({1, 2}, {2}, true);
  Tensor b = tensor_from({3}, {1}, true);
  Tensor unused = tensor_from({5}, {1}, true);
  int calls = 0;
  std::vector<Tensor> aliases =
      autograd::hook_group_gradients({a, b, unused}, [&](const std::vector<Tensor>& grads) {
        ++calls;
        EXPECT_EQ(values_of(grads[0]), (std::vector<float>{2, 2}));
        EXPECT_EQ(values_of(grads[1]), (std::vector<float>{3}));
        EXPECT_FALSE(grads[2].defined());  // no gradient reached it
        return std::vector<Tensor>{grads[0], ops::affine(grads[1], 0.0f, 7.0f), Tensor()};
      });
  ASSERT_EQ(aliases.size(), 3u);
  ops::add(ops::sum(ops::affine(aliases[0], 2.0f, 0.0f)), ops::sum(ops::affine(aliases[1], 3.0f, 0.0f))).backward();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(values_of(a.grad()), (std::vector<float>{2, 2}));
  EXPECT_EQ(values_of(b.grad()), (std::vector<float>{7}));
  EXPECT_FALSE(unused.grad().defined());
}

// A node whose backward returns a gradient of the wrong shape: the engine must refuse it.
struct WrongShapeGradient : Node {
  std::vector<Tensor> apply(const Tensor&) override { return {Tensor::zeros({5})}; }
  std::string name() const override { return "WrongShapeGradient"; }
};

TEST(Engine, RefusesGradientsOfTheWrongShape) {
  Tensor x = tensor_from({1, 2}, {2}, true);
  Tensor out = x.clone();
  autograd::record(std::make_shared<WrongShapeGradient>(), {&x}, out);
  EXPECT_THROW(ops::sum(out).backward(), std::runtime_error);
}

TEST(Engine, ZeroDimLeafGradientIsZeroDim) {
  Tensor x = Tensor::full({}, 2.0f);
  x.set_requires_grad(true);
  ops::sum(ops::mul(x, x)).backward();
  EXPECT_EQ(x.grad().shape(), Shape{});
  EXPECT_EQ(x.grad().item(), 4.0);
}

}  // namespace
}  // namespace dlcore
