// max_pool2d (argmax saved for backward, and handed out as torch's indices by
// max_pool2d_with_indices) and avg_pool2d (padding counted, PyTorch's default).
#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {
namespace {

struct MaxPool2dBackward : Node {
  Tensor argmax;  // int32 [N, C, P, Q]: the flat h * W + w of each window's maximum in its plane
  Pool2dShape s;
  std::vector<Tensor> apply(const Tensor& g_in) override {
    Tensor g = g_in.contiguous();
    Tensor gx = Tensor::empty({s.N, s.C, s.H, s.W}, DType::Float32, g.device());
    DLCORE_DISPATCH(g.device(), max_pool2d_backward, g.data<float>(),
                    argmax.data<int32_t>(), gx.data<float>(), s);
    return {gx};
  }
  std::string name() const override { return "MaxPool2dBackward"; }
  bool release_saved() override {
    argmax = Tensor();
    return true;
  }
};

struct AvgPool2dBackward : Node {
  Pool2dShape s;
  std::vector<Tensor> apply(const Tensor& g_in) override {
    Tensor g = g_in.contiguous();
    Tensor gx = Tensor::empty({s.N, s.C, s.H, s.W}, DType::Float32, g.device());
    DLCORE_DISPATCH(g.device(), avg_pool2d_backward, g.data<float>(), gx.data<float>(), s);
    return {gx};
  }
  std::string name() const override { return "AvgPool2dBackward"; }
};

Pool2dShape pool_shape(const Tensor& x, const Pool2dArgs& a, const char* op) {
  check_float(x, op, "input");
  if (x.dim() != 4) throw ValueError(std::string(op) + ": expected a 4-D input [N, C, H, W], got " + x.describe());
  std::string args = " (kernel " + std::to_string(a.kernel_h) + "x" + std::to_string(a.kernel_w) + ", stride " +
                     std::to_string(a.stride_h) + "x" + std::to_string(a.stride_w) + ", padding " +
                     std::to_string(a.pad_h) + "x" + std::to_string(a.pad_w) + ", input " + shape_str(x.shape()) + ")";
  if (a.kernel_h < 1 || a.kernel_w < 1 || a.stride_h < 1 || a.stride_w < 1 || a.pad_h < 0 || a.pad_w < 0)
    throw ValueError(std::string(op) + ": kernel and stride must be >= 1 and padding >= 0" + args);
  if (2 * a.pad_h > a.kernel_h || 2 * a.pad_w > a.kernel_w)
    throw ValueError(std::string(op) + ": padding should be at most half of the kernel size" + args);
  if (x.size(0) == 0) throw ValueError(std::string(op) + ": empty batch" + args);
  // A window of an empty plane would hold padding only (torch refuses such input too).
  if (x.size(1) == 0 || x.size(2) == 0 || x.size(3) == 0)
    throw ValueError(std::string(op) + ": expected non-zero channels, height and width" + args);
  Pool2dShape s{};
  s.N = x.size(0); s.C = x.size(1); s.H = x.size(2); s.W = x.size(3);
  s.kernel_h = a.kernel_h; s.kernel_w = a.kernel_w; s.stride_h = a.stride_h; s.stride_w = a.stride_w;
  s.pad_h = a.pad_h; s.pad_w = a.pad_w;
  s.P = (s.H + 2 * s.pad_h - s.kernel_h) / s.stride_h + 1;
  s.Q = (s.W + 2 * s.pad_w - s.kernel_w) / s.stride_w + 1;
  if (s.H + 2 * s.pad_h < s.kernel_h || s.W + 2 * s.pad_w < s.kernel_w)
    throw ValueError(std::string(op) + ": kernel is larger than the padded input" + args);
  return s;
}

MaxPool2dResult max_pool2d_with_argmax(const Tensor& x_in, const Pool2dArgs& a, const char* op) {
  profiler::OpScope profile_scope(op, x_in);
  Pool2dShape s = pool_shape(x_in, a, op);
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty({s.N, s.C, s.P, s.Q}, DType::Float32, x.device());
  Tensor argmax = Tensor::empty({s.N, s.C, s.P, s.Q}, DType::Int32, x.device());
  DLCORE_DISPATCH(x.device(), max_pool2d_forward, x.data<float>(), y.data<float>(), argmax.data<int32_t>(), s);
  if (autograd::any_requires_grad({&x_in})) {
    auto node = std::make_shared<MaxPool2dBackward>();
    node->s = s;
    node->argmax = argmax;
    autograd::record(node, {&x_in}, y);
  }
  return {y, argmax};
}

}  // namespace

Tensor max_pool2d(const Tensor& x, const Pool2dArgs& a) { return max_pool2d_with_argmax(x, a, "max_pool2d").values; }

MaxPool2dResult max_pool2d_with_indices(const Tensor& x, const Pool2dArgs& a) {
  MaxPool2dResult r = max_pool2d_with_argmax(x, a, "max_pool2d_with_indices");
  return {r.values, to_dtype(r.indices, DType::Int64)};  // torch's indices are int64
}

Tensor avg_pool2d(const Tensor& x_in, const Pool2dArgs& a) {
  profiler::OpScope profile_scope("avg_pool2d", x_in);
  Pool2dShape s = pool_shape(x_in, a, "avg_pool2d");
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty({s.N, s.C, s.P, s.Q}, DType::Float32, x.device());
  DLCORE_DISPATCH(x.device(), avg_pool2d_forward, x.data<float>(), y.data<float>(), s);
  if (autograd::any_requires_grad({&x_in})) {
    auto node = std::make_shared<AvgPool2dBackward>();
    node->s = s;
    autograd::record(node, {&x_in}, y);
  }
  return y;
}

}  // namespace dlcore::ops
