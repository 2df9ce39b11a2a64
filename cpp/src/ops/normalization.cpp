// batch_norm (batch statistics in training, running statistics in eval) and dropout.
#include "dlcore/cuda_runtime.h"
#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {
namespace {

struct BatchNormBackward : Node {
  Tensor x, gamma, save_mean, save_invstd;
  int64_t N, C, inner;
  std::vector<Tensor> apply(const Tensor& g_in) override {
    Tensor g = g_in.contiguous();
    Tensor gx = Tensor::empty(x.shape(), DType::Float32, g.device());
    Tensor ggamma = Tensor::empty({C}, DType::Float32, g.device());
    Tensor gbeta = Tensor::empty({C}, DType::Float32, g.device());
    DLCORE_DISPATCH(g.device(), batch_norm_backward, g.data<float>(), x.data<float>(), gamma.data<float>(),
                    save_mean.data<float>(), save_invstd.data<float>(), gx.data<float>(), ggamma.data<float>(),
                    gbeta.data<float>(), N, C, inner);
    return {gx, ggamma, gbeta};
  }
  std::string name() const override { return "BatchNormBackward"; }
  bool release_saved() override {
    x = gamma = save_mean = save_invstd = Tensor();
    return true;
  }
};

// Eval mode is an affine map per channel: y = x_hat * gamma[c] + beta[c] with
// x_hat = (x - running_mean) / sqrt(running_var + eps); so gx = g * gamma * invstd,
// gweight = sum(g * x_hat) and gbias = sum(g) over the batch and spatial positions.
struct BatchNormEvalBackward : Node {
  Tensor scale;  // gamma * invstd, shaped [1, C, 1...] for broadcasting
  Tensor x_hat;  // saved only when the weight needs a gradient
  int64_t N, C, inner;
  std::vector<Tensor> apply(const Tensor& g_in) override {
    Tensor g = g_in.contiguous(), gx, gweight, gbias;
    if (next_edges[0].fn) gx = mul(g, scale);
    auto channel_sum = [&](const Tensor& t) {
      Tensor out = Tensor::empty({C}, DType::Float32, t.device());
      DLCORE_DISPATCH(t.device(), bias_backward, t.data<float>(), out.data<float>(), N, C, inner);
      return out;
    };
    if (next_edges[1].fn) gweight = channel_sum(mul(g, x_hat));
    if (next_edges[2].fn) gbias = channel_sum(g);
    return {gx, gweight, gbias};
  }
  std::string name() const override { return "BatchNormBackward"; }
  bool release_saved() override {
    scale = x_hat = Tensor();
    return true;
  }
};

struct DropoutBackward : Node {
  Tensor mask;
  std::vector<Tensor> apply(const Tensor& g) override { return {mul(g, mask)}; }
  std::string name() const override { return "DropoutBackward"; }
  bool release_saved() override {
    mask = Tensor();
    return true;
  }
};

void check_channel_vector(const Tensor& t, int64_t C, const Tensor& x, const char* name) {
  if (!t.defined()) return;
  check_float(t, "batch_norm", name);
  check_same_device(x, t, "batch_norm");
  if (t.dim() != 1 || t.size(0) != C)
    throw ValueError(std::string("batch_norm: ") + name + " " + shape_str(t.shape()) + " does not match " +
                     std::to_string(C) + " channels of input " + shape_str(x.shape()));
}

}  // namespace

Tensor batch_norm(const Tensor& x_in, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, float momentum, float eps) {
  profiler::OpScope profile_scope("batch_norm", x_in, running_mean, running_var, weight, bias);
  check_float(x_in, "batch_norm", "input");
  if (x_in.dim() < 2) throw ValueError("batch_norm: expected input [N, C, ...], got " + x_in.describe());
  // inner: the elements per (sample, channel), from the shape so it stays right for an empty batch.
  int64_t N = x_in.size(0), C = x_in.size(1), inner = 1;
  for (int64_t d = 2; d < x_in.dim(); ++d) inner *= x_in.size(d);
  check_channel_vector(running_mean, C, x_in, "running_mean");
  check_channel_vector(running_var, C, x_in, "running_var");
  check_channel_vector(weight, C, x_in, "weight");
  check_channel_vector(bias, C, x_in, "bias");
  if (running_mean.defined() != running_var.defined())
    throw ValueError("batch_norm: running_mean and running_var must both be given or both be None");
  if (!training && !running_mean.defined())
    throw ValueError("batch_norm: evaluation mode needs running_mean and running_var");
  if (training && N * inner <= 1)
    throw ValueError("batch_norm: expected more than 1 value per channel when training, got input " +
                     shape_str(x_in.shape()));
  Device dev = x_in.device();
  Tensor x = x_in.contiguous();
  Tensor gamma = weight.defined() ? weight.contiguous() : Tensor::full({C}, 1.0f, DType::Float32, dev);
  Tensor beta = bias.defined() ? bias.contiguous() : Tensor::zeros({C}, DType::Float32, dev);
  Tensor y = Tensor::empty(x.shape(), DType::Float32, dev);
  if (training) {
    Tensor save_mean = Tensor::empty({C}, DType::Float32, dev), save_invstd = Tensor::empty({C}, DType::Float32, dev);
    if (running_mean.defined()) {  // updated in place below
      running_mean.bump_version();
      running_var.bump_version();
    }
    float* rm = running_mean.defined() ? running_mean.data<float>() : nullptr;
    float* rv = running_var.defined() ? running_var.data<float>() : nullptr;
    DLCORE_DISPATCH(dev, batch_norm_forward_train, x.data<float>(), gamma.data<float>(), beta.data<float>(),
                    y.data<float>(), save_mean.data<float>(), save_invstd.data<float>(), rm, rv, N, C, inner,
                    momentum, eps);
    if (autograd::any_requires_grad({&x_in, &weight, &bias})) {
      auto node = std::make_shared<BatchNormBackward>();
      node->save(node->x, x);
      node->save(node->gamma, gamma);
      node->save_mean = save_mean;
      node->save_invstd = save_invstd;
      node->N = N; node->C = C; node->inner = inner;
      autograd::record(node, {&x_in, &weight, &bias}, y);
    }
    return y;
  }
  DLCORE_DISPATCH(dev, batch_norm_forward_eval, x.data<float>(), gamma.data<float>(), beta.data<float>(),
                  running_mean.data<float>(), running_var.data<float>(), y.data<float>(), N, C, inner, eps);
  if (autograd::any_requires_grad({&x_in, &weight, &bias})) {
    NoGradGuard no_grad;
    Shape bshape(x.dim(), 1);
    bshape[1] = C;
    Tensor ones = Tensor::full({C}, 1.0f, DType::Float32, dev);
    Tensor zeros = Tensor::zeros({C}, DType::Float32, dev);
    // scale = gamma / sqrt(var + eps): the eval kernel applied to a unit input with zero mean.
    Tensor scale = Tensor::empty({C}, DType::Float32, dev);
    DLCORE_DISPATCH(dev, batch_norm_forward_eval, ones.data<float>(), gamma.data<float>(), zeros.data<float>(),
                    zeros.data<float>(), running_var.data<float>(), scale.data<float>(), 1, C, 1, eps);
    auto node = std::make_shared<BatchNormEvalBackward>();
    node->scale = scale.view(bshape);
    node->N = N; node->C = C; node->inner = inner;
    if (weight.defined() && weight.requires_grad()) {
      // x_hat: the eval kernel with unit gamma and zero beta.
      node->x_hat = Tensor::empty(x.shape(), DType::Float32, dev);
      DLCORE_DISPATCH(dev, batch_norm_forward_eval, x.data<float>(), ones.data<float>(), zeros.data<float>(),
                      running_mean.data<float>(), running_var.data<float>(), node->x_hat.data<float>(), N, C, inner, eps);
    }
    autograd::record(node, {&x_in, &weight, &bias}, y);
  }
  return y;
}

Tensor dropout(const Tensor& x_in, float p, bool training) {
  profiler::OpScope profile_scope("dropout", x_in);
  check_float(x_in, "dropout", "input");
  if (!(p >= 0.0f && p <= 1.0f)) throw ValueError("dropout: probability has to be between 0 and 1, but got " + std::to_string(p));
  if (!training || p == 0.0f) return x_in;
  if (x_in.is_cuda()) cuda::check_not_capturing("dropout in training mode (its random mask would be frozen into the graph)");
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), DType::Float32, x.device());
  Tensor mask = Tensor::empty(x.shape(), DType::Float32, x.device());
  if (p == 1.0f) {
    y.zero_();
    mask.zero_();
  } else if (x.numel() > 0) {
    DLCORE_DISPATCH(x.device(), dropout_forward, x.data<float>(), y.data<float>(), mask.data<float>(), x.numel(), p,
                    next_seed());
  }
  if (autograd::any_requires_grad({&x_in})) {
    auto node = std::make_shared<DropoutBackward>();
    node->mask = mask;
    autograd::record(node, {&x_in}, y);
  }
  return y;
}

}  // namespace dlcore::ops
