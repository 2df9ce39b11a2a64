// The functors without gradients of cpp/op_table.py, and where: comparisons, logical ops, the
// float classification (isnan ... signbit, bool results for every dtype) and the bitwise ops of
// integer and bool tensors.
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
struct LogicalXor : Comparison {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    return (in[0] != C(0)) != (in[1] != C(0));
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

// ---- bits: the kernels exist for integer (and, but for the shifts, bool) dtypes only -------------
struct BitwiseAnd : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return C(in[0] & in[1]); }
};
struct BitwiseOr : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return C(in[0] | in[1]); }
};
struct BitwiseXor : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return C(in[0] ^ in[1]); }
};
struct BitwiseNot : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (std::is_same_v<C, bool>) return !in[0];
    else return C(~in[0]);
  }
};
// Shifts by a negative amount or by the width or more: 0 to the left; the sign to the right
// (PyTorch's results; C++ leaves them undefined). Left shifts are done unsigned, so they wrap.
template <class C> DLCORE_HOST_DEVICE inline bool shift_out_of_range(C amount) {
  return is_negative(amount) || static_cast<uint64_t>(amount) >= sizeof(C) * 8;
}
struct BitwiseLeftShift : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if (shift_out_of_range(in[1])) return C(0);
    using U = std::make_unsigned_t<C>;
    return static_cast<C>(static_cast<U>(static_cast<U>(in[0]) << static_cast<int>(in[1])));
  }
};
struct BitwiseRightShift : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if (shift_out_of_range(in[1])) return is_negative(in[0]) ? C(-1) : C(0);
    return C(in[0] >> static_cast<int>(in[1]));
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
