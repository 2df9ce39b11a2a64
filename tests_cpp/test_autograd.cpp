// The backward engine on small hand-built graphs: accumulation, shared inputs (diamonds), branches
// that carry no gradient, freed versus retained graphs, grad mode, detach, and graph lifetime.
// Op gradients themselves are checked in test_ops_grad.cpp; here the expected values are by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "dlcore/autograd.h"
#include "dlcore/ops.h"
#include "gradcheck.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::random_tensor;
using testing::tensor_from;
using testing::values_of;

// A pass-through op whose backward deliberately returns "no gradient", to exercise the engine's
// bookkeeping for nodes reached only through gradient-free edges.
struct BlockGradient : Node {
  std::vector<Tensor> apply(const Tensor&) override { return {Tensor()}; }
  std::string name() const override { return "BlockGradient"; }
};

Tensor block_gradient(const Tensor& x) {
  Tensor out = x.clone();
  if (autograd::any_requires_grad({&x})) autograd::record(std::make_shared<BlockGradient>(), {&x}, out);
  return out;
}

std::string runtime_error_message(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = random_tensor({5}, 11, true);
  std::vector<float> xv = values_of(x);
  ops::sum(ops::mul(x, x)).backward();
  ops::sum(ops::mul(x, x)).backward();
  std::vector<double> expected;
  for (float v : xv) expected.push_back(4.0 * v);  // 2x from each pass
  EXPECT_TRUE(all_close(values_of(x.grad()), expected, 1e-6));  // float rounding only

  x.set_grad(Tensor());  // zero_grad(set_to_none): the next pass starts fresh
  ops::sum(ops::affine(x, 3.0f, 1.0f)).backward();
  for (float g : values_of(x.grad())) EXPECT_EQ(g, 3.0f);
}

TEST(Autograd, SameLeafTwiceInOneOpDoesNotAliasTheIncomingGradient) {
  Tensor x = random_tensor({4}, 12, true);
  Tensor g = tensor_from({1, 2, 3, 4}, {4});
  ops::add(x, x).backward(g);
  EXPECT_EQ(values_of(x.grad()), (std::vector<float>{2, 4, 6, 8}));
  EXPECT_EQ(values_of(g), (std::vector<float>{1, 2, 3, 4}));  // the caller's gradient is untouched
  x.grad().fill_(0.0f);
  EXPECT_EQ(values_of(g), (std::vector<float>{1, 2, 3, 4}));  // .grad is its own buffer
}

TEST(Autograd, DiamondGraphSumsBothPaths) {
  // a = 3x + 1 and b = sigmoid(x) both depend on x; y = sum(a*b + a).
  Tensor x = random_tensor({6}, 13, true);
  Tensor a = ops::affine(x, 3.0f, 1.0f);
  Tensor b = ops::sigmoid(x);
  ops::sum(ops::add(ops::mul(a, b), a)).backward();
  std::vector<double> expected;
  for (float v : values_of(x)) {
    double s = 1.0 / (1.0 + std::exp(-static_cast<double>(v)));
    expected.push_back(3.0 * s + (3.0 * v + 1.0) * s * (1.0 - s) + 3.0);
  }
  EXPECT_TRUE(all_close(values_of(x.grad()), expected, 1e-5));  // float sigmoid and products
}

TEST(Autograd, BranchWithoutGradientStillLetsOtherPathsThrough) {
  // w reaches the loss twice: through a blocked branch (no gradient) and directly through sum(w).
  Tensor w = random_tensor({3}, 14, true);
  Tensor u = ops::affine(w, 2.0f, 0.0f);
  ops::add(ops::sum(block_gradient(u)), ops::sum(w)).backward();
  ASSERT_TRUE(w.grad().defined());
  EXPECT_EQ(values_of(w.grad()), (std::vector<float>{1, 1, 1}));

  Tensor v = random_tensor({3}, 15, true);
  ops::sum(block_gradient(ops::affine(v, 2.0f, 0.0f))).backward();
  EXPECT_FALSE(v.grad().defined());  // only a blocked path: no gradient, and no error

  // A constant operand gets no gradient and no grad_fn of its own.
  Tensor c = random_tensor({3}, 16);
  Tensor x = random_tensor({3}, 17, true);
  ops::sum(ops::mul(x, c)).backward();
  EXPECT_FALSE(c.grad().defined());
  EXPECT_EQ(values_of(x.grad()), values_of(c));
}

TEST(Autograd, SecondBackwardThroughFreedGraphThrowsClearly) {
  Tensor x = random_tensor({4}, 18, true);
  Tensor y = ops::sum(ops::mul(x, x));
  y.backward();
  std::string message = runtime_error_message([&] { y.backward(); });
  EXPECT_NE(message.find("second time"), std::string::npos) << message;
  EXPECT_NE(message.find("retain_graph"), std::string::npos) << message;
}

TEST(Autograd, RetainGraphAllowsASecondBackward) {
  Tensor x = random_tensor({4}, 19, true);
  std::vector<float> xv = values_of(x);
  Tensor y = ops::sum(ops::mul(x, x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();  // frees the graph now
  std::vector<double> expected;
  for (float v : xv) expected.push_back(6.0 * v);
  EXPECT_TRUE(all_close(values_of(x.grad()), expected, 1e-6));
  // The message names the first node that lost saved tensors: SumBackward saves none, MulBackward does.
  EXPECT_NE(runtime_error_message([&] { y.backward(); }).find("MulBackward"), std::string::npos);
}

TEST(Autograd, GraphsThatSaveNothingCanBeWalkedTwice) {
  // Like PyTorch: sum and affine keep no tensors for backward, so nothing was freed.
  Tensor x = random_tensor({3}, 21, true);
  Tensor y = ops::sum(ops::affine(x, 2.0f, 1.0f));
  y.backward();
  y.backward();
  EXPECT_TRUE(all_close(values_of(x.grad()), std::vector<double>(3, 4.0), 1e-6));
}

TEST(Autograd, NoGradGuardRecordsNothingAndRestores) {
  Tensor x = random_tensor({3}, 20, true);
  {
    NoGradGuard outer;
    EXPECT_FALSE(GradMode::is_enabled());
    {
      NoGradGuard inner;
      EXPECT_FALSE(GradMode::is_enabled());
    }
    EXPECT_FALSE(GradMode::is_enabled());  // the inner guard restores "disabled", not "enabled"
    Tensor y = ops::relu(x);
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
    EXPECT_THROW(ops::sum(y).backward(), ValueError);
  }
  EXPECT_TRUE(GradMode::is_enabled());
  EXPECT_TRUE(ops::relu(x).requires_grad());
}

TEST(Autograd, GradModeIsPerThread) {
  NoGradGuard no_grad;
  bool enabled_in_other_thread = false;
  std::thread([&] { enabled_in_other_thread = GradMode::is_enabled(); }).join();
  EXPECT_TRUE(enabled_in_other_thread);
}

TEST(Autograd, DetachSharesDataButCutsHistory) {
  Tensor x = random_tensor({3}, 21, true);
  Tensor y = ops::affine(x, 2.0f, 0.0f);
  Tensor d = y.detach();
  EXPECT_EQ(d.raw_data(), y.raw_data());
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  Tensor z = ops::add(ops::mul(d, x), y);  // d acts as a constant
  ops::sum(z).backward();
  std::vector<double> expected;
  for (float v : values_of(d)) expected.push_back(v + 2.0);
  EXPECT_TRUE(all_close(values_of(x.grad()), expected, 1e-6));
}

TEST(Autograd, BackwardArgumentErrors) {
  Tensor x = random_tensor({3}, 22, true);
  Tensor y = ops::mul(x, x);
  try {
    y.backward();
    ADD_FAILURE() << "backward on a non-scalar without a gradient must throw";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("scalar"), std::string::npos) << e.what();
  }
  EXPECT_THROW(y.backward(Tensor::zeros({4})), ValueError);
  EXPECT_THROW(random_tensor({1}, 23).backward(), ValueError);  // no grad required anywhere
  EXPECT_THROW(y.set_requires_grad(false), ValueError);        // not a leaf

  y.backward(tensor_from({1, -1, 2}, {3}));  // an explicit gradient works
  std::vector<float> xv = values_of(x), g = values_of(x.grad());
  EXPECT_FLOAT_EQ(g[0], 2 * xv[0]);
  EXPECT_FLOAT_EQ(g[1], -2 * xv[1]);
  EXPECT_FLOAT_EQ(g[2], 4 * xv[2]);
}

TEST(Autograd, BackwardFromALeafAccumulatesIntoItself) {
  Tensor x = random_tensor({2}, 24, true);
  x.backward(tensor_from({0.5f, 1.5f}, {2}));
  EXPECT_EQ(values_of(x.grad()), (std::vector<float>{0.5f, 1.5f}));
}

TEST(Autograd, ChangingASavedTensorInPlaceIsRefusedAtBackward) {
  // relu saves its output; zeroing that output after the forward must not yield a gradient
  // computed from the zeros.
  Tensor x = tensor_from({1.0f, -2.0f, 3.0f}, {3}, true);
  Tensor y = ops::relu(x);
  Tensor loss = ops::sum(ops::mul(y, y));
  {
    NoGradGuard no_grad;
    y.zero_();
  }
  std::string msg = runtime_error_message([&] { loss.backward(); });
  EXPECT_NE(msg.find("modified by an in-place operation"), std::string::npos) << msg;
  EXPECT_NE(msg.find("MulBackward"), std::string::npos) << msg;  // the first node that reads y
  EXPECT_NE(msg.find("float32[3]"), std::string::npos) << msg;
}

TEST(Autograd, InPlaceWriteToATensorThatRequiresGradIsRefused) {
  Tensor w = tensor_from({1.0f, 2.0f}, {2}, true);
  EXPECT_THROW(w.fill_(3.0f), ValueError);
  EXPECT_THROW(w.zero_(), ValueError);
  EXPECT_THROW(w.copy_(tensor_from({0.0f, 0.0f}, {2})), ValueError);
  NoGradGuard no_grad;
  w.fill_(3.0f);
  EXPECT_EQ(values_of(w), (std::vector<float>{3.0f, 3.0f}));
}

TEST(Autograd, LeafGradientsNeverShareABuffer) {
  // Add's backward hands the same gradient tensor to both inputs; each .grad adopts or copies it,
  // but writing one must not change the other (nor any buffer the graph saved).
  Tensor a = tensor_from({1.0f, 2.0f}, {2}, true), b = tensor_from({3.0f, 4.0f}, {2}, true);
  ops::sum(ops::add(a, b)).backward();
  Tensor ga = a.grad(), gb = b.grad();
  EXPECT_FALSE(ga.storage() == gb.storage());
  ga.fill_(7.0f);
  EXPECT_EQ(values_of(gb), (std::vector<float>{1.0f, 1.0f}));
  // A second backward accumulates into the adopted buffers.
  ops::sum(ops::add(a, b)).backward();
  EXPECT_EQ(values_of(a.grad()), (std::vector<float>{8.0f, 8.0f}));
  EXPECT_EQ(values_of(b.grad()), (std::vector<float>{2.0f, 2.0f}));
}

TEST(Autograd, GraphIsFreedWhenTheOutputIsDropped) {
  Tensor x = random_tensor({3}, 25, true);
  std::weak_ptr<Node> outer, inner, accumulator;
  {
    Tensor h = ops::affine(x, 2.0f, 1.0f);
    Tensor y = ops::relu(h);
    outer = y.grad_fn();
    inner = h.grad_fn();
    accumulator = inner.lock()->next_edges[0].fn;
    EXPECT_EQ(accumulator.lock()->name(), "AccumulateGrad");
    h = Tensor();
    EXPECT_FALSE(inner.expired());  // still reachable from y's node
  }
  EXPECT_TRUE(outer.expired());
  EXPECT_TRUE(inner.expired());
  EXPECT_TRUE(accumulator.expired());
  EXPECT_TRUE(x.impl()->grad_accumulator.expired());
}

TEST(Autograd, LeafAccumulatorIsSharedWhileTheGraphLives) {
  Tensor x = random_tensor({3}, 26, true);
  Tensor a = ops::relu(x), b = ops::sigmoid(x);
  std::shared_ptr<Node> from_a = a.grad_fn()->next_edges[0].fn, from_b = b.grad_fn()->next_edges[0].fn;
  EXPECT_EQ(from_a, from_b);
  EXPECT_EQ(x.impl()->grad_accumulator.lock(), from_a);
  from_a.reset();
  from_b.reset();
  a = b = Tensor();
  EXPECT_TRUE(x.impl()->grad_accumulator.expired());
  Tensor c = ops::tanh(x);  // a fresh graph gets a fresh accumulator, which still reaches x.grad
  ops::sum(c).backward();
  EXPECT_TRUE(x.grad().defined());
}

// A million chained ops (say, a loss accumulated without detach over a long run): dropping the
// output must free the chain without recursing once per node, or the stack overflows and the
// process (the Python interpreter) dies. Run in a child process so a crash fails only this test.
TEST(AutogradDeathTest, DeepGraphIsFreedWithoutStackOverflow) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // OpenMP threads exist; re-exec instead of fork
  auto build_and_drop = [] {
    Tensor x = Tensor::full({1}, 1.0f);
    x.set_requires_grad(true);
    {
      Tensor y = x;
      for (int i = 0; i < 1000000; ++i) y = ops::affine(y, 1.0f, 0.0f);
    }
    std::exit(0);
  };
  EXPECT_EXIT(build_and_drop(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace dlcore
