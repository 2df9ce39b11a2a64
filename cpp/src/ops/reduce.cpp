// sum and mean over all elements, and argmax along the class dimension.
#include "op_util.h"

namespace dlcore::ops {
namespace {

struct SumBackward : Node {
  Shape input_shape;
  float scale;  // 1 for sum, 1/n for mean
  std::vector<Tensor> apply(const Tensor& g) override {
    return {spread_scalar(g, input_shape, scale)};  // d(sum)/dx is the scalar gradient everywhere
  }
  std::string name() const override { return scale == 1.0f ? "SumBackward" : "MeanBackward"; }
};

Tensor reduce_all(const Tensor& x_in, bool average) {
  const char* op = average ? "mean" : "sum";
  check_defined(x_in, op, "input");
  // Integer and bool sums count in int64, as in PyTorch ((pred == target).sum()).
  Tensor x = (!average && !is_floating(x_in.dtype())) ? to_dtype(x_in, DType::Int64).contiguous() : x_in.contiguous();
  if (x.dtype() == DType::Int64 && !average) {
    Tensor out = Tensor::empty({}, DType::Int64, x.device());
    DLCORE_DISPATCH(x.device(), sum_all_int64, x.data<int64_t>(), out.data<int64_t>(), x.numel());
    return out;
  }
  check_float(x_in, op, "input");
  Tensor out = Tensor::empty({}, DType::Float32, x.device());
  DLCORE_DISPATCH(x.device(), sum_all, x.data<float>(), out.data<float>(), x.numel());
  float scale = 1.0f;
  if (average) {
    scale = 1.0f / static_cast<float>(x.numel());  // nan for an empty tensor, like PyTorch
    DLCORE_DISPATCH(x.device(), scale_shift, out.data<float>(), out.data<float>(), scale, 0.0f, 1);
  }
  if (autograd::any_requires_grad({&x_in})) {
    auto node = std::make_shared<SumBackward>();
    node->input_shape = x.shape();
    node->scale = scale;
    autograd::record(node, {&x_in}, out);
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x) { return reduce_all(x, false); }
Tensor mean(const Tensor& x) { return reduce_all(x, true); }

void increment_(const Tensor& counter, int64_t by) {
  check_defined(counter, "increment_", "counter");
  if (counter.dtype() != DType::Int64 || counter.numel() != 1)
    throw ValueError("increment_: expected a one-element int64 tensor, got " + counter.describe());
  counter.bump_version();
  DLCORE_DISPATCH(counter.device(), increment_int64, counter.data<int64_t>(), by);
}

Tensor argmax(const Tensor& x_in, int64_t dim) {
  check_float(x_in, "argmax", "input");
  if (x_in.dim() != 2 || normalize_dim(dim, 2, "argmax") != 1)
    throw ValueError("argmax: supported for 2-D input along dim 1, got " + x_in.describe() + " and dim=" +
                     std::to_string(dim));
  if (x_in.size(1) == 0) throw ValueError("argmax: cannot take the argmax of an empty row, input " + x_in.describe());
  Tensor x = x_in.contiguous();
  Tensor out = Tensor::empty({x.size(0)}, DType::Int64, x.device());
  if (x.size(0) > 0) DLCORE_DISPATCH(x.device(), argmax_rows, x.data<float>(), out.data<int64_t>(), x.size(0), x.size(1));
  return out;
}

}  // namespace dlcore::ops
