// matmul and linear (y = x W^T + b, PyTorch's weight layout [out, in]), both on the backend's gemm.
#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {
namespace {

// C = op(A) op(B) into a new [M, N] tensor (beta 0) or accumulated into `into` (beta 1).
void gemm_into(bool ta, bool tb, const Tensor& A, const Tensor& B, Tensor& C, float beta) {
  int64_t M = C.size(0), N = C.size(1);
  int64_t K = ta ? A.size(0) : A.size(1);
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (beta == 0.0f) C.zero_();
    return;
  }
  DLCORE_DISPATCH(C.device(), gemm, ta, tb, M, N, K, 1.0f, A.data<float>(), A.size(1), B.data<float>(), B.size(1),
                  beta, C.data<float>(), N);
}

Tensor gemm_new(bool ta, bool tb, const Tensor& A, const Tensor& B) {
  int64_t M = ta ? A.size(1) : A.size(0);
  int64_t N = tb ? B.size(0) : B.size(1);
  Tensor C = Tensor::empty({M, N}, DType::Float32, A.device());
  gemm_into(ta, tb, A, B, C, 0.0f);
  return C;
}

struct MatmulBackward : Node {
  Tensor a, b;  // a [M,K], b [K,N]
  std::vector<Tensor> apply(const Tensor& g_in) override {
    Tensor g = g_in.contiguous(), ga, gb;
    if (next_edges[0].fn) ga = gemm_new(false, true, g, b);  // g b^T
    if (next_edges[1].fn) gb = gemm_new(true, false, a, g);  // a^T g
    return {ga, gb};
  }
  std::string name() const override { return "MatmulBackward"; }
  bool release_saved() override {
    a = b = Tensor();
    return true;
  }
};

struct LinearBackward : Node {
  Tensor x, w;  // x [N, in], w [out, in]
  Tensor y;     // the output, saved when a ReLU was fused
  std::vector<Tensor> apply(const Tensor& g_in) override {
    Tensor g = y.defined() ? relu_grad(g_in, y) : g_in.contiguous(), gx, gw, gb;
    if (next_edges[0].fn) gx = gemm_new(false, false, g, w);  // [N,out] @ [out,in]
    if (next_edges[1].fn) gw = gemm_new(true, false, g, x);   // g^T x: [out, in]
    if (next_edges.size() > 2 && next_edges[2].fn) {
      gb = Tensor::empty({g.size(1)}, DType::Float32, g.device());
      DLCORE_DISPATCH(g.device(), bias_backward, g.data<float>(), gb.data<float>(), g.size(0), g.size(1), 1);
    }
    return {gx, gw, gb};
  }
  std::string name() const override { return y.defined() ? "LinearReluBackward" : "LinearBackward"; }
  bool release_saved() override {
    x = w = y = Tensor();
    return true;
  }
};

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  profiler::OpScope profile_scope("matmul", a_in, b_in);
  check_defined(a_in, "matmul", "first operand");
  check_defined(b_in, "matmul", "second operand");
  if (auto half = sixteen_bit_dtype({&a_in, &b_in}, "matmul")) return to_dtype(matmul(as_float32(a_in), as_float32(b_in)), *half);
  check_float(a_in, "matmul", "first operand");
  check_float(b_in, "matmul", "second operand");
  check_same_device(a_in, b_in, "matmul");
  if (a_in.dim() != 2 || b_in.dim() != 2 || a_in.size(1) != b_in.size(0))
    throw ValueError("matmul: shapes " + shape_str(a_in.shape()) + " and " + shape_str(b_in.shape()) +
                     " cannot be multiplied (expected [M, K] @ [K, N])");
  Tensor a = a_in.contiguous(), b = b_in.contiguous();
  Tensor out = gemm_new(false, false, a, b);
  if (autograd::any_requires_grad({&a_in, &b_in})) {
    auto node = std::make_shared<MatmulBackward>();
    node->save(node->a, a);
    node->save(node->b, b);
    autograd::record(node, {&a_in, &b_in}, out);
  }
  return out;
}

Tensor linear(const Tensor& x_in, const Tensor& w_in, const Tensor& bias, bool relu) {
  profiler::OpScope profile_scope(relu ? "linear_relu" : "linear", x_in, w_in, bias);
  check_defined(x_in, "linear", "input");
  check_defined(w_in, "linear", "weight");
  if (auto half = sixteen_bit_dtype({&x_in, &w_in, &bias}, "linear"))
    return to_dtype(linear(as_float32(x_in), as_float32(w_in), as_float32(bias), relu), *half);
  check_float(x_in, "linear", "input");
  check_float(w_in, "linear", "weight");
  check_same_device(x_in, w_in, "linear");
  if (w_in.dim() != 2 || x_in.dim() != 2 || x_in.size(1) != w_in.size(1))
    throw ValueError("linear: input " + shape_str(x_in.shape()) + " does not match weight " + shape_str(w_in.shape()) +
                     " (expected input [N, " + (w_in.dim() == 2 ? std::to_string(w_in.size(1)) : "in") +
                     "] and weight [out, in])");
  if (bias.defined()) {
    check_float(bias, "linear", "bias");
    check_same_device(x_in, bias, "linear");
    if (bias.dim() != 1 || bias.size(0) != w_in.size(0))
      throw ValueError("linear: bias " + shape_str(bias.shape()) + " does not match weight " + shape_str(w_in.shape()));
  }
  Tensor x = x_in.contiguous(), w = w_in.contiguous();
  Tensor out = gemm_new(false, true, x, w);
  bias_relu_epilogue(out, bias, out.size(0), out.size(1), 1, relu);
  if (autograd::any_requires_grad({&x_in, &w_in, &bias})) {
    auto node = std::make_shared<LinearBackward>();
    if (w_in.requires_grad()) node->save(node->x, x);
    if (x_in.requires_grad()) node->save(node->w, w);
    if (relu) node->save(node->y, out);
    if (bias.defined()) autograd::record(node, {&x_in, &w_in, &bias}, out);
    else autograd::record(node, {&x_in, &w_in}, out);
  }
  return out;
}

}  // namespace dlcore::ops
