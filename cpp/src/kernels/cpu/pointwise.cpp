// The CPU loops of the pointwise ops: one strided loop over up to kMaxOperands operands, split into
// per-thread ranges, walking runs along the innermost dimension; a run whose operands are all unit-
// stride (or scalars) takes a plain indexed loop the compiler vectorises. Math: pointwise_functors.h.
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "../pointwise_dispatch.h"
#include "cpu_parallel.h"
#include "strided_runs.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {
namespace {

using detail::kParallelGrain;
using detail::parallel_for;

// Operand base addresses: a scalar operand points at its by-value bytes inside the iterator.
struct Bases {
  char* at[kMaxOperands];
  explicit Bases(const PointwiseIter& it) {
    for (int k = 0; k < it.noperands; ++k)
      at[k] = it.is_scalar[k] ? const_cast<char*>(reinterpret_cast<const char*>(it.scalar[k]))
                              : static_cast<char*>(it.data[k]);
  }
};


// Runs element(i_out, i_in...) style work: body(offsets, steps, length) per run, steps[k] the
// operand's innermost stride. Threads split the linear range.
template <class Body>
void strided_loop(const PointwiseIter& it, Body&& body) {
  const int64_t n = it.numel();
  if (n == 0) return;
  int64_t steps[kMaxOperands];
  for (int k = 0; k < it.noperands; ++k) steps[k] = it.strides[k][it.ndim - 1];
  parallel_for(n, kParallelGrain, [&](int64_t begin, int64_t end) {
    const int64_t* strides[kMaxOperands];
    for (int k = 0; k < it.noperands; ++k) strides[k] = it.strides[k];
    detail::for_each_run(it.ndim, it.sizes, it.noperands, strides, begin, end,
                         [&](const int64_t* offsets, int64_t, int64_t length) { body(offsets, steps, length); });
  });
}

template <class F, class T>
struct Loop {
  using C = opmath_t<T>;
  using Out = typename F::template out_t<T>;
  using In0 = typename F::template in0_t<T>;
  static constexpr int A = F::kArity;

  template <class U> static C load(const char* base, int64_t index) {
    return static_cast<C>(reinterpret_cast<const U*>(base)[index]);
  }
  static C load_input(int j, const char* base, int64_t index) {
    return j == 0 ? load<In0>(base, index) : load<T>(base, index);
  }

  static void forward(const PointwiseIter& it, const PointwiseArgs& p) {
    const Bases b(it);
    strided_loop(it, [&](const int64_t* off, const int64_t* step, int64_t length) {
      Out* out = reinterpret_cast<Out*>(b.at[0]) + off[0];
      const char* in[A];
      for (int j = 0; j < A; ++j) in[j] = b.at[1 + j] + off[1 + j] * static_cast<int64_t>(j == 0 ? sizeof(In0) : sizeof(T));
      bool unit = step[0] == 1;
      for (int j = 0; j < A; ++j) unit = unit && step[1 + j] == 1;
      if (unit) {  // the common case: contiguous operands, a loop the compiler vectorises
        for (int64_t i = 0; i < length; ++i) {
          C v[A];
          for (int j = 0; j < A; ++j) v[j] = load_input(j, in[j], i);
          out[i] = static_cast<Out>(F::forward(v, p));
        }
        return;
      }
      for (int64_t i = 0; i < length; ++i) {
        C v[A];
        for (int j = 0; j < A; ++j) v[j] = load_input(j, in[j], i * step[1 + j]);
        out[i * step[0]] = static_cast<Out>(F::forward(v, p));
      }
    });
  }

  // Operands: gx, gy, inputs 0..A-1, result.
  static void backward(int k, const PointwiseIter& it, const PointwiseArgs& p) {
    const Bases b(it);
    strided_loop(it, [&](const int64_t* off, const int64_t* step, int64_t length) {
      T* gx = reinterpret_cast<T*>(b.at[0]) + off[0];
      const T* gy = reinterpret_cast<const T*>(b.at[1]) + off[1];
      const T* y = reinterpret_cast<const T*>(b.at[2 + A]) + off[2 + A];
      const char* in[A];
      for (int j = 0; j < A; ++j) in[j] = b.at[2 + j] + off[2 + j] * static_cast<int64_t>(j == 0 ? sizeof(In0) : sizeof(T));
      for (int64_t i = 0; i < length; ++i) {
        C v[A];
        for (int j = 0; j < A; ++j) v[j] = load_input(j, in[j], i * step[2 + j]);
        gx[i * step[0]] = static_cast<T>(F::backward(k, static_cast<C>(gy[i * step[1]]), v,
                                                     static_cast<C>(y[i * step[2 + A]]), p));
      }
    });
  }
};

template <class From, class To>
void cast_loop(const PointwiseIter& it) {
  const Bases b(it);
  strided_loop(it, [&](const int64_t* off, const int64_t* step, int64_t length) {
    To* out = reinterpret_cast<To*>(b.at[0]) + off[0];
    const From* in = reinterpret_cast<const From*>(b.at[1]) + off[1];
    if (step[0] == 1 && step[1] == 1) {
      if constexpr (std::is_same_v<From, To>) {  // a copy (contiguous(), copy_): no conversion at all
        std::memcpy(out, in, static_cast<size_t>(length) * sizeof(To));
      } else {
        for (int64_t i = 0; i < length; ++i) out[i] = static_cast<To>(static_cast<opmath_t<From>>(in[i]));
      }
      return;
    }
    for (int64_t i = 0; i < length; ++i)
      out[i * step[0]] = static_cast<To>(static_cast<opmath_t<From>>(in[i * step[1]]));
  });
}

}  // namespace

void pointwise_forward(PointwiseOp op, DType dtype, const PointwiseIter& it, const PointwiseArgs& args) {
  pointwise_dispatch::forward<Loop>(op, dtype, it, args);
}

void pointwise_backward(PointwiseOp op, int input, DType dtype, const PointwiseIter& it, const PointwiseArgs& args) {
  pointwise_dispatch::backward<Loop>(op, dtype, input, it, args);
}

void cast(DType from, DType to, const PointwiseIter& it) {
  visit_dtype(from, [&](auto from_tag) {
    visit_dtype(to, [&](auto to_tag) {
      cast_loop<typename decltype(from_tag)::type, typename decltype(to_tag)::type>(it);
    });
  });
}

}  // namespace dlcore::kernels::cpu
