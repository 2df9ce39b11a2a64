// Argument checks, broadcasting and reduction-to-shape shared by all ops (see op_util.h).
#include "op_util.h"

namespace dlcore::ops {

void check_defined(const Tensor& t, const char* op, const char* name) {
  if (!t.defined()) throw ValueError(std::string(op) + ": " + name + " is undefined (None)");
}

void check_float(const Tensor& t, const char* op, const char* name) {
  check_defined(t, op, name);
  if (t.dtype() != DType::Float32)
    throw ValueError(std::string(op) + ": " + name + " must be float32, got " + t.describe());
}

std::optional<DType> sixteen_bit_dtype(std::initializer_list<const Tensor*> operands, const char* op) {
  std::optional<DType> found;
  for (const Tensor* t : operands) {
    if (!t->defined() || (t->dtype() != DType::Float16 && t->dtype() != DType::BFloat16)) continue;
    if (found && *found != t->dtype())
      throw ValueError(std::string(op) + ": expected operands of one dtype, got " + dtype_name(*found) + " and " +
                       t->describe());
    found = t->dtype();
  }
  if (found)
    for (const Tensor* t : operands)
      if (t->defined() && t->dtype() != *found)
        throw ValueError(std::string(op) + ": expected all operands to be " + dtype_name(*found) + ", got " + t->describe());
  return found;
}

Tensor as_float32(const Tensor& t) { return t.defined() ? to_dtype(t, DType::Float32) : t; }

void check_dim(const Tensor& t, int64_t dim, const char* op, const char* name) {
  if (t.dim() != dim)
    throw ValueError(std::string(op) + ": expected " + name + " to be " + std::to_string(dim) +
                     "-D, got " + t.describe());
}

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  if (a.defined() && b.defined() && a.device() != b.device())
    throw std::runtime_error(std::string(op) + ": expected all tensors on the same device, got " + a.describe() +
                     " and " + b.describe());
}

int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op) {
  if (dim < -ndim || dim >= ndim)
    throw ValueError(std::string(op) + ": dimension " + std::to_string(dim) + " out of range for a " +
                     std::to_string(ndim) + "-D tensor");
  return dim < 0 ? dim + ndim : dim;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  const int64_t n = std::max<int64_t>(ndim, 1);
  if (dim < -n || dim >= n)
    throw IndexError(std::string(op) + ": dimension out of range (expected to be in range of [" + std::to_string(-n) +
                     ", " + std::to_string(n - 1) + "], but got " + std::to_string(dim) + ")");
  return dim < 0 ? dim + n : dim;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t nd = std::max(a.size(), b.size());
  Shape out(nd), as(nd, 1), bs(nd, 1);
  std::copy(a.begin(), a.end(), as.begin() + (nd - a.size()));
  std::copy(b.begin(), b.end(), bs.begin() + (nd - b.size()));
  for (size_t i = 0; i < nd; ++i) {
    if (as[i] != bs[i] && as[i] != 1 && bs[i] != 1)
      throw ValueError(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                       " cannot be broadcast together (dimension " + std::to_string(i) + ")");
    out[i] = as[i] == 1 ? bs[i] : as[i];
  }
  return out;
}

Tensor sum_to_shape(const Tensor& grad, const Shape& to) {
  if (grad.shape() == to) return grad;
  const int64_t lead = grad.dim() - static_cast<int64_t>(to.size());
  if (lead < 0 || broadcast_shapes(to, grad.shape(), "sum_to_shape") != grad.shape())
    throw std::logic_error("sum_to_shape: " + grad.describe() + " does not broadcast from " + shape_str(to));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < grad.dim(); ++d)
    if (d < lead || (to[d - lead] == 1 && grad.shape()[d] != 1)) dims.push_back(d);
  if (dims.empty()) return reshape(grad, to);
  return reshape(sum(grad, dims, /*keepdim=*/true, std::nullopt), to);
}

Tensor spread_scalar(const Tensor& scalar, const Shape& shape, float scale) {
  Tensor filled = Tensor::full(shape, scale, scalar.dtype(), scalar.device());
  // The scalar as a 0-d tensor broadcasts to exactly `shape`, including shape () itself.
  return mul(filled, scalar.view({}));
}

void bias_relu_epilogue(const Tensor& y, const Tensor& bias, int64_t N, int64_t C, int64_t inner, bool relu) {
  if (y.numel() == 0) return;
  if (bias.defined()) {
    Tensor b = bias.contiguous();
    DLCORE_DISPATCH(y.device(), bias_add, y.data<float>(), b.data<float>(), N, C, inner, relu);
  } else if (relu) {
    DLCORE_DISPATCH(y.device(), relu_forward, y.data<float>(), y.data<float>(), y.numel());  // elementwise: may alias
  }
}

Tensor relu_grad(const Tensor& g_in, const Tensor& y) {
  Tensor g = g_in.contiguous();
  Tensor gx = Tensor::empty(y.shape(), DType::Float32, y.device());
  DLCORE_DISPATCH(y.device(), relu_backward, g.data<float>(), y.data<float>(), gx.data<float>(), y.numel());
  return gx;
}

}  // namespace dlcore::ops
