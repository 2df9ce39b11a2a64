// Every differentiable op in ops.h: backward against central finite differences of the op's own
// forward (gradcheck.h), and forward values of the dense ops against naive loops written here.
// Inputs are seeded random values; inputs of kinked ops (relu, max) keep clear of their kinks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "dlcore/ops.h"
#include "gradcheck.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::gradcheck;
using testing::random_tensor;
using testing::tensor_from;
using testing::values_of;

// Central differences with h = 1e-2 on float32 forwards: truncation ~1e-5 and rounding ~1e-4 for the
// loss sizes here, so 2e-3 (absolute below 1, relative above) leaves margin without hiding bugs.
constexpr double kGradTol = 2e-3;

// Random values with |v| >= 0.1, so a +-1e-2 step never crosses relu's kink at zero.
Tensor away_from_zero(const Shape& shape, uint32_t seed) {
  std::vector<float> v = testing::random_vector(static_cast<size_t>(shape_numel(shape)), seed);
  for (float& x : v) x = x < 0 ? x - 0.1f : x + 0.1f;
  return tensor_from(v, shape, true);
}

// Distinct values spaced 0.05 apart in random order: a +-1e-2 step never changes which is the max.
Tensor distinct_values(const Shape& shape, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.05f * static_cast<float>(i) - 0.025f * static_cast<float>(v.size());
  std::shuffle(v.begin(), v.end(), std::mt19937(seed));
  return tensor_from(v, shape, true);
}

Tensor int64_tensor(const std::vector<int64_t>& values) {
  Tensor t = Tensor::empty({static_cast<int64_t>(values.size())}, DType::Int64);
  std::copy(values.begin(), values.end(), t.data<int64_t>());
  return t;
}

// A square op whose backward is off by 1% on one element: gradcheck must notice, or it proves nothing.
struct SlightlyWrongSquareBackward : Node {
  Tensor x;
  std::vector<Tensor> apply(const Tensor& g) override {
    Tensor gx = ops::mul(ops::affine(x, 2.0f, 0.0f), g);
    gx.data<float>()[3] *= 1.01f;
    return {gx};
  }
  std::string name() const override { return "SlightlyWrongSquareBackward"; }
};

TEST(OpsGrad, GradcheckCatchesAOnePercentError) {
  auto square = [](const std::vector<Tensor>& t) {
    Tensor y = Tensor::empty(t[0].shape());
    {
      NoGradGuard no_grad;
      y.copy_(ops::mul(t[0], t[0]));
    }
    if (autograd::any_requires_grad({&t[0]})) {
      auto node = std::make_shared<SlightlyWrongSquareBackward>();
      node->x = t[0].detach();
      autograd::record(node, {&t[0]}, y);
    }
    return y;
  };
  Tensor x = random_tensor({6}, 0, true, 1.0f, 2.0f);  // |gradient| >= 2, so 1% is >= 0.02
  EXPECT_FALSE(gradcheck(square, {x}, kGradTol));
}

// ---- elementwise ----------------------------------------------------------------------------

TEST(OpsGrad, BinaryOpsWithBroadcasting) {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{3, 4}, {3, 4}}, {{5, 3}, {3}}, {{3}, {5, 3}}, {{2, 3, 4, 2}, {1, 3, 1, 1}}, {{2, 1, 4}, {3, 1}}};
  for (const auto& [sa, sb] : shapes) {
    SCOPED_TRACE(shape_str(sa) + " with " + shape_str(sb));
    Tensor a = random_tensor(sa, 1, true);
    Tensor b = random_tensor(sb, 2, true, 0.5f, 1.5f);  // away from zero for div
    EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& x) { return ops::add(x[0], x[1]); }, {a, b}, kGradTol));
    EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& x) { return ops::sub(x[0], x[1]); }, {a, b}, kGradTol));
    EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& x) { return ops::mul(x[0], x[1]); }, {a, b}, kGradTol));
    EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& x) { return ops::div(x[0], x[1]); }, {a, b}, kGradTol));
  }
}

TEST(OpsGrad, BroadcastForwardValues) {
  Tensor a = random_tensor({2, 3, 2, 2}, 3), b = random_tensor({1, 3, 1, 1}, 4, false, 0.5f, 1.5f);
  std::vector<float> av = values_of(a), bv = values_of(b), sum = values_of(ops::add(a, b)),
                     quotient = values_of(ops::div(a, b));
  for (size_t i = 0; i < av.size(); ++i) {
    size_t c = (i / 4) % 3;
    EXPECT_FLOAT_EQ(sum[i], av[i] + bv[c]);
    EXPECT_FLOAT_EQ(quotient[i], av[i] / bv[c]);
  }
  EXPECT_THROW(ops::add(Tensor::zeros({2, 3}), Tensor::zeros({2})), ValueError);
}

TEST(OpsGrad, AffineAndActivations) {
  Tensor x = away_from_zero({4, 5}, 5);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::affine(t[0], -1.5f, 0.25f); }, {x}, kGradTol));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::relu(t[0]); }, {x}, kGradTol));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::sigmoid(t[0]); }, {x}, kGradTol));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::tanh(t[0]); }, {x}, kGradTol));
}

TEST(OpsGrad, ReshapeAndFlatten) {
  Tensor x = random_tensor({2, 3, 4}, 6, true);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::reshape(t[0], {4, -1}); }, {x}, kGradTol));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::flatten(t[0], 1); }, {x}, kGradTol));
  EXPECT_EQ(ops::flatten(x, 0, 1).shape(), (Shape{6, 4}));
  EXPECT_THROW(ops::reshape(x, {5, -1}), ValueError);
  EXPECT_THROW(ops::flatten(x, 2, 1), ValueError);
}

TEST(OpsGrad, SumAndMean) {
  Tensor x = random_tensor({3, 4}, 7, true);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::sum(t[0]); }, {x}, kGradTol));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::mean(t[0]); }, {x}, kGradTol));
  std::vector<float> v = values_of(x);
  double total = std::accumulate(v.begin(), v.end(), 0.0);
  EXPECT_NEAR(ops::sum(x).item(), total, 1e-5);
  EXPECT_NEAR(ops::mean(x).item(), total / 12.0, 1e-6);
}

// ---- dense ----------------------------------------------------------------------------------

TEST(OpsGrad, MatmulIncludingAStridedOperand) {
  Tensor a = random_tensor({3, 4}, 8, true), b = random_tensor({4, 5}, 9, true);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::matmul(t[0], t[1]); }, {a, b}, kGradTol));
  // a^T viewed through strides: the op must read it correctly and return a gradient of its shape.
  Tensor base = random_tensor({4, 3}, 10);
  Tensor at = base.as_strided({3, 4}, {1, 3}, 0);
  at.set_requires_grad(true);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::matmul(t[0], t[1]); }, {at, b}, kGradTol));
  EXPECT_THROW(ops::matmul(a, a), ValueError);
}

TEST(OpsGrad, LinearForwardAndGradients) {
  const int64_t N = 5, in = 4, out = 3;
  Tensor x = random_tensor({N, in}, 11, true), w = random_tensor({out, in}, 12, true), b = random_tensor({out}, 13, true);
  std::vector<float> xv = values_of(x), wv = values_of(w), bv = values_of(b);
  for (bool with_bias : {true, false}) {
    SCOPED_TRACE(with_bias ? "with bias" : "without bias");
    Tensor bias = with_bias ? b : Tensor();
    std::vector<double> expected;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < out; ++o) {
        double acc = with_bias ? bv[o] : 0.0;
        for (int64_t i = 0; i < in; ++i) acc += static_cast<double>(xv[n * in + i]) * wv[o * in + i];
        expected.push_back(acc);
      }
    EXPECT_TRUE(all_close(values_of(ops::linear(x, w, bias)), expected, 1e-5));  // float dot products of 4
    EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::linear(t[0], t[1], t[2]); }, {x, w, bias},
                          kGradTol));
  }
  EXPECT_THROW(ops::linear(x, random_tensor({out, in + 1}, 14), Tensor()), ValueError);
}

struct ConvCase {
  const char* name;
  int64_t N, C, H, W, K, R, S;
  ops::Conv2dArgs args;
  bool bias;
};

// y[n,k,p,q] = b[k] + sum over the group's channels and the kernel of x * w, in double.
std::vector<double> naive_conv2d(const ConvCase& c, const std::vector<float>& x, const std::vector<float>& w,
                                 const std::vector<float>& b, int64_t P, int64_t Q) {
  const ops::Conv2dArgs& a = c.args;
  int64_t Cg = c.C / a.groups, Kg = c.K / a.groups;
  std::vector<double> y;
  for (int64_t n = 0; n < c.N; ++n)
    for (int64_t k = 0; k < c.K; ++k)
      for (int64_t p = 0; p < P; ++p)
        for (int64_t q = 0; q < Q; ++q) {
          double acc = c.bias ? b[k] : 0.0;
          for (int64_t ci = 0; ci < Cg; ++ci)
            for (int64_t r = 0; r < c.R; ++r)
              for (int64_t s = 0; s < c.S; ++s) {
                int64_t h = p * a.stride_h - a.pad_h + r * a.dilation_h, wi = q * a.stride_w - a.pad_w + s * a.dilation_w;
                if (h < 0 || h >= c.H || wi < 0 || wi >= c.W) continue;
                int64_t channel = (k / Kg) * Cg + ci;
                acc += static_cast<double>(x[((n * c.C + channel) * c.H + h) * c.W + wi]) *
                       w[((k * Cg + ci) * c.R + r) * c.S + s];
              }
          y.push_back(acc);
        }
  return y;
}

TEST(OpsGrad, Conv2dForwardAndGradients) {
  const std::vector<ConvCase> cases = {
      {"plain", 2, 3, 6, 5, 4, 3, 3, {}, true},
      {"stride 2, padding 1", 2, 2, 7, 7, 3, 3, 3, {2, 2, 1, 1, 1, 1, 1}, true},
      {"dilation 2, batch 1", 1, 2, 7, 6, 2, 3, 3, {1, 1, 2, 2, 2, 2, 1}, true},
      {"groups 2", 2, 4, 5, 5, 6, 3, 3, {1, 1, 1, 1, 1, 1, 2}, true},
      {"depthwise", 1, 3, 5, 4, 3, 3, 3, {1, 1, 1, 1, 1, 1, 3}, true},
      {"non-square 2x3 kernel, stride (2,1), no bias", 2, 2, 6, 7, 3, 2, 3, {2, 1, 1, 0, 1, 1, 1}, false},
  };
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.name);
    Tensor x = random_tensor({c.N, c.C, c.H, c.W}, 20, true);
    Tensor w = random_tensor({c.K, c.C / c.args.groups, c.R, c.S}, 21, true);
    Tensor b = c.bias ? random_tensor({c.K}, 22, true) : Tensor();
    Tensor y = ops::conv2d(x, w, b, c.args);
    int64_t P = y.size(2), Q = y.size(3);
    EXPECT_EQ(P, (c.H + 2 * c.args.pad_h - c.args.dilation_h * (c.R - 1) - 1) / c.args.stride_h + 1);
    EXPECT_EQ(Q, (c.W + 2 * c.args.pad_w - c.args.dilation_w * (c.S - 1) - 1) / c.args.stride_w + 1);
    std::vector<float> bv = c.bias ? values_of(b) : std::vector<float>();
    // Float sums of at most 36 products of values in [-1, 1]: 1e-5 with an absolute floor of 1.
    EXPECT_TRUE(all_close(values_of(y), naive_conv2d(c, values_of(x), values_of(w), bv, P, Q), 1e-5));
    ops::Conv2dArgs args = c.args;
    EXPECT_TRUE(gradcheck([args](const std::vector<Tensor>& t) { return ops::conv2d(t[0], t[1], t[2], args); },
                          {x, w, b}, kGradTol));
  }
  EXPECT_THROW(ops::conv2d(random_tensor({1, 3, 5, 5}, 1), random_tensor({2, 2, 3, 3}, 2), Tensor(), {}), ValueError);
}

// ---- pooling --------------------------------------------------------------------------------

struct PoolReference {
  std::vector<double> max, avg;
};

// PyTorch semantics: max over the window clipped to the input; average over the clipped window
// divided by the window's area inside the padded input (count_include_pad=True).
PoolReference naive_pool2d(const std::vector<float>& x, int64_t planes, int64_t H, int64_t W, const ops::Pool2dArgs& a) {
  int64_t P = (H + 2 * a.pad_h - a.kernel_h) / a.stride_h + 1, Q = (W + 2 * a.pad_w - a.kernel_w) / a.stride_w + 1;
  PoolReference ref;
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t p = 0; p < P; ++p)
      for (int64_t q = 0; q < Q; ++q) {
        int64_t h0 = p * a.stride_h - a.pad_h, w0 = q * a.stride_w - a.pad_w;
        int64_t h1 = std::min(h0 + a.kernel_h, H + a.pad_h), w1 = std::min(w0 + a.kernel_w, W + a.pad_w);
        double best = -std::numeric_limits<double>::infinity(), total = 0.0;
        for (int64_t h = std::max<int64_t>(h0, 0); h < std::min(h1, H); ++h)
          for (int64_t w = std::max<int64_t>(w0, 0); w < std::min(w1, W); ++w) {
            double v = x[(pl * H + h) * W + w];
            best = std::max(best, v);
            total += v;
          }
        ref.max.push_back(best);
        ref.avg.push_back(total / static_cast<double>((h1 - h0) * (w1 - w0)));
      }
  return ref;
}

TEST(OpsGrad, PoolingForwardAndGradients) {
  const std::vector<ops::Pool2dArgs> configs = {
      {2, 2, 2, 2, 0, 0},  // LeNet's non-overlapping pool
      {3, 3, 2, 2, 1, 1},  // overlapping windows with padding
      {3, 2, 1, 2, 1, 0},  // non-square kernel and stride
  };
  for (const ops::Pool2dArgs& a : configs) {
    SCOPED_TRACE("kernel " + std::to_string(a.kernel_h) + "x" + std::to_string(a.kernel_w) + " stride " +
                 std::to_string(a.stride_h) + "x" + std::to_string(a.stride_w) + " pad " + std::to_string(a.pad_h));
    Tensor x = distinct_values({2, 3, 6, 5}, 30);
    PoolReference ref = naive_pool2d(values_of(x), 6, 6, 5, a);
    EXPECT_TRUE(all_close(values_of(ops::max_pool2d(x, a)), ref.max, 0.0));  // a max is exact
    EXPECT_TRUE(all_close(values_of(ops::avg_pool2d(x, a)), ref.avg, 1e-6));
    EXPECT_TRUE(gradcheck([a](const std::vector<Tensor>& t) { return ops::max_pool2d(t[0], a); }, {x}, kGradTol));
    EXPECT_TRUE(gradcheck([a](const std::vector<Tensor>& t) { return ops::avg_pool2d(t[0], a); }, {x}, kGradTol));
  }
  EXPECT_THROW(ops::max_pool2d(Tensor::zeros({1, 1, 4, 4}), {3, 3, 1, 1, 2, 2}), ValueError);  // pad > kernel/2
}

// ---- normalisation and dropout --------------------------------------------------------------

TEST(OpsGrad, BatchNormTrainingGradientsForInputWeightAndBias) {
  for (const Shape& shape : {Shape{3, 2, 2, 2}, Shape{6, 3}}) {
    SCOPED_TRACE(shape_str(shape));
    int64_t C = shape[1];
    Tensor x = random_tensor(shape, 40, true, -2.0f, 2.0f);
    Tensor weight = random_tensor({C}, 41, true, 0.5f, 1.5f), bias = random_tensor({C}, 42, true);
    // Fresh running statistics per call: training mode updates them in place.
    auto f = [C](const std::vector<Tensor>& t) {
      return ops::batch_norm(t[0], Tensor::zeros({C}), Tensor::full({C}, 1.0f), t[1], t[2], true, 0.1f, 1e-5f);
    };
    // The normalisation couples all values of a channel; 5e-3 covers its larger curvature.
    EXPECT_TRUE(gradcheck(f, {x, weight, bias}, 5e-3));
  }
}

TEST(OpsGrad, BatchNormTrainingForwardNormalisesPerChannel) {
  Tensor x = random_tensor({4, 2, 3, 3}, 43, false, -2.0f, 3.0f);
  Tensor weight = random_tensor({2}, 44, false, 0.5f, 1.5f), bias = random_tensor({2}, 45);
  std::vector<float> xv = values_of(x), wv = values_of(weight), bv = values_of(bias);
  std::vector<double> expected(xv.size());
  for (int64_t c = 0; c < 2; ++c) {
    double mean = 0, var = 0;
    for (int64_t n = 0; n < 4; ++n)
      for (int64_t i = 0; i < 9; ++i) mean += xv[(n * 2 + c) * 9 + i] / 36.0;
    for (int64_t n = 0; n < 4; ++n)
      for (int64_t i = 0; i < 9; ++i) var += std::pow(xv[(n * 2 + c) * 9 + i] - mean, 2) / 36.0;  // biased
    for (int64_t n = 0; n < 4; ++n)
      for (int64_t i = 0; i < 9; ++i) {
        size_t k = (n * 2 + c) * 9 + i;
        expected[k] = (xv[k] - mean) / std::sqrt(var + 1e-5) * wv[c] + bv[c];
      }
  }
  Tensor y = ops::batch_norm(x, Tensor(), Tensor(), weight, bias, true, 0.1f, 1e-5f);
  EXPECT_TRUE(all_close(values_of(y), expected, 1e-5));
}

TEST(OpsGrad, BatchNormEvalGradientForInput) {
  Tensor x = random_tensor({2, 3, 2, 2}, 46, true);
  Tensor mean = random_tensor({3}, 47), var = random_tensor({3}, 48, false, 0.5f, 2.0f);
  Tensor weight = random_tensor({3}, 49, false, 0.5f, 1.5f), bias = random_tensor({3}, 50);
  auto f = [&](const std::vector<Tensor>& t) { return ops::batch_norm(t[0], mean, var, weight, bias, false, 0.1f, 1e-5f); };
  EXPECT_TRUE(gradcheck(f, {x}, kGradTol));
}

// PyTorch gives weight and bias gradients in eval mode too (fine-tuning with frozen statistics).
TEST(OpsGrad, BatchNormEvalGradientsForWeightAndBias) {
  Tensor x = random_tensor({2, 3, 2, 2}, 51, true);
  Tensor mean = random_tensor({3}, 52), var = random_tensor({3}, 53, false, 0.5f, 2.0f);
  Tensor weight = random_tensor({3}, 54, true, 0.5f, 1.5f), bias = random_tensor({3}, 55, true);
  auto f = [&](const std::vector<Tensor>& t) { return ops::batch_norm(t[0], mean, var, t[1], t[2], false, 0.1f, 1e-5f); };
  EXPECT_TRUE(gradcheck(f, {x, weight, bias}, kGradTol));
}

TEST(OpsGrad, DropoutGradientEqualsItsMask) {
  const float p = 0.3f;
  Tensor x = away_from_zero({40, 50}, 60);
  manual_seed(61);
  Tensor y = ops::dropout(x, p, true);
  ops::sum(y).backward();
  std::vector<float> xv = values_of(x), yv = values_of(y), mask = values_of(x.grad());
  size_t kept = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    ASSERT_TRUE(mask[i] == 0.0f || std::fabs(mask[i] - 1.0f / (1.0f - p)) < 1e-6f) << "mask " << mask[i];
    EXPECT_FLOAT_EQ(yv[i], xv[i] * mask[i]);  // the forward used the same mask
    kept += mask[i] != 0.0f;
  }
  // 2000 Bernoulli(0.7) draws: standard deviation ~0.01 of the fraction; 0.05 is five of them.
  EXPECT_NEAR(static_cast<double>(kept) / xv.size(), 1.0 - p, 0.05);

  // Reseeding before each forward fixes the mask, so finite differences see the same function.
  auto f = [p](const std::vector<Tensor>& t) {
    manual_seed(62);
    return ops::dropout(t[0], p, true);
  };
  Tensor small = random_tensor({4, 6}, 63, true);
  EXPECT_TRUE(gradcheck(f, {small}, kGradTol));

  EXPECT_TRUE(ops::dropout(x, p, false).same(x));  // eval: identity
  for (float v : values_of(ops::dropout(x, 1.0f, true))) EXPECT_EQ(v, 0.0f);
  EXPECT_THROW(ops::dropout(x, 1.5f, true), ValueError);
}

// ---- softmax and loss -----------------------------------------------------------------------

TEST(OpsGrad, SoftmaxAndLogSoftmax) {
  for (const Shape& shape : {Shape{4, 7}, Shape{2, 3, 5}}) {
    SCOPED_TRACE(shape_str(shape));
    Tensor x = random_tensor(shape, 70, true, -3.0f, 3.0f);
    EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::softmax(t[0]); }, {x}, kGradTol));
    EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::log_softmax(t[0], -1); }, {x}, kGradTol));
  }
  Tensor x = random_tensor({2, 3}, 71);
  std::vector<float> xv = values_of(x), sm = values_of(ops::softmax(x));
  for (int64_t r = 0; r < 2; ++r) {
    double z = 0;
    for (int64_t c = 0; c < 3; ++c) z += std::exp(static_cast<double>(xv[r * 3 + c]));
    for (int64_t c = 0; c < 3; ++c) EXPECT_NEAR(sm[r * 3 + c], std::exp(xv[r * 3 + c]) / z, 1e-6);
  }
  EXPECT_THROW(ops::softmax(x, 0), ValueError);
}

TEST(OpsGrad, CrossEntropyReductionsAndLabelSmoothing) {
  const int64_t N = 5, C = 4;
  Tensor logits = random_tensor({N, C}, 80, true, -2.0f, 2.0f);
  std::vector<int64_t> labels = testing::random_indices(N, 81, C);
  Tensor target = int64_tensor(labels);
  std::vector<float> lv = values_of(logits);
  for (float smoothing : {0.0f, 0.1f}) {
    // Per-sample loss in double: (1 - eps) * -log p[target] + eps * mean over classes of -log p.
    std::vector<double> per_sample;
    for (int64_t n = 0; n < N; ++n) {
      double z = 0, mean_nll = 0;
      for (int64_t c = 0; c < C; ++c) z += std::exp(static_cast<double>(lv[n * C + c]));
      for (int64_t c = 0; c < C; ++c) mean_nll += (std::log(z) - lv[n * C + c]) / C;
      per_sample.push_back((1 - smoothing) * (std::log(z) - lv[n * C + labels[n]]) + smoothing * mean_nll);
    }
    double total = std::accumulate(per_sample.begin(), per_sample.end(), 0.0);
    for (ops::Reduction r : {ops::Reduction::Mean, ops::Reduction::Sum, ops::Reduction::None}) {
      SCOPED_TRACE("smoothing " + std::to_string(smoothing) + " reduction " + std::to_string(static_cast<int>(r)));
      Tensor loss = ops::cross_entropy(logits, target, r, smoothing);
      if (r == ops::Reduction::None) {
        EXPECT_TRUE(all_close(values_of(loss), per_sample, 1e-5));
      } else {
        EXPECT_NEAR(loss.item(), r == ops::Reduction::Sum ? total : total / N, 1e-5);
      }
      auto f = [&target, r, smoothing](const std::vector<Tensor>& t) {
        return ops::cross_entropy(t[0], target, r, smoothing);
      };
      EXPECT_TRUE(gradcheck(f, {logits}, kGradTol));
    }
  }
  EXPECT_THROW(ops::cross_entropy(logits, int64_tensor({0, 1, 2, 3, 4}), ops::Reduction::Mean, 0.0f), ValueError);
  EXPECT_THROW(ops::cross_entropy(logits, int64_tensor({0, 1}), ops::Reduction::Mean, 0.0f), ValueError);
  EXPECT_THROW(ops::parse_reduction("avg"), ValueError);
}

}  // namespace
}  // namespace dlcore
