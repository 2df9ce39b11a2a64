// Turns (PointwiseOp, DType) into a call of a backend's templated loop: the one switch over the
// op table's rows, expanded from the generated list, shared by the CPU and CUDA backends. Each
// backend supplies Loop<Functor, T, Kind>::run(args...); rows are instantiated only for the dtypes
// their DTypeClass names.
#pragma once
#include <stdexcept>
#include <string>

#include "pointwise_functors.h"

namespace dlcore::pointwise_dispatch {

template <DTypeClass K, class T>
constexpr bool supports() {
  if constexpr (std::is_same_v<T, bool>) return K == DTypeClass::All || K == DTypeClass::IntegralBool;
  else if constexpr (std::is_integral_v<T>) return K != DTypeClass::Float && K != DTypeClass::FloatOnly;
  else return K != DTypeClass::Integral && K != DTypeClass::IntegralBool;
}
template <class T> constexpr bool is_floating_type() { return !std::is_integral_v<T>; }

[[noreturn]] inline void unsupported(const char* what, DType dtype) {
  throw std::logic_error(std::string(what) + ": no kernel for " + dtype_name(dtype) +
                         " (the op layer should have refused it)");
}

// Loop<F, T>::forward(it, args) and Loop<F, T>::backward(k, it, args) are the backend's loops.
template <template <class, class> class Loop, class... Args>
void forward(PointwiseOp op, DType dtype, Args&&... args) {
  switch (op) {
#define DLCORE_POINTWISE_OP(Functor, name, arity, dtypes, ...)                              \
  case PointwiseOp::Functor:                                                                \
    return visit_dtype(dtype, [&](auto tag) {                                              \
      using T = typename decltype(tag)::type;                                               \
      if constexpr (supports<dtypes, T>()) Loop<functors::Functor, T>::forward(args...);  \
      else unsupported(#name, dtype);                                                       \
    });
#include "dlcore/pointwise_ops.inc"
#undef DLCORE_POINTWISE_OP
  }
}

template <template <class, class> class Loop, class... Args>
void backward(PointwiseOp op, DType dtype, Args&&... args) {
  switch (op) {
#define DLCORE_POINTWISE_OP(Functor, name, arity, dtypes, bool_output, differentiable, ...)        \
  case PointwiseOp::Functor:                                                                       \
    return visit_dtype(dtype, [&](auto tag) {                                                     \
      using T = typename decltype(tag)::type;                                                      \
      if constexpr (differentiable && supports<dtypes, T>() && is_floating_type<T>())              \
        Loop<functors::Functor, T>::backward(args...);                                             \
      else unsupported(#name "_backward", dtype);                                                  \
    });
#include "dlcore/pointwise_ops.inc"
#undef DLCORE_POINTWISE_OP
  }
}

// Functor::gradient_is_upstream(k, args): whether input k's gradient is the upstream one unchanged.
inline bool gradient_is_upstream(PointwiseOp op, int k, const PointwiseArgs& args) {
  switch (op) {
#define DLCORE_POINTWISE_OP(Functor, ...) \
  case PointwiseOp::Functor:              \
    return functors::Functor::gradient_is_upstream(k, args);
#include "dlcore/pointwise_ops.inc"
#undef DLCORE_POINTWISE_OP
  }
  return false;
}

}  // namespace dlcore::pointwise_dispatch
