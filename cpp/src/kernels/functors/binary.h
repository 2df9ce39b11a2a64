// The functors of two and three operands (add ... fmin, lerp, addcmul, addcdiv), one per row of
// cpp/op_table.py. Integer division never traps: a zero divisor gives 0 (the op layer has already
// refused it on the CPU, as PyTorch does) and the most negative value divided by -1 wraps around.
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
  static bool gradient_is_upstream(int k, const PointwiseArgs& p) { return k == 0 || p.a == 1.0; }
};
struct Sub : Binary {  // args.a: alpha
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    if (p.a == 1.0) return C(in[0] - in[1]);
    return C(in[0] - C(p.a) * in[1]);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C*, C, const PointwiseArgs& p) {
    return k == 0 ? gy : -C(p.a) * gy;
  }
  static bool gradient_is_upstream(int k, const PointwiseArgs&) { return k == 0; }
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
// Integer quotient and remainder rounded toward zero, defined for every divisor.
template <class C> DLCORE_HOST_DEVICE inline C int_quotient(C a, C b) {
  if (b == C(0)) return C(0);
  if constexpr (std::is_signed_v<C>) {
    if (b == C(-1)) return static_cast<C>(std::make_unsigned_t<C>(0) - static_cast<std::make_unsigned_t<C>>(a));
  }
  return C(a / b);
}
template <class C> DLCORE_HOST_DEVICE inline C int_remainder(C a, C b) {
  if constexpr (std::is_signed_v<C>) {
    if (b == C(-1)) return C(0);
  }
  return b == C(0) ? C(0) : C(a % b);
}
// Quotient rounded toward -infinity. Floats: the quotient of the exact multiple a - fmod(a, b)
// (Python's float floor division), which a plain floor(a / b) gets wrong when a / b rounds up to
// an integer; a zero divisor gives a / b (+-inf or NaN), as PyTorch does.
template <class C> DLCORE_HOST_DEVICE inline C floor_quotient(C a, C b) {
  if constexpr (IsFloat<C>::value) {
    if (b == C(0)) return m_div(a, b);
    const C mod = m_fmod(a, b);
    C q = m_div(a - mod, b);
    if (mod != C(0) && (b < C(0)) != (mod < C(0))) q -= C(1);
    if (q == C(0)) return m_copysign(C(0), m_div(a, b));
    const C f = m_floor(q);
    return q - f > C(0.5) ? f + C(1) : f;
  } else {
    const C q = int_quotient(a, b);
    if constexpr (std::is_signed_v<C>) {
      if (b != C(0) && int_remainder(a, b) != C(0) && ((a < C(0)) != (b < C(0)))) return C(q - 1);
    }
    return q;
  }
}
struct DivTrunc : Binary {  // div(rounding_mode='trunc'): integers stay integers; gradient zero
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (IsFloat<C>::value) return m_trunc(m_div(in[0], in[1]));
    else return int_quotient(in[0], in[1]);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C, const C*, C, const PointwiseArgs&) { return C(0); }
};
struct FloorDivide : Binary {  // torch.floor_divide: no gradient
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    return floor_quotient(in[0], in[1]);
  }
};
struct DivFloor : FloorDivide {  // div(rounding_mode='floor'): floor_divide with a zero gradient
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C, const C*, C, const PointwiseArgs&) { return C(0); }
};
// remainder has the divisor's sign (Python's %), fmod the dividend's (C's fmod).
struct Remainder : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    const C a = in[0], b = in[1];
    C r;
    if constexpr (IsFloat<C>::value) r = m_fmod(a, b);
    else r = int_remainder(a, b);
    if (r != C(0) && is_negative(r) != is_negative(b)) r = C(r + b);
    return r;
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    return k == 0 ? gy : -gy * floor_quotient(in[0], in[1]);
  }
};
struct Fmod : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (IsFloat<C>::value) return m_fmod(in[0], in[1]);
    else return int_remainder(in[0], in[1]);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    return k == 0 ? gy : -gy * m_trunc(m_div(in[0], in[1]));
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

// ---- two-argument functions of floats ------------------------------------------------------
struct Atan2 : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_atan2(in[0], in[1]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    const C d = in[0] * in[0] + in[1] * in[1];
    return k == 0 ? gy * in[1] / d : -gy * in[0] / d;
  }
};
struct Hypot : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_hypot(in[0], in[1]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C y, const PointwiseArgs&) {
    return gy * in[k] / y;
  }
};
struct Copysign : Binary {  // d/dx = sign(x) * sign(y), 0 at x = 0 (PyTorch's rule); none for the sign
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    return m_copysign(in[0], in[1]);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C y, const PointwiseArgs&) {
    if (k == 1 || in[0] == C(0)) return C(0);
    return gy * (y / in[0]);
  }
};
// log(exp(a) + exp(b)) as max + log1p(exp(-|a - b|)); equal infinities give themselves.
struct Logaddexp : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    const C a = in[0], b = in[1];
    if (a == b && is_nan(a - b)) return a;
    const C m = a > b ? a : b;
    return m + m_log1p(m_exp(-m_fabs(a - b)));
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    return gy / (C(1) + m_exp(in[1 - k] - in[k]));
  }
};
struct Logaddexp2 : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    const C a = in[0], b = in[1];
    if (a == b && is_nan(a - b)) return a;
    const C m = a > b ? a : b;
    return m + m_log1p(m_exp2(-m_fabs(a - b))) * C(1.4426950408889634);  // log2(1 + 2^-|a-b|)
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    return gy / (C(1) + m_exp2(in[1 - k] - in[k]));
  }
};
// x * log(y), 0 where x == 0 (unless y is NaN).
struct Xlogy : Binary {
  template <class C> DLCORE_HOST_DEVICE static C xlogy(C x, C y) {
    if (is_nan(y)) return y;
    return x == C(0) ? C(0) : x * m_log(y);
  }
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return xlogy(in[0], in[1]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    if (k == 1) return gy * in[0] / in[1];
    return in[0] == C(0) && in[1] <= C(0) ? C(0) : xlogy(gy, in[1]);
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
// fmax/fmin ignore a NaN operand (NaN only when both are); at ties the gradient goes to input.
struct Fmax : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if (is_nan(in[0])) return in[1];
    if (is_nan(in[1])) return in[0];
    return in[0] > in[1] ? in[0] : in[1];
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    const bool first = in[0] >= in[1] || is_nan(in[1]);
    return (k == 0) == first ? gy : C(0);
  }
};
struct Fmin : Binary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if (is_nan(in[0])) return in[1];
    if (is_nan(in[1])) return in[0];
    return in[0] < in[1] ? in[0] : in[1];
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    const bool first = in[0] <= in[1] || is_nan(in[1]);
    return (k == 0) == first ? gy : C(0);
  }
};

// ---- three operands ------------------------------------------------------------------------
// input + weight * (end - input), from the nearer end for |weight| >= 0.5 (exact at weight 1).
struct Lerp : Ternary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    const C a = in[0], b = in[1], w = in[2];
    return m_fabs(w) < C(0.5) ? a + w * (b - a) : b - (b - a) * (C(1) - w);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    return k == 0 ? gy * (C(1) - in[2]) : (k == 1 ? gy * in[2] : gy * (in[1] - in[0]));
  }
};
struct Addcmul : Ternary {  // args.a: value (an integer tensor's value truncates, as in PyTorch)
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    return C(in[0] + saturate_cast<C>(p.a) * in[1] * in[2]);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs& p) {
    return k == 0 ? gy : gy * C(p.a) * in[3 - k];
  }
};
struct Addcdiv : Ternary {  // args.a: value
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    return in[0] + C(p.a) * m_div(in[1], in[2]);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs& p) {
    if (k == 0) return gy;
    if (k == 1) return m_div(gy * C(p.a), in[2]);
    return m_div(-gy * C(p.a) * in[1], in[2] * in[2]);
  }
};

}  // namespace dlcore::functors
