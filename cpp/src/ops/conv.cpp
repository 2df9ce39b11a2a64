// conv2d: NCHW input, weight [out, in/groups, kh, kw], optional bias. Validates every argument with
// the shapes in the message, then runs the backend's convolution kernels.
#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {
namespace {

struct Conv2dBackward : Node {
  Tensor x, w;
  Tensor y;  // the output, saved when a ReLU was fused
  Conv2dShape s;
  std::vector<Tensor> apply(const Tensor& g_in) override {
    Tensor g = y.defined() ? relu_grad(g_in, y) : g_in.contiguous(), gx, gw, gb;
    if (next_edges[0].fn) {
      gx = Tensor::empty({s.N, s.C, s.H, s.W}, DType::Float32, g.device());
      DLCORE_DISPATCH(g.device(), conv2d_backward_input, g.data<float>(), w.data<float>(), gx.data<float>(), s);
    }
    if (next_edges[1].fn) {
      gw = Tensor::empty({s.K, s.C / s.groups, s.R, s.S}, DType::Float32, g.device());
      DLCORE_DISPATCH(g.device(), conv2d_backward_weight, x.data<float>(), g.data<float>(), gw.data<float>(), s);
    }
    if (next_edges.size() > 2 && next_edges[2].fn) {
      gb = Tensor::empty({s.K}, DType::Float32, g.device());
      DLCORE_DISPATCH(g.device(), bias_backward, g.data<float>(), gb.data<float>(), s.N, s.K, s.P * s.Q);
    }
    return {gx, gw, gb};
  }
  std::string name() const override { return y.defined() ? "Conv2dReluBackward" : "Conv2dBackward"; }
  bool release_saved() override {
    x = w = y = Tensor();
    return true;
  }
};

std::string conv_context(const Tensor& x, const Tensor& w) {
  return " (input " + shape_str(x.shape()) + ", weight " + shape_str(w.shape()) + ")";
}

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& w_in, const Tensor& bias, const Conv2dArgs& a, bool relu) {
  profiler::OpScope profile_scope(relu ? "conv2d_relu" : "conv2d", x_in, w_in, bias);
  check_defined(x_in, "conv2d", "input");
  check_defined(w_in, "conv2d", "weight");
  if (auto half = sixteen_bit_dtype({&x_in, &w_in, &bias}, "conv2d"))
    return to_dtype(conv2d(as_float32(x_in), as_float32(w_in), as_float32(bias), a, relu), *half);
  check_float(x_in, "conv2d", "input");
  check_float(w_in, "conv2d", "weight");
  check_same_device(x_in, w_in, "conv2d");
  if (x_in.dim() != 4)
    throw ValueError("conv2d: expected a 4-D input [N, C, H, W], got " + x_in.describe());
  if (w_in.dim() != 4)
    throw ValueError("conv2d: expected a 4-D weight [out, in/groups, kh, kw], got " + w_in.describe());
  if (a.stride_h < 1 || a.stride_w < 1 || a.dilation_h < 1 || a.dilation_w < 1 || a.pad_h < 0 || a.pad_w < 0 ||
      a.groups < 1)
    throw ValueError("conv2d: stride and dilation must be >= 1, padding >= 0 and groups >= 1" + conv_context(x_in, w_in));
  Conv2dShape s{};
  s.N = x_in.size(0); s.C = x_in.size(1); s.H = x_in.size(2); s.W = x_in.size(3);
  s.K = w_in.size(0); s.R = w_in.size(2); s.S = w_in.size(3);
  s.stride_h = a.stride_h; s.stride_w = a.stride_w; s.pad_h = a.pad_h; s.pad_w = a.pad_w;
  s.dilation_h = a.dilation_h; s.dilation_w = a.dilation_w; s.groups = a.groups;
  if (s.N == 0) throw ValueError("conv2d: empty batch" + conv_context(x_in, w_in));
  if (s.C % s.groups != 0 || s.K % s.groups != 0)
    throw ValueError("conv2d: in and out channels must be divisible by groups=" + std::to_string(s.groups) +
                     conv_context(x_in, w_in));
  if (w_in.size(1) * s.groups != s.C)
    throw ValueError("conv2d: input has " + std::to_string(s.C) + " channels but weight expects " +
                     std::to_string(w_in.size(1) * s.groups) + conv_context(x_in, w_in));
  s.P = (s.H + 2 * s.pad_h - s.dilation_h * (s.R - 1) - 1) / s.stride_h + 1;
  s.Q = (s.W + 2 * s.pad_w - s.dilation_w * (s.S - 1) - 1) / s.stride_w + 1;
  if (s.H + 2 * s.pad_h < s.dilation_h * (s.R - 1) + 1 || s.W + 2 * s.pad_w < s.dilation_w * (s.S - 1) + 1 || s.P < 1 ||
      s.Q < 1)
    throw ValueError("conv2d: kernel " + std::to_string(s.R) + "x" + std::to_string(s.S) +
                     " is larger than the padded input " + std::to_string(s.H + 2 * s.pad_h) + "x" +
                     std::to_string(s.W + 2 * s.pad_w) + conv_context(x_in, w_in));
  if (bias.defined()) {
    check_float(bias, "conv2d", "bias");
    check_same_device(x_in, bias, "conv2d");
    if (bias.dim() != 1 || bias.size(0) != s.K)
      throw ValueError("conv2d: bias " + shape_str(bias.shape()) + " does not match " + std::to_string(s.K) +
                       " output channels" + conv_context(x_in, w_in));
  }
  Tensor x = x_in.contiguous(), w = w_in.contiguous();
  Tensor y = Tensor::empty({s.N, s.K, s.P, s.Q}, DType::Float32, x.device());
  DLCORE_DISPATCH(x.device(), conv2d_forward, x.data<float>(), w.data<float>(), y.data<float>(), s);
  bias_relu_epilogue(y, bias, s.N, s.K, s.P * s.Q, relu);
  if (autograd::any_requires_grad({&x_in, &w_in, &bias})) {
    auto node = std::make_shared<Conv2dBackward>();
    node->s = s;
    if (w_in.requires_grad()) node->save(node->x, x);
    if (x_in.requires_grad()) node->save(node->w, w);
    if (relu) node->save(node->y, y);
    if (bias.defined()) autograd::record(node, {&x_in, &w_in, &bias}, y);
    else autograd::record(node, {&x_in, &w_in}, y);
  }
  return y;
}

}  // namespace dlcore::ops
