// add, sub, mul, div with broadcasting, tensor-scalar affine maps, and eq. Gradients of broadcast
// inputs are summed back to the input's shape.
#include "op_util.h"

namespace dlcore::ops {
namespace {

struct BinaryBackward : Node {
  BinaryOp op;
  Tensor a, b;  // saved only where the gradient needs them (mul, div)
  Shape a_shape, b_shape;
  bool need_a = false, need_b = false;

  std::vector<Tensor> apply(const Tensor& g) override {
    Tensor ga, gb;
    switch (op) {
      case BinaryOp::Add:
        if (need_a) ga = sum_to_shape(g, a_shape);
        if (need_b) gb = sum_to_shape(g, b_shape);
        break;
      case BinaryOp::Sub:
        if (need_a) ga = sum_to_shape(g, a_shape);
        if (need_b) gb = affine(sum_to_shape(g, b_shape), -1.0f, 0.0f);
        break;
      case BinaryOp::Mul:
        if (need_a) ga = sum_to_shape(binary(BinaryOp::Mul, g, b), a_shape);
        if (need_b) gb = sum_to_shape(binary(BinaryOp::Mul, g, a), b_shape);
        break;
      case BinaryOp::Div:
        if (need_a) ga = sum_to_shape(binary(BinaryOp::Div, g, b), a_shape);
        if (need_b) {  // d(a/b)/db = -a/b^2
          Tensor t = binary(BinaryOp::Div, binary(BinaryOp::Mul, g, a), binary(BinaryOp::Mul, b, b));
          gb = affine(sum_to_shape(t, b_shape), -1.0f, 0.0f);
        }
        break;
    }
    return {ga, gb};
  }
  std::string name() const override {
    static const char* names[] = {"AddBackward", "SubBackward", "MulBackward", "DivBackward"};
    return names[static_cast<int>(op)];
  }
  bool release_saved() override {
    bool saved = a.defined() || b.defined();
    a = Tensor();
    b = Tensor();
    return saved;
  }
};

Tensor binary_op(BinaryOp op, const Tensor& a, const Tensor& b, const char* name) {
  check_float(a, name, "first operand");
  check_float(b, name, "second operand");
  check_same_device(a, b, name);
  Tensor out;
  try {
    out = binary(op, a, b);
  } catch (const ValueError&) {
    throw ValueError(std::string(name) + ": shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape()) +
                     " cannot be broadcast together");
  }
  if (autograd::any_requires_grad({&a, &b})) {
    auto node = std::make_shared<BinaryBackward>();
    node->op = op;
    node->a_shape = a.shape();
    node->b_shape = b.shape();
    node->need_a = a.requires_grad();
    node->need_b = b.requires_grad();
    bool saves = op == BinaryOp::Mul || op == BinaryOp::Div;
    if (saves && node->need_b) node->save(node->a, a);
    if (saves) node->save(node->b, b);
    autograd::record(node, {&a, &b}, out);
  }
  return out;
}

struct AffineBackward : Node {
  float scale;
  std::vector<Tensor> apply(const Tensor& g) override { return {affine(g, scale, 0.0f)}; }
  std::string name() const override { return "AffineBackward"; }
};

template <typename T>
Tensor eq_typed(const Tensor& a, const Tensor& b) {
  Tensor out = Tensor::empty(a.shape(), DType::Float32, a.device());
  if (out.numel() == 0) return out;
  Tensor ac = a.contiguous(), bc = b.contiguous();
  if constexpr (std::is_same_v<T, float>) {
    DLCORE_DISPATCH(a.device(), eq_float, ac.data<float>(), bc.data<float>(), out.data<float>(), out.numel());
  } else {
    DLCORE_DISPATCH(a.device(), eq_int64, ac.data<int64_t>(), bc.data<int64_t>(), out.data<float>(), out.numel());
  }
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Add, a, b, "add"); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Sub, a, b, "sub"); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Mul, a, b, "mul"); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Div, a, b, "div"); }

Tensor affine(const Tensor& x, float scale, float shift) {
  check_float(x, "affine", "input");
  Tensor out = Tensor::empty(x.shape(), DType::Float32, x.device());
  if (out.numel() > 0) {
    Tensor xc = x.contiguous();
    DLCORE_DISPATCH(x.device(), scale_shift, out.data<float>(), xc.data<float>(), scale, shift, out.numel());
  }
  if (autograd::any_requires_grad({&x})) {
    auto node = std::make_shared<AffineBackward>();
    node->scale = scale;
    autograd::record(node, {&x}, out);
  }
  return out;
}

Tensor eq(const Tensor& a, const Tensor& b) {
  check_defined(a, "eq", "first operand");
  check_defined(b, "eq", "second operand");
  check_same_device(a, b, "eq");
  if (a.shape() != b.shape() || a.dtype() != b.dtype())
    throw ValueError("eq: operands must have the same shape and dtype, got " + a.describe() + " and " + b.describe());
  if (a.dtype() == DType::Float32) return eq_typed<float>(a, b);
  if (a.dtype() == DType::Int64) return eq_typed<int64_t>(a, b);
  throw ValueError("eq: unsupported dtype " + a.describe());
}

}  // namespace dlcore::ops
