// The ops that assemble a new tensor from pieces of others: cat and stack. Each piece is written
// with copy_ through a strided view of the output; gradients are views of g. (Gathers by index
// positions are advanced indexing: advanced_indexing.cpp and dim_indexing.cpp.)
#include <algorithm>

#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {
namespace {

// Like autograd::record for a list of inputs.
void record_inputs(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs, Tensor& out) {
  autograd::record(node, {}, out);
  for (const Tensor& t : inputs) node->next_edges.push_back(autograd::gradient_edge(t));
}

bool any_input_requires_grad(const std::vector<Tensor>& inputs) {
  if (!GradMode::is_enabled()) return false;
  return std::any_of(inputs.begin(), inputs.end(), [](const Tensor& t) { return t.requires_grad(); });
}

// Each input's gradient is its slab of g along dim; skipped (legacy empty) inputs get zeros.
struct CatBackward : Node {
  int64_t dim;
  std::vector<int64_t> starts;  // -1 marks a skipped input
  std::vector<Shape> shapes;
  std::vector<Tensor> apply(const Tensor& g) override {
    std::vector<Tensor> grads;
    for (size_t i = 0; i < starts.size(); ++i) {
      if (!next_edges[i].fn) {
        grads.emplace_back();
      } else if (starts[i] < 0) {
        grads.push_back(Tensor::zeros(shapes[i], g.dtype(), g.device()));
      } else {
        grads.push_back(narrow(g, dim, starts[i], shapes[i][dim]));
      }
    }
    return grads;
  }
  std::string name() const override { return "CatBackward"; }
};

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  profiler::OpScope profile_scope("cat", tensors);
  if (tensors.empty()) throw ValueError("cat: expected a non-empty list of tensors");
  for (const Tensor& t : tensors) check_defined(t, "cat", "a tensor in the list");
  // torch skips 1-D empty tensors, a legacy stand-in for "nothing", when others have more dims.
  auto skipped = [](const Tensor& t) { return t.dim() == 1 && t.numel() == 0; };
  auto ref_it = std::find_if(tensors.begin(), tensors.end(), [&](const Tensor& t) { return !skipped(t); });
  const Tensor& ref = ref_it == tensors.end() ? tensors.front() : *ref_it;
  if (ref.dim() == 0) throw ShapeError("cat: zero-dimensional tensors cannot be concatenated");
  const int64_t d = wrap_dim(dim, ref.dim(), "cat");
  Shape shape = ref.shape();
  shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    check_same_device(ref, t, "cat");
    if (t.dtype() != ref.dtype())
      throw ValueError("cat: expected all tensors to have the same dtype, got " + ref.describe() + " and " + t.describe() +
                       " (tensor number " + std::to_string(i) + ")");
    if (skipped(t) && &t != &ref) continue;
    bool matches = t.dim() == ref.dim();
    for (int64_t k = 0; matches && k < ref.dim(); ++k) matches = k == d || t.shape()[k] == ref.shape()[k];
    if (!matches)
      throw ShapeError("cat: sizes of tensors must match except in dimension " + std::to_string(d) + ", got " +
                       shape_str(ref.shape()) + " and " + shape_str(t.shape()) + " for tensor number " + std::to_string(i));
    shape[d] += t.shape()[d];
  }
  Tensor out = Tensor::empty(shape, ref.dtype(), ref.device());
  std::vector<int64_t> starts;
  {
    NoGradGuard no_grad;
    int64_t start = 0;
    for (const Tensor& t : tensors) {
      if (skipped(t) && &t != &ref) {
        starts.push_back(-1);
        continue;
      }
      starts.push_back(start);
      narrow(out, d, start, t.shape()[d]).copy_(t);
      start += t.shape()[d];
    }
  }
  if (any_input_requires_grad(tensors)) {
    auto node = std::make_shared<CatBackward>();
    node->dim = d;
    node->starts = std::move(starts);
    for (const Tensor& t : tensors) node->shapes.push_back(t.shape());
    record_inputs(node, tensors, out);
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  profiler::OpScope profile_scope("stack", tensors);
  if (tensors.empty()) throw ValueError("stack: expected a non-empty list of tensors");
  for (const Tensor& t : tensors) check_defined(t, "stack", "a tensor in the list");
  for (size_t i = 1; i < tensors.size(); ++i)
    if (tensors[i].shape() != tensors[0].shape())
      throw ShapeError("stack: expects each tensor to be equal size, but got " + shape_str(tensors[0].shape()) +
                       " at entry 0 and " + shape_str(tensors[i].shape()) + " at entry " + std::to_string(i));
  const int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> pieces;
  for (const Tensor& t : tensors) pieces.push_back(unsqueeze(t, d));
  return cat(pieces, d);
}

}  // namespace dlcore::ops
