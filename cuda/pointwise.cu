// The CUDA loops of the pointwise ops: one grid-stride kernel per (functor, dtype) over up to
// kMaxOperands strided operands, 64-bit indexing throughout (the CPU's rule, so no input is valid
// on one backend and refused on the other). Math: cpp/src/kernels/pointwise_functors.h, shared
// with the CPU backend; the table's dispatch: cpp/src/kernels/pointwise_dispatch.h.
#include "cuda_check.h"
#include "dlcore/kernels.h"
#include "kernels/pointwise_dispatch.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::grid_stride_begin;
using ::dlcore::cuda::grid_stride_blocks;
using ::dlcore::cuda::grid_stride_step;
using ::dlcore::cuda::stream;

constexpr int kThreads = 256;

// Element offsets of linear index i in every operand; one coalesced dimension needs no division.
__device__ inline void offsets_of(const PointwiseIter& it, int64_t i, int64_t* off) {
  if (it.ndim == 1) {
    for (int k = 0; k < it.noperands; ++k) off[k] = i * it.strides[k][0];
    return;
  }
  for (int k = 0; k < it.noperands; ++k) off[k] = 0;
  for (int d = it.ndim - 1; d >= 0; --d) {
    const int64_t index = i % it.sizes[d];
    i /= it.sizes[d];
    for (int k = 0; k < it.noperands; ++k) off[k] += index * it.strides[k][d];
  }
}

// A scalar operand is read from the iterator's by-value bytes (kernel parameter memory).
__device__ inline const char* operand_base(const PointwiseIter& it, int k) {
  return it.is_scalar[k] ? reinterpret_cast<const char*>(it.scalar[k]) : static_cast<const char*>(it.data[k]);
}

template <class F, class T>
__global__ void forward_kernel(PointwiseIter it, PointwiseArgs p, int64_t n) {
  using C = opmath_t<T>;
  using Out = typename F::template out_t<T>;
  using In0 = typename F::template in0_t<T>;
  constexpr int A = F::kArity;
  const char* in[A];
  for (int j = 0; j < A; ++j) in[j] = operand_base(it, 1 + j);
  Out* out = static_cast<Out*>(it.data[0]);
  int64_t off[kMaxOperands];
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step()) {
    offsets_of(it, i, off);
    C v[A];
    v[0] = static_cast<C>(reinterpret_cast<const In0*>(in[0])[off[1]]);
    for (int j = 1; j < A; ++j) v[j] = static_cast<C>(reinterpret_cast<const T*>(in[j])[off[1 + j]]);
    out[off[0]] = static_cast<Out>(F::forward(v, p));
  }
}

// Operands: gx, gy, inputs 0..A-1, result.
template <class F, class T>
__global__ void backward_kernel(PointwiseIter it, PointwiseArgs p, int k, int64_t n) {
  using C = opmath_t<T>;
  using In0 = typename F::template in0_t<T>;
  constexpr int A = F::kArity;
  const char* in[A];
  for (int j = 0; j < A; ++j) in[j] = operand_base(it, 2 + j);
  const T* gy = reinterpret_cast<const T*>(operand_base(it, 1));
  const T* y = reinterpret_cast<const T*>(operand_base(it, 2 + A));
  T* gx = static_cast<T*>(it.data[0]);
  int64_t off[kMaxOperands];
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step()) {
    offsets_of(it, i, off);
    C v[A];
    v[0] = static_cast<C>(reinterpret_cast<const In0*>(in[0])[off[2]]);
    for (int j = 1; j < A; ++j) v[j] = static_cast<C>(reinterpret_cast<const T*>(in[j])[off[2 + j]]);
    gx[off[0]] = static_cast<T>(F::backward(k, static_cast<C>(gy[off[1]]), v, static_cast<C>(y[off[2 + A]]), p));
  }
}

template <class From, class To>
__global__ void cast_kernel(PointwiseIter it, int64_t n) {
  const From* in = reinterpret_cast<const From*>(operand_base(it, 1));
  To* out = static_cast<To*>(it.data[0]);
  int64_t off[kMaxOperands];
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step()) {
    offsets_of(it, i, off);
    out[off[0]] = static_cast<To>(static_cast<opmath_t<From>>(in[off[1]]));
  }
}

template <class F, class T>
struct Loop {
  static void forward(const PointwiseIter& it, const PointwiseArgs& p) {
    const int64_t n = it.numel();
    if (n == 0) return;
    forward_kernel<F, T><<<grid_stride_blocks(n, kThreads), kThreads, 0, stream()>>>(it, p, n);
    DLCORE_CUDA_CHECK_LAUNCH("pointwise_forward");
  }
  static void backward(int k, const PointwiseIter& it, const PointwiseArgs& p) {
    const int64_t n = it.numel();
    if (n == 0) return;
    backward_kernel<F, T><<<grid_stride_blocks(n, kThreads), kThreads, 0, stream()>>>(it, p, k, n);
    DLCORE_CUDA_CHECK_LAUNCH("pointwise_backward");
  }
};

}  // namespace

void pointwise_forward(PointwiseOp op, DType dtype, const PointwiseIter& it, const PointwiseArgs& args) {
  pointwise_dispatch::forward<Loop>(op, dtype, it, args);
}

void pointwise_backward(PointwiseOp op, int input, DType dtype, const PointwiseIter& it, const PointwiseArgs& args) {
  pointwise_dispatch::backward<Loop>(op, dtype, input, it, args);
}

void cast(DType from, DType to, const PointwiseIter& it) {
  const int64_t n = it.numel();
  if (n == 0) return;
  visit_dtype(from, [&](auto from_tag) {
    visit_dtype(to, [&](auto to_tag) {
      cast_kernel<typename decltype(from_tag)::type, typename decltype(to_tag)::type>
          <<<grid_stride_blocks(n, kThreads), kThreads, 0, stream()>>>(it, n);
    });
  });
  DLCORE_CUDA_CHECK_LAUNCH("cast");
}

}  // namespace dlcore::kernels::cuda
