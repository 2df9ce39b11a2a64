// The functors of two operands (add, sub, mul, div, pow, maximum, minimum), one per row of
// cpp/op_table.py.
#pragma once
#include "base.h"

namespace dlcore::functors {

// ---- sums, products, quotients -------------------------------------------------------------
struct Add : Binary {  // args.a: alpha
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    if (p.a == 1.0) return C(in[0] + in[1]);
    return C(in[0] + C(p.a) * in[1]);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C*, C, const PointwiseArgs& p) {
    return k == 0 ? gy : C(p.a) * gy;
  }
};
struct Sub : Binary {  // args.a: alpha
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    if (p.a == 1.0) return C(in[0] - in[1]);
    return C(in[0] - C(p.a) * in[1]);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C*, C, const PointwiseArgs& p) {
    return k == 0 ? gy : -C(p.a) * gy;
  }
};
struct Mul : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return C(in[0] * in[1]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    return gy * in[1 - k];
  }
};
struct Div : Binary {  // true division (the op layer promotes integers to float)
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_div(in[0], in[1]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    return k == 0 ? m_div(gy, in[1]) : m_div(-gy * in[0], in[1] * in[1]);
  }
};
struct Pow : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (IsFloat<C>::value) {
      return m_pow(in[0], in[1]);
    } else {  // exact integer power by squaring; negative exponents of |base| > 1 give 0, as in PyTorch
      C base = in[0], e = in[1], result = 1;
      if constexpr (std::is_signed_v<C>) {
        if (e < 0) return base == 1 ? C(1) : (base == -1 ? C((e & 1) ? -1 : 1) : C(0));
      }
      while (e > 0) {
        if (e & 1) result = C(result * base);
        base = C(base * base);
        e = C(e >> 1);
      }
      return result;
    }
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C y, const PointwiseArgs&) {
    if (k == 0) return in[1] == C(0) ? C(0) : gy * in[1] * m_pow(in[0], in[1] - C(1));
    return in[0] == C(0) && in[1] >= C(0) ? C(0) : gy * y * m_log(in[0]);
  }
};

// ---- maxima and minima ---------------------------------------------------------------------
// maximum/minimum propagate NaN; at ties the gradient is shared equally (PyTorch's rule).
struct Maximum : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if (is_nan(in[0]) || is_nan(in[1])) return is_nan(in[0]) ? in[0] : in[1];
    return in[0] > in[1] ? in[0] : in[1];
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    if (in[0] == in[1]) return gy / C(2);
    return (k == 0) == (in[0] > in[1]) ? gy : C(0);
  }
};
struct Minimum : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if (is_nan(in[0]) || is_nan(in[1])) return is_nan(in[0]) ? in[0] : in[1];
    return in[0] < in[1] ? in[0] : in[1];
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    if (in[0] == in[1]) return gy / C(2);
    return (k == 0) == (in[0] < in[1]) ? gy : C(0);
  }
};

}  // namespace dlcore::functors
