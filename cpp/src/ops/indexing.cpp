// The ops that assemble a new tensor from pieces of others: cat, stack, and gathering along a
// dimension by int64 positions (index_select, Python's x[:, index]). Each piece is written with
// copy_ through a strided view of the output; gradients are views of g, or an index_add of g.
#include <algorithm>

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

// Consecutive positions p, p+1, ... gathered as one slab: (first output index, first position, length).
struct Run {
  int64_t out_start, position, length;
};

std::vector<Run> runs_of(const std::vector<int64_t>& positions) {
  std::vector<Run> runs;
  for (size_t i = 0; i < positions.size(); ++i) {
    if (!runs.empty() && runs.back().position + runs.back().length == positions[i]) {
      ++runs.back().length;
    } else {
      runs.push_back({static_cast<int64_t>(i), positions[i], 1});
    }
  }
  return runs;
}

// gx = zeros(input); gx.index_add_(dim, positions, g): runs add one slab at a time, so repeated
// positions accumulate.
struct GatherBackward : Node {
  int64_t dim;
  Shape input_shape;
  std::vector<Run> runs;
  std::vector<Tensor> apply(const Tensor& g) override {
    Tensor gx = Tensor::zeros(input_shape, g.dtype(), g.device());
    for (const Run& r : runs) {
      Tensor target = narrow(gx, dim, r.position, r.length);
      add_(target, narrow(g, dim, r.out_start, r.length));
    }
    return {gx};
  }
  std::string name() const override { return "IndexBackward"; }
};

// x gathered at positions (each already in [0, x.size(dim))) along dim.
Tensor gather_positions(const Tensor& x, int64_t dim, const std::vector<int64_t>& positions) {
  Shape shape = x.shape();
  shape[dim] = static_cast<int64_t>(positions.size());
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  std::vector<Run> runs = runs_of(positions);
  {
    NoGradGuard no_grad;
    for (const Run& r : runs) narrow(out, dim, r.out_start, r.length).copy_(narrow(x, dim, r.position, r.length));
  }
  if (autograd::any_requires_grad({&x})) {
    auto node = std::make_shared<GatherBackward>();
    node->dim = dim;
    node->input_shape = x.shape();
    node->runs = std::move(runs);
    autograd::record(node, {&x}, out);
  }
  return out;
}

// The positions of an int64 index tensor, read on the host and checked against size; negative
// ones count from the end when allowed.
std::vector<int64_t> read_positions(const Tensor& index, int64_t size, int64_t dim, bool allow_negative, const char* op) {
  Tensor host = index.to(Device::cpu()).contiguous();
  const int64_t* p = host.data<int64_t>();
  std::vector<int64_t> positions(p, p + host.numel());
  for (int64_t& i : positions) {
    const int64_t low = allow_negative ? -size : 0;
    if (i < low || i >= size)
      throw IndexError(std::string(op) + ": index " + std::to_string(i) + " is out of bounds for dimension " +
                       std::to_string(dim) + " with size " + std::to_string(size));
    if (i < 0) i += size;
  }
  return positions;
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
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

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  check_defined(x, "index_select", "input");
  check_defined(index, "index_select", "index");
  if (index.dtype() != DType::Int64) throw ValueError("index_select: expected an int64 index, got " + index.describe());
  if (index.dim() > 1) throw ShapeError("index_select: index must be 0-D or 1-D, got " + index.describe());
  if (x.dim() == 0) throw IndexError("index_select: cannot be applied to a 0-D tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "index_select");
  return gather_positions(x, d, read_positions(index, x.shape()[d], d, false, "index_select"));
}

Tensor index(const Tensor& x, int64_t dim, const Tensor& index) {
  check_defined(x, "index", "input");
  check_defined(index, "index", "index");
  if (index.dtype() != DType::Int64)
    throw IndexError("index: tensors used as indices must be int64, got " + index.describe());
  if (x.dim() == 0) throw IndexError("index: cannot index a 0-D tensor with a tensor");
  const int64_t d = wrap_dim(dim, x.dim(), "index");
  Tensor gathered = gather_positions(x, d, read_positions(index, x.shape()[d], d, true, "index"));
  Shape shape(x.shape().begin(), x.shape().begin() + d);
  shape.insert(shape.end(), index.shape().begin(), index.shape().end());
  shape.insert(shape.end(), x.shape().begin() + d + 1, x.shape().end());
  return view(gathered, shape);
}

}  // namespace dlcore::ops
