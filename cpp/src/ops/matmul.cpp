// The matmul family with torch's semantics: mm, bmm, matmul (1-D operands, batched, broadcasting
// batch dimensions), addmm, dot and outer. float32 runs on the backend's GEMM kernel (one call per
// batch), float16/bfloat16 through float32 as linear/conv do; float64 and integer operands take an
// exact broadcast-multiply-and-sum path, so gradient checks in float64 see true float64 products.
// Shape errors are ShapeError (Python RuntimeError, as torch raises them, and ValueError, as dlcore).
#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {
namespace {

std::string dtype_pair(const Tensor& a, const Tensor& b) { return dtype_name(a.dtype()) + " and " + dtype_name(b.dtype()); }

void check_operands(const Tensor& a, const Tensor& b, const char* op) {
  check_defined(a, op, "first operand");
  check_defined(b, op, "second operand");
  check_same_device(a, b, op);
  if (a.dtype() != b.dtype())
    throw std::runtime_error(std::string(op) + ": expected both operands to have the same dtype, got " + dtype_pair(a, b));
  if (a.dtype() == DType::Bool)
    throw NotImplementedError(std::string(op) + ": not implemented for bool tensors");
}

// C[b] = A[b] B[b] for contiguous float32 A [B, M, K] and B [B, K, N]: one GEMM per batch.
Tensor batched_gemm(const Tensor& a_in, const Tensor& b_in) {
  const Tensor a = a_in.contiguous(), b = b_in.contiguous();
  const int64_t batch = a.size(0), M = a.size(1), K = a.size(2), N = b.size(2);
  Tensor c = Tensor::zeros({batch, M, N}, DType::Float32, a.device());
  if (M == 0 || N == 0 || K == 0) return c;
  for (int64_t i = 0; i < batch; ++i)
    DLCORE_DISPATCH(a.device(), gemm, false, false, M, N, K, 1.0f, a.data<float>() + i * M * K, K,
                    b.data<float>() + i * K * N, N, 0.0f, c.data<float>() + i * M * N, N);
  return c;
}

struct BmmBackward : Node {
  Tensor a, b;
  std::vector<Tensor> apply(const Tensor& g) override {
    Tensor ga, gb;
    if (next_edges[0].fn) ga = batched_gemm(g, transpose(b, 1, 2));
    if (next_edges[1].fn) gb = batched_gemm(transpose(a, 1, 2), g);
    return {ga, gb};
  }
  std::string name() const override { return "BmmBackward"; }
  bool release_saved() override {
    a = b = Tensor();
    return true;
  }
};

Tensor bmm_float32(const Tensor& a, const Tensor& b) {
  Tensor out = batched_gemm(a, b);
  if (autograd::any_requires_grad({&a, &b})) {
    auto node = std::make_shared<BmmBackward>();
    node->save(node->a, a);
    node->save(node->b, b);
    autograd::record(node, {&a, &b}, out);
  }
  return out;
}

// [B, M, K] x [B, K, N] as sum_k a[b, m, k, 1] * b[b, 1, k, n]: exact in the operands' dtype.
Tensor bmm_by_sum(const Tensor& a, const Tensor& b) {
  const Tensor out = sum(mul(unsqueeze(a, 3), unsqueeze(b, 1)), {2});
  return out.dtype() == a.dtype() ? out : to_dtype(out, a.dtype());  // integer sums come back as int64
}

Tensor bmm_any(const Tensor& a, const Tensor& b) {
  if (auto half = sixteen_bit_dtype({&a, &b}, "bmm")) return to_dtype(bmm_float32(as_float32(a), as_float32(b)), *half);
  if (a.dtype() == DType::Float32) return bmm_float32(a, b);
  return bmm_by_sum(a, b);
}

int64_t product_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t v : s) n *= v;
  return n;
}

std::string shapes(const Tensor& a, const Tensor& b) { return shape_str(a.shape()) + " and " + shape_str(b.shape()); }

}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  profiler::OpScope profile_scope("mm", a, b);
  check_operands(a, b, "mm");
  if (a.dim() != 2 || b.dim() != 2)
    throw ShapeError("mm: expected two matrices, got shapes " + shapes(a, b));
  if (a.size(1) != b.size(0))
    throw ShapeError("mm: mat1 and mat2 shapes cannot be multiplied (" + shapes(a, b) + ")");
  if (a.dtype() == DType::Float32 || sixteen_bit_dtype({&a, &b}, "mm")) return matmul(a, b);
  return squeeze(bmm_by_sum(unsqueeze(a, 0), unsqueeze(b, 0)), {0});
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  profiler::OpScope profile_scope("bmm", a, b);
  check_operands(a, b, "bmm");
  if (a.dim() != 3 || b.dim() != 3) throw ShapeError("bmm: expected two 3-D tensors, got shapes " + shapes(a, b));
  if (a.size(0) != b.size(0) || a.size(2) != b.size(1))
    throw ShapeError("bmm: shapes " + shapes(a, b) + " cannot be multiplied (expected [B, M, K] and [B, K, N])");
  return bmm_any(a, b);
}

Tensor dot(const Tensor& a, const Tensor& b) {
  profiler::OpScope profile_scope("dot", a, b);
  check_operands(a, b, "dot");
  if (a.dim() != 1 || b.dim() != 1) throw ShapeError("dot: 1D tensors expected, but got shapes " + shapes(a, b));
  if (a.size(0) != b.size(0))
    throw ShapeError("dot: inconsistent tensor size: " + shapes(a, b) + " must have the same number of elements");
  const Tensor out = sum(mul(a, b));
  return out.dtype() == a.dtype() ? out : to_dtype(out, a.dtype());
}

Tensor outer(const Tensor& a, const Tensor& b) {
  profiler::OpScope profile_scope("outer", a, b);
  check_defined(a, "outer", "input");
  check_defined(b, "outer", "vec2");
  if (a.dim() != 1 || b.dim() != 1) throw ShapeError("outer: 1D tensors expected, but got shapes " + shapes(a, b));
  return mul(unsqueeze(a, 1), unsqueeze(b, 0));
}

Tensor general_matmul(const Tensor& a, const Tensor& b) {
  profiler::OpScope profile_scope("matmul", a, b);
  check_operands(a, b, "matmul");
  if (a.dim() == 0 || b.dim() == 0)
    throw ShapeError("matmul: both arguments to matmul need to be at least 1D, but got shapes " + shapes(a, b));
  if (a.dim() == 1 && b.dim() == 1) return dot(a, b);
  const Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;   // a row vector, dropped again at the end
  const Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;   // a column vector
  const int64_t M = a2.size(-2), K = a2.size(-1), N = b2.size(-1);
  if (b2.size(-2) != K)
    throw ShapeError("matmul: shapes " + shapes(a, b) + " cannot be multiplied (" + std::to_string(K) + " != " +
                             std::to_string(b2.size(-2)) + ")");
  Tensor out;
  if (b2.dim() == 2) {  // [..., M, K] @ [K, N]: fold the batch into the rows, one GEMM
    Shape result(a2.shape().begin(), a2.shape().end() - 1);
    const int64_t rows = product_of(result);
    result.push_back(N);
    out = reshape(mm(reshape(a2, {rows, K}), b2), result);
  } else {
    const Shape batch_a(a2.shape().begin(), a2.shape().end() - 2), batch_b(b2.shape().begin(), b2.shape().end() - 2);
    Shape batch;
    try {
      batch = broadcast_shapes(batch_a, batch_b, "matmul");
    } catch (const ValueError& e) {  // ShapeError: RuntimeError as torch raises it, ValueError as dlcore does
      throw ShapeError(std::string(e.what()) + " (the batch dimensions of " + shapes(a, b) + ")");
    }
    const int64_t count = product_of(batch);
    Shape full_a = batch, full_b = batch;
    full_a.insert(full_a.end(), {M, K});
    full_b.insert(full_b.end(), {K, N});
    out = bmm_any(reshape(expand(a2, full_a), {count, M, K}), reshape(expand(b2, full_b), {count, K, N}));
    batch.insert(batch.end(), {M, N});
    out = reshape(out, batch);
  }
  if (a.dim() == 1) out = squeeze(out, {-2});
  if (b.dim() == 1) out = squeeze(out, {-1});
  return out;
}

Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha) {
  profiler::OpScope profile_scope("addmm", input, a, b);
  check_defined(input, "addmm", "input");
  Tensor product = mm(a, b);
  if (alpha != 1.0) product = mul(product, Tensor::wrapped_number(Scalar(alpha)));
  if (beta == 0.0)  // input is ignored (even its NaNs), but still broadcasts with the product, as in torch
    return contiguous(expand(product, broadcast_shapes(input.shape(), product.shape(), "addmm")));
  return add(beta == 1.0 ? input : mul(input, Tensor::wrapped_number(Scalar(beta))), product);
}

}  // namespace dlcore::ops
