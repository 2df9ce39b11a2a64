// The unary math functors (exp, log, sqrt, rsqrt, abs, neg, clamp), one per row of cpp/op_table.py.
// Integer tensors reach only the NUMERIC rows (abs, neg, clamp), which keep them exact; the FLOAT
// rows see float and double only (16-bit types compute in float).
#pragma once
#include "base.h"

namespace dlcore::functors {

// ---- exponentials and logarithms -----------------------------------------------------------
struct Exp : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_exp(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C*, C y, const PointwiseArgs&) { return gy * y; }
};
struct Log : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_log(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) { return gy / in[0]; }
};

// ---- powers and roots ----------------------------------------------------------------------
struct Sqrt : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_sqrt(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C*, C y, const PointwiseArgs&) {
    return gy / (C(2) * y);
  }
};
struct Rsqrt : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return C(1) / m_sqrt(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C*, C y, const PointwiseArgs&) {
    return C(-0.5) * gy * y * y * y;
  }
};

// ---- sign, magnitude and rounding ----------------------------------------------------------
struct Abs : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (std::is_unsigned_v<C>) return in[0];
    else return in[0] < C(0) ? C(-in[0]) : in[0];
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return in[0] > C(0) ? gy : (in[0] < C(0) ? -gy : C(0));
  }
};
struct Neg : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return C(-in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C*, C, const PointwiseArgs&) { return -gy; }
};
struct Clamp : Unary {  // args.a/b: min/max when has_a/has_b; NaN propagates
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    C x = in[0];
    if (is_nan(x)) return x;
    if (p.has_a && x < saturate_cast<C>(p.a)) x = saturate_cast<C>(p.a);
    if (p.has_b && x > saturate_cast<C>(p.b)) x = saturate_cast<C>(p.b);  // min > max gives max, as in PyTorch
    return x;
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs& p) {
    const bool inside = (!p.has_a || in[0] >= C(p.a)) && (!p.has_b || in[0] <= C(p.b));
    return inside ? gy : C(0);
  }
};

}  // namespace dlcore::functors
