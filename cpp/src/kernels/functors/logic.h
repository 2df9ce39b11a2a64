// The functors without gradients of cpp/op_table.py, and where: comparisons and logical ops.
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
