// reshape and flatten: a view when the input's strides allow one (see view_strides), a contiguous
// copy otherwise; either way the gradient is reshaped back.
#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {
namespace {
struct ReshapeBackward : Node {
  Shape input_shape;
  std::vector<Tensor> apply(const Tensor& g) override { return {g.contiguous().view(input_shape)}; }
  std::string name() const override { return "ReshapeBackward"; }
};
}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  profiler::OpScope profile_scope("reshape", x);
  check_defined(x, "reshape", "input");
  Shape sizes = infer_view_shape(shape, x.shape(), "reshape");
  if (view_strides(x.shape(), x.strides(), sizes)) return view(x, sizes);
  Tensor out = x.contiguous().view(sizes);
  if (autograd::any_requires_grad({&x})) {
    auto node = std::make_shared<ReshapeBackward>();
    node->input_shape = x.shape();
    autograd::record(node, {&x}, out);
  }
  return out;
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  profiler::OpScope profile_scope("flatten", x);
  check_defined(x, "flatten", "input");
  if (x.dim() == 0) return reshape(x, {1});
  int64_t start = normalize_dim(start_dim, x.dim(), "flatten");
  int64_t end = normalize_dim(end_dim, x.dim(), "flatten");
  if (start > end)
    throw ValueError("flatten: start_dim " + std::to_string(start_dim) + " comes after end_dim " + std::to_string(end_dim));
  Shape shape;
  for (int64_t i = 0; i < start; ++i) shape.push_back(x.shape()[i]);
  int64_t merged = 1;
  for (int64_t i = start; i <= end; ++i) merged *= x.shape()[i];
  shape.push_back(merged);
  for (int64_t i = end + 1; i < x.dim(); ++i) shape.push_back(x.shape()[i]);
  return reshape(x, shape);
}

}  // namespace dlcore::ops
