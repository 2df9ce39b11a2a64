// The functors without gradients of cpp/op_table.py, and where: comparisons, logical ops and the
// float classification (isnan ... signbit, bool results for every dtype).
#pragma once
#include "base.h"

namespace dlcore::functors {

// ---- comparisons and logic -----------------------------------------------------------------
struct Eq : Comparison {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return in[0] == in[1]; }
};
struct Ne : Comparison {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return in[0] != in[1]; }
};
struct Lt : Comparison {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return in[0] < in[1]; }
};
struct Le : Comparison {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return in[0] <= in[1]; }
};
struct Gt : Comparison {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return in[0] > in[1]; }
};
struct Ge : Comparison {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return in[0] >= in[1]; }
};
struct LogicalAnd : Comparison {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    return in[0] != C(0) && in[1] != C(0);
  }
};
struct LogicalOr : Comparison {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    return in[0] != C(0) || in[1] != C(0);
  }
};
struct LogicalNot : Predicate {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return in[0] == C(0); }
};

// ---- classification: integers and bools are finite, never NaN, never negative zero -----------
struct Isnan : Predicate {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return is_nan(in[0]); }
};
struct Isinf : Predicate {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (IsFloat<C>::value) return m_fabs(in[0]) == m_inf<C>();
    else return false;
  }
};
struct Isposinf : Predicate {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (IsFloat<C>::value) return in[0] == m_inf<C>();
    else return false;
  }
};
struct Isneginf : Predicate {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (IsFloat<C>::value) return in[0] == -m_inf<C>();
    else return false;
  }
};
struct Isfinite : Predicate {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (IsFloat<C>::value) return !is_nan(in[0] - in[0]);  // NaN for NaN and infinities
    else return true;
  }
};
struct Signbit : Predicate {  // true for -0.0 and negative NaNs too
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (IsFloat<C>::value) return m_copysign(C(1), in[0]) < C(0);
    else return is_negative(in[0]);
  }
};

// ---- selection -----------------------------------------------------------------------------
struct Where : Ternary {  // in[0] is the bool condition (converted to C as 0 or 1)
  template <class T> using in0_t = bool;
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    return in[0] != C(0) ? in[1] : in[2];
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    const bool take = in[0] != C(0);
    return (k == 1) == take ? gy : C(0);
  }
};

}  // namespace dlcore::functors
