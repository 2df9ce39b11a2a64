// layer_norm: the fused kernels of kernel_list.inc (layer_norm_forward/backward, on the CPU and CUDA)
// for float32 inputs, with a Node whose backward is the fused kernel too.
#include <algorithm>
#include <stdexcept>

#include "../dispatch.h"
#include "dlcore/nn.h"
#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {
namespace {

struct LayerNormBackward : Node {
  Tensor x, gamma, mean, rstd;
  int64_t rows = 0, cols = 0;
  std::vector<Tensor> apply(const Tensor& g_in) override {
    Tensor g = g_in.contiguous();
    auto wants = [&](size_t i) { return i < next_edges.size() && next_edges[i].fn; };
    Tensor gx, ggamma, gbeta;
    if (wants(0)) gx = Tensor::empty(x.shape(), DType::Float32, x.device());
    if (wants(1)) ggamma = Tensor::empty(next_edges[1].input_shape, DType::Float32, x.device());
    if (wants(2)) gbeta = Tensor::empty(next_edges[2].input_shape, DType::Float32, x.device());
    DLCORE_DISPATCH(x.device(), layer_norm_backward, g.data<float>(), x.data<float>(), mean.data<float>(),
                    rstd.data<float>(), gamma.defined() ? gamma.data<float>() : nullptr,
                    gx.defined() ? gx.data<float>() : nullptr, ggamma.defined() ? ggamma.data<float>() : nullptr,
                    gbeta.defined() ? gbeta.data<float>() : nullptr, rows, cols);
    return {gx, ggamma, gbeta};
  }
  std::string name() const override { return "NativeLayerNormBackward"; }
  bool release_saved() override {
    x = gamma = mean = rstd = Tensor();
    return true;
  }
};

void check_affine(const Tensor& t, const Shape& normalized_shape, const Tensor& x, const char* name) {
  if (!t.defined()) return;
  check_float(t, "layer_norm", name);
  check_same_device(x, t, "layer_norm");
  if (t.shape() != normalized_shape)
    throw ValueError(std::string("layer_norm: ") + name + " " + shape_str(t.shape()) +
                     " does not match normalized_shape " + shape_str(normalized_shape));
}

}  // namespace

Tensor layer_norm(const Tensor& x_in, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  float eps) {
  profiler::OpScope profile_scope("layer_norm", x_in, weight, bias);
  check_float(x_in, "layer_norm", "input");
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  Shape trailing(x_in.shape().end() - std::min<int64_t>(k, x_in.dim()), x_in.shape().end());
  if (k == 0 || k > x_in.dim() || trailing != normalized_shape)
    throw ValueError("layer_norm: normalized_shape " + shape_str(normalized_shape) +
                     " does not match the trailing dims of input " + shape_str(x_in.shape()));
  check_affine(weight, normalized_shape, x_in, "weight");
  check_affine(bias, normalized_shape, x_in, "bias");
  if (!(eps > 0.0f)) throw ValueError("layer_norm: eps must be positive, got " + std::to_string(eps));
  Tensor x = x_in.contiguous();
  int64_t cols = 1;
  for (int64_t s : normalized_shape) cols *= s;
  const int64_t rows = cols > 0 ? x.numel() / cols : 0;
  Tensor gamma = weight.defined() ? weight.contiguous() : Tensor();
  Tensor beta = bias.defined() ? bias.contiguous() : Tensor();
  Tensor y = Tensor::empty(x.shape(), DType::Float32, x.device());
  Tensor mean = Tensor::empty({rows}, DType::Float32, x.device());
  Tensor rstd = Tensor::empty({rows}, DType::Float32, x.device());
  if (x.numel() > 0)
    DLCORE_DISPATCH(x.device(), layer_norm_forward, x.data<float>(), gamma.defined() ? gamma.data<float>() : nullptr,
                    beta.defined() ? beta.data<float>() : nullptr, y.data<float>(), mean.data<float>(),
                    rstd.data<float>(), rows, cols, eps);
  if (autograd::any_requires_grad({&x_in, &weight, &bias})) {
    auto node = std::make_shared<LayerNormBackward>();
    node->save(node->x, x);
    if (gamma.defined()) node->save(node->gamma, gamma);
    node->mean = mean;
    node->rstd = rstd;
    node->rows = rows;
    node->cols = cols;
    autograd::record(node, {&x_in, &weight, &bias}, y);
  }
  return y;
}

}  // namespace dlcore::ops
