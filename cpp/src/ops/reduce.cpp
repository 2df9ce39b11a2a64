// Reductions with PyTorch's semantics: sum, mean, prod, amax, amin, max/min (with and without dim),
// argmax/argmin over any set of dimensions of any strided view. One iteration builder turns the
// input's layout into a ReduceIter (kept dimensions outside, reduced ones inside) for the one reduce
// kernel of each backend; the gradients are built from other ops (expand, eq, where).
#include <algorithm>
#include <numeric>

#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {
namespace {

// Which dimensions a reduction removes and the shapes it produces.
struct Reduction {
  std::vector<bool> reduced;  // per input dimension
  Shape keep_shape;           // reduced dimensions as 1 (keepdim=True)
  Shape out_shape;            // what the caller gets (keep_shape, or without the reduced dimensions)
  int64_t outputs = 1, extent = 1;
};

// dims empty: every dimension. Out of range -> IndexError, repeated -> RuntimeError, as torch.
Reduction plan_reduction(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, const char* op) {
  const int64_t nd = x.dim();
  Reduction r;
  r.reduced.assign(nd, dims.empty());
  std::vector<bool> seen(std::max<int64_t>(nd, 1), false);
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, nd, op);
    if (seen[w]) throw std::runtime_error(std::string(op) + "(): dim " + std::to_string(w) + " appears multiple times in the list of dims");
    seen[w] = true;
    if (nd > 0) r.reduced[w] = true;
  }
  for (int64_t d = 0; d < nd; ++d) {
    const int64_t size = x.shape()[d];
    r.keep_shape.push_back(r.reduced[d] ? 1 : size);
    if (!r.reduced[d]) r.out_shape.push_back(size);
    (r.reduced[d] ? r.extent : r.outputs) *= size;
  }
  if (keepdim) r.out_shape = r.keep_shape;
  return r;
}

// Appends (size, stride) as a dimension inside the previous ones, merging the two when one stride
// steps through both; size-1 dimensions vanish.
void push_dim(int& ndim, int64_t* sizes, int64_t* strides, int64_t size, int64_t stride) {
  if (size == 1) return;
  if (ndim > 0 && strides[ndim - 1] == stride * size && sizes[ndim - 1] != 0 && size != 0) {
    sizes[ndim - 1] *= size;
    strides[ndim - 1] = stride;
    return;
  }
  sizes[ndim] = size;
  strides[ndim] = stride;
  ++ndim;
}

// The kept dimensions in the input's order (the output is contiguous in that order); the reduced
// ones innermost, in the input's order when indices are reported (argmax counts row-major),
// otherwise by decreasing stride so the innermost run is the one closest together in memory.
ReduceIter make_reduce_iter(const Tensor& x, const Reduction& r, bool logical_order) {
  ReduceIter it;
  std::vector<int64_t> reduced_dims;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (r.reduced[d]) reduced_dims.push_back(d);
    else push_dim(it.out_ndim, it.out_sizes, it.out_strides, x.shape()[d], x.strides()[d]);
  }
  if (!logical_order)
    std::stable_sort(reduced_dims.begin(), reduced_dims.end(),
                     [&](int64_t a, int64_t b) { return std::abs(x.strides()[a]) > std::abs(x.strides()[b]); });
  for (int64_t d : reduced_dims) push_dim(it.red_ndim, it.red_sizes, it.red_strides, x.shape()[d], x.strides()[d]);
  if (it.red_ndim == 0) {  // nothing reduced (or only size-1 dimensions): one element per output
    it.red_sizes[0] = 1;
    it.red_strides[0] = 0;
    it.red_ndim = 1;
  }
  it.outputs = r.outputs;
  it.reduced = r.extent;
  it.input = x.raw_data();
  return it;
}

// torch's ScalarType names, which its dtype errors print.
std::string torch_type_name(DType d) {
  static const char* names[] = {"Bool", "Byte", "Int", "Long", "Half", "BFloat16", "Float", "Double"};
  return names[static_cast<int>(d)];
}

// Runs the kernel: values (of value_dtype, unless null) and indices (when wanted) shaped r.out_shape.
void run_reduce(ReduceOp op, const Tensor& x, const Reduction& r, DType value_dtype, double scale, Tensor* values,
                Tensor* indices) {
  ReduceIter it = make_reduce_iter(x, r, indices != nullptr);
  if (values) {
    *values = Tensor::empty(r.out_shape, value_dtype, x.device());
    it.values = values->raw_data();
  }
  if (indices) {
    *indices = Tensor::empty(r.out_shape, DType::Int64, x.device());
    it.indices = indices->data<int64_t>();
  }
  it.scale = scale;
  if (it.outputs > 0) DLCORE_DISPATCH(x.device(), reduce, op, x.dtype(), it);
}

// Max/Min-style reductions need at least one element per output, as torch.
void check_nonempty(const Tensor& x, const Reduction& r, bool all_dims, const char* op) {
  if (r.extent != 0 || r.outputs == 0) return;
  if (all_dims && x.numel() == 0) {
    const std::string what = std::string(op) + "(): Expected reduction dim to be specified for input.numel() == 0.";
    if (std::string(op).rfind("arg", 0) != 0)  // argmax/argmin raise IndexError, the others RuntimeError
      throw std::runtime_error(what + " Specify the reduction dim with the 'dim' argument.");
    throw IndexError(what);
  }
  for (int64_t d = 0; d < x.dim(); ++d)
    if (r.reduced[d] && x.shape()[d] == 0)
      throw IndexError(std::string(op) + "(): Expected reduction dim " + std::to_string(d) + " to have non-zero size.");
}

Tensor zero_like_scalar() { return Tensor::wrapped_number(Scalar(0)); }

// The gradient of every reduction reshaped so it broadcasts against the input.
Tensor keepdim_grad(const Tensor& g, const Reduction& r) { return reshape(g, r.keep_shape); }

struct SumBackward : Node {
  Reduction r;
  Shape input_shape;
  double scale = 1.0;  // 1/extent for mean
  std::vector<Tensor> apply(const Tensor& g) override {
    Tensor gk = keepdim_grad(g, r);
    if (scale != 1.0) gk = mul(gk, Tensor::wrapped_number(Scalar(scale)));
    return {expand(gk, input_shape).contiguous()};
  }
  std::string name() const override { return scale == 1.0 ? "SumBackward" : "MeanBackward"; }
};

// torch's rule: with no zero in a slice d(prod)/dx = prod/x; with one zero only that element gets
// the product of the others; with more, every gradient of the slice is 0.
struct ProdBackward : Node {
  Reduction r;
  Tensor input;
  std::vector<Tensor> apply(const Tensor& g) override {
    const Tensor zero = eq(input, zero_like_scalar());
    Tensor zeros_per_slice, product_of_nonzeros;
    run_reduce(ReduceOp::Sum, zero, keep(), DType::Int64, 1.0, &zeros_per_slice, nullptr);
    const Tensor nonzero = where(zero, Tensor::wrapped_number(Scalar(1)), input);
    run_reduce(ReduceOp::Prod, nonzero, keep(), input.dtype(), 1.0, &product_of_nonzeros, nullptr);
    const Tensor at_zero = where(eq(zeros_per_slice, Tensor::wrapped_number(Scalar(1))), product_of_nonzeros, zero_like_scalar());
    const Tensor elsewhere = where(eq(zeros_per_slice, zero_like_scalar()), div(product_of_nonzeros, input), zero_like_scalar());
    return {mul(keepdim_grad(g, r), where(zero, at_zero, elsewhere))};
  }
  Reduction keep() const {
    Reduction k = r;
    k.out_shape = k.keep_shape;
    return k;
  }
  std::string name() const override { return "ProdBackward"; }
  bool release_saved() override {
    const bool had = input.defined();
    input = Tensor();
    return had;
  }
};

// amax/amin: the gradient is shared evenly among the elements equal to the result.
struct ExtremumBackward : Node {
  Reduction r;
  Tensor input, result;
  bool is_max = true;
  std::vector<Tensor> apply(const Tensor& g) override {
    const Tensor hit = eq(input, keepdim_grad(result, r));
    Reduction k = r;
    k.out_shape = k.keep_shape;
    Tensor count;
    run_reduce(ReduceOp::Sum, hit, k, DType::Int64, 1.0, &count, nullptr);
    return {div(mul(keepdim_grad(g, r), hit), count)};
  }
  std::string name() const override { return is_max ? "AmaxBackward" : "AminBackward"; }
  bool release_saved() override {
    const bool had = input.defined();
    input = result = Tensor();
    return had;
  }
};

// max/min along dim: the whole gradient goes to the element whose index was returned.
struct IndexedExtremumBackward : Node {
  Reduction r;
  Shape input_shape;
  int64_t dim = 0;
  Tensor indices;
  bool is_max = true;
  std::vector<Tensor> apply(const Tensor& g) override {
    if (input_shape.empty()) return {reshape(g, input_shape)};
    Shape along(input_shape.size(), 1);
    along[dim] = input_shape[dim];
    const Tensor positions = reshape(arange(Scalar(0), Scalar(input_shape[dim]), Scalar(1), DType::Int64, g.device()), along);
    const Tensor chosen = eq(positions, keepdim_grad(indices, r));
    return {where(expand(chosen, input_shape), keepdim_grad(g, r), zero_like_scalar())};
  }
  std::string name() const override { return is_max ? "MaxBackward" : "MinBackward"; }
  bool release_saved() override {
    const bool had = indices.defined();
    indices = Tensor();
    return had;
  }
};

// sum and mean (scale 1/extent); prod.
Tensor arithmetic_reduce(ReduceOp op, const Tensor& x_in, const std::vector<int64_t>& dims, bool keepdim,
                         std::optional<DType> dtype, bool average, const char* op_name) {
  check_defined(x_in, op_name, "input");
  if (average) {
    if (dtype && !is_floating(*dtype))
      throw std::runtime_error(std::string(op_name) + "(): could not infer output dtype. Optional dtype must be either a "
                               "floating point or complex dtype. Got: " + torch_type_name(*dtype));
    if (!dtype && !is_floating(x_in.dtype()))
      throw std::runtime_error(std::string(op_name) + "(): could not infer output dtype. Input dtype must be either a "
                               "floating point or complex dtype. Got: " + torch_type_name(x_in.dtype()));
  }
  const Tensor x = dtype ? to_dtype(x_in, *dtype) : x_in;
  const Reduction r = plan_reduction(x, dims, keepdim, op_name);
  const double scale = average ? 1.0 / static_cast<double>(r.extent) : 1.0;  // nan for an empty mean, as torch
  Tensor out;
  run_reduce(op, x, r, is_floating(x.dtype()) ? x.dtype() : DType::Int64, scale, &out, nullptr);
  if (autograd::any_requires_grad({&x})) {
    if (op == ReduceOp::Sum) {
      auto node = std::make_shared<SumBackward>();
      node->r = r;
      node->input_shape = x.shape();
      node->scale = scale;
      autograd::record(node, {&x}, out);
    } else {
      auto node = std::make_shared<ProdBackward>();
      node->r = r;
      node->save(node->input, x);
      autograd::record(node, {&x}, out);
    }
  }
  if (dtype && out.dtype() != *dtype) out = to_dtype(out, *dtype);  // an integer dtype= other than int64
  return out;
}

Tensor extremum(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, const char* op_name) {
  check_defined(x, op_name, "input");
  const Reduction r = plan_reduction(x, dims, keepdim, op_name);
  check_nonempty(x, r, dims.empty(), op_name);
  Tensor out;
  run_reduce(op, x, r, x.dtype(), 1.0, &out, nullptr);
  if (autograd::any_requires_grad({&x})) {
    auto node = std::make_shared<ExtremumBackward>();
    node->r = r;
    node->is_max = op == ReduceOp::Max;
    node->save(node->input, x);
    node->save(node->result, out);
    autograd::record(node, {&x}, out);
  }
  return out;
}

ValuesIndices extremum_along(ReduceOp op, const Tensor& x, int64_t dim, bool keepdim, const char* op_name) {
  check_defined(x, op_name, "input");
  const Reduction r = plan_reduction(x, {dim}, keepdim, op_name);
  check_nonempty(x, r, false, op_name);
  ValuesIndices result;
  run_reduce(op, x, r, x.dtype(), 1.0, &result.values, &result.indices);
  if (autograd::any_requires_grad({&x})) {
    auto node = std::make_shared<IndexedExtremumBackward>();
    node->r = r;
    node->input_shape = x.shape();
    node->dim = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), op_name);
    node->is_max = op == ReduceOp::Max;
    node->save(node->indices, result.indices);
    autograd::record(node, {&x}, result.values);
  }
  return result;
}

Tensor arg_extremum(ReduceOp op, const Tensor& x, std::optional<int64_t> dim, bool keepdim, const char* op_name) {
  check_defined(x, op_name, "input");
  if (x.dtype() == DType::Bool) throw std::runtime_error(std::string(op_name) + "(): does not support bool input");
  Reduction r = plan_reduction(x, dim ? std::vector<int64_t>{*dim} : std::vector<int64_t>{}, keepdim, op_name);
  check_nonempty(x, r, !dim, op_name);
  if (!dim && !keepdim) r.out_shape = {};
  Tensor indices;
  run_reduce(op, x, r, x.dtype(), 1.0, nullptr, &indices);
  return indices;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, std::optional<DType> dtype) {
  profiler::OpScope profile_scope("sum", x);
  return arithmetic_reduce(ReduceOp::Sum, x, dims, keepdim, dtype, false, "sum");
}
Tensor sum(const Tensor& x) { return sum(x, {}, false, std::nullopt); }  // its scope is the overload's
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim, std::optional<DType> dtype) {
  profiler::OpScope profile_scope("mean", x);
  return arithmetic_reduce(ReduceOp::Sum, x, dims, keepdim, dtype, true, "mean");
}
Tensor mean(const Tensor& x) { return mean(x, {}, false, std::nullopt); }  // its scope is the overload's
Tensor prod(const Tensor& x, std::optional<int64_t> dim, bool keepdim, std::optional<DType> dtype) {
  profiler::OpScope profile_scope("prod", x);
  return arithmetic_reduce(ReduceOp::Prod, x, dim ? std::vector<int64_t>{*dim} : std::vector<int64_t>{}, keepdim && dim,
                           dtype, false, "prod");
}
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  profiler::OpScope profile_scope("amax", x);
  return extremum(ReduceOp::Max, x, dims, keepdim, "amax");
}
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  profiler::OpScope profile_scope("amin", x);
  return extremum(ReduceOp::Min, x, dims, keepdim, "amin");
}
Tensor max(const Tensor& x) {
  profiler::OpScope profile_scope("max", x);
  return extremum(ReduceOp::Max, x, {}, false, "max");
}
Tensor min(const Tensor& x) {
  profiler::OpScope profile_scope("min", x);
  return extremum(ReduceOp::Min, x, {}, false, "min");
}
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim) {
  profiler::OpScope profile_scope("max", x);
  return extremum_along(ReduceOp::Max, x, dim, keepdim, "max");
}
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim) {
  profiler::OpScope profile_scope("min", x);
  return extremum_along(ReduceOp::Min, x, dim, keepdim, "min");
}
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  profiler::OpScope profile_scope("argmax", x);
  return arg_extremum(ReduceOp::Max, x, dim, keepdim, "argmax");
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  profiler::OpScope profile_scope("argmin", x);
  return arg_extremum(ReduceOp::Min, x, dim, keepdim, "argmin");
}

void increment_(const Tensor& counter, int64_t by) {
  profiler::OpScope profile_scope("increment_", counter);
  check_defined(counter, "increment_", "counter");
  if (counter.dtype() != DType::Int64 || counter.numel() != 1)
    throw ValueError("increment_: expected a one-element int64 tensor, got " + counter.describe());
  counter.bump_version();
  DLCORE_DISPATCH(counter.device(), increment_int64, counter.data<int64_t>(), by);
}

}  // namespace dlcore::ops
