// Reductions built from other ops, with torch's semantics: var/std (correction, dims, keepdim) and
// their *_mean forms, logsumexp (shifted by the detached maximum, so it never overflows), vector
// norms of any order, and all/any. Their gradients come from the ops they are made of, except the
// p-norm's, which masks the 0/0 at an all-zero slice to 0 as torch does.
#include <algorithm>
#include <cmath>

#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {
namespace {

Tensor number(double v) { return Tensor::wrapped_number(Scalar(v)); }

// How many elements each output of a reduction over `dims` (empty: all) combines.
int64_t reduced_count(const Tensor& x, const std::vector<int64_t>& dims, const char* op) {
  if (dims.empty()) return x.numel();
  int64_t n = 1;
  for (int64_t d : dims) n *= x.dim() == 0 ? 1 : x.size(wrap_dim(d, x.dim(), op));
  return n;
}

void check_floating_input(const Tensor& x, const char* op, const char* what) {
  check_defined(x, op, "input");
  if (!is_floating(x.dtype()))
    throw std::runtime_error(std::string(op) + ": " + what + ", got " + dtype_name(x.dtype()));
}

// Removes the reduced dimensions of a keepdim=True result (all of them when dims is empty).
Tensor drop_reduced(const Tensor& kept, const std::vector<int64_t>& dims) {
  return dims.empty() ? reshape(kept, {}) : squeeze(kept, dims);
}

// d||x||_p / dx = x |x|^(p-2) / ||x||^(p-1); zero where the norm is zero (torch's masking) and, for
// p < 2, where x is zero (the limit of the formula there).
struct NormBackward : Node {
  Tensor input, result;
  std::vector<int64_t> dims;
  bool keepdim = false;
  double p = 2.0;
  std::vector<Tensor> apply(const Tensor& g) override {
    Tensor norm = result, grad = g;
    if (!keepdim && !dims.empty()) {
      Shape keep = input.shape();
      for (int64_t d : dims) keep[wrap_dim(d, input.dim(), "norm")] = 1;
      norm = reshape(norm, keep);
      grad = reshape(grad, keep);
    }
    const Tensor zero_norm = eq(norm, number(0));
    const Tensor scale = where(zero_norm, number(0), div(grad, p == 2.0 ? norm : pow(norm, number(p - 1))));
    Tensor direction = input;
    if (p != 2.0) direction = where(eq(input, number(0)), number(0), mul(input, pow(abs(input), number(p - 2))));
    return {mul(scale, direction)};
  }
  std::string name() const override { return "NormBackward"; }
  bool release_saved() override {
    input = result = Tensor();
    return true;
  }
};

Tensor p_norm(const Tensor& x, double p, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor out;
  {
    NoGradGuard no_grad;  // the node below is the whole gradient
    out = pow(sum(pow(abs(x), number(p)), dims, keepdim), number(1.0 / p));
  }
  if (autograd::any_requires_grad({&x})) {
    auto node = std::make_shared<NormBackward>();
    node->save(node->input, x);
    node->save(node->result, out);
    node->dims = dims;
    node->keepdim = keepdim;
    node->p = p;
    autograd::record(node, {&x}, out);
  }
  return out;
}

// A bool reduction: true where the count of `hits` over dims is nonzero (any) or everything (all).
Tensor count_hits(const Tensor& hits, const std::vector<int64_t>& dims, bool keepdim) {
  return sum(hits, dims, keepdim, DType::Int64);
}

}  // namespace

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  profiler::OpScope profile_scope("var", x);
  check_floating_input(x, "var", "std and var only support floating point and complex dtypes");
  const Tensor centred = sub(x, mean(x, dims, true));
  const Tensor squares = sum(mul(centred, centred), dims, keepdim);
  const double divisor = std::max(0.0, static_cast<double>(reduced_count(x, dims, "var")) - correction);
  return div(squares, number(divisor));  // 0/0 = nan for a single element, as torch
}

Tensor std_dev(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  profiler::OpScope profile_scope("std", x);
  check_floating_input(x, "std", "std and var only support floating point and complex dtypes");
  return sqrt(var(x, dims, correction, keepdim));
}

std::pair<Tensor, Tensor> var_mean(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  profiler::OpScope profile_scope("var_mean", x);
  return {var(x, dims, correction, keepdim), mean(x, dims, keepdim)};
}

std::pair<Tensor, Tensor> std_dev_mean(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  profiler::OpScope profile_scope("std_mean", x);
  return {std_dev(x, dims, correction, keepdim), mean(x, dims, keepdim)};
}

Tensor logsumexp(const Tensor& x_in, const std::vector<int64_t>& dims, bool keepdim) {
  profiler::OpScope profile_scope("logsumexp", x_in);
  check_defined(x_in, "logsumexp", "input");
  const Tensor x = is_floating(x_in.dtype()) ? x_in : to_dtype(x_in, DType::Float32);  // torch's promotion
  if (x.numel() == 0) return log(sum(exp(x), dims, keepdim));  // -inf over empty slices
  // Shifting by the maximum keeps exp in range; an infinite maximum would give inf - inf, so it
  // shifts by 0 there. The shift is a constant for autograd (its gradient cancels exactly).
  const Tensor peak = amax(x.detach(), dims, true);
  const Tensor shift = where(isinf(peak), number(0), peak);
  const Tensor total = sum(exp(sub(x, shift)), dims, keepdim);
  return add(log(total), keepdim ? shift : drop_reduced(shift, dims));
}

Tensor norm(const Tensor& x_in, double p, const std::vector<int64_t>& dims, bool keepdim, std::optional<DType> dtype) {
  profiler::OpScope profile_scope("norm", x_in);
  check_floating_input(x_in, "norm", "expected a floating point tensor as input");
  const Tensor x = dtype ? to_dtype(x_in, *dtype) : x_in;
  if (std::isinf(p)) return p > 0 ? amax(abs(x), dims, keepdim) : amin(abs(x), dims, keepdim);
  if (p == 0) return to_dtype(count_hits(ne(x, number(0)), dims, keepdim), x.dtype());  // no gradient, as torch's 0
  if (p == 1) return sum(abs(x), dims, keepdim);
  return p_norm(x, p, dims, keepdim);
}

Tensor all(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  profiler::OpScope profile_scope("all", x);
  check_defined(x, "all", "input");
  return eq(count_hits(logical_not(x), dims, keepdim), number(0));
}

Tensor any(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  profiler::OpScope profile_scope("any", x);
  check_defined(x, "any", "input");
  return ne(count_hits(ne(x, number(0)), dims, keepdim), number(0));
}

}  // namespace dlcore::ops
