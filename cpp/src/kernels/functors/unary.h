// The unary math functors (exp ... nan_to_num), one per row of cpp/op_table.py. Integer tensors
// reach only the NUMERIC/ALL rows (abs, floor, round, sign, square, ...), which keep them exact;
// the FLOAT rows see float and double only (16-bit types compute in float).
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
struct Exp2 : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_exp2(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C*, C y, const PointwiseArgs&) {
    return gy * y * C(0.6931471805599453);
  }
};
struct Expm1 : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_expm1(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C*, C y, const PointwiseArgs&) {
    return gy * (y + C(1));
  }
};
struct Log2 : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_log2(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return gy / (in[0] * C(0.6931471805599453));
  }
};
struct Log10 : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_log10(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return gy / (in[0] * C(2.302585092994046));
  }
};
struct Log1p : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_log1p(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return gy / (C(1) + in[0]);
  }
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
struct Reciprocal : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_div(C(1), in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C*, C y, const PointwiseArgs&) {
    return -gy * y * y;
  }
};
struct Square : Unary {  // integers wrap around as in PyTorch (computed unsigned: no signed overflow)
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (std::is_integral_v<C> && std::is_signed_v<C>) {
      using U = std::make_unsigned_t<C>;
      return static_cast<C>(static_cast<U>(in[0]) * static_cast<U>(in[0]));
    } else {
      return C(in[0] * in[0]);
    }
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return C(2) * in[0] * gy;
  }
};

// ---- trigonometric and hyperbolic ----------------------------------------------------------
struct Sin : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_sin(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return gy * m_cos(in[0]);
  }
};
struct Cos : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_cos(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return -gy * m_sin(in[0]);
  }
};
struct Tan : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_tan(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C*, C y, const PointwiseArgs&) {
    return gy * (C(1) + y * y);
  }
};
struct Asin : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_asin(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return gy / m_sqrt(C(1) - in[0] * in[0]);
  }
};
struct Acos : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_acos(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return -gy / m_sqrt(C(1) - in[0] * in[0]);
  }
};
struct Atan : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_atan(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return gy / (C(1) + in[0] * in[0]);
  }
};
struct Sinh : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_sinh(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return gy * m_cosh(in[0]);
  }
};
struct Cosh : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_cosh(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return gy * m_sinh(in[0]);
  }
};
struct Asinh : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_asinh(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return gy / m_sqrt(in[0] * in[0] + C(1));
  }
};
struct Acosh : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_acosh(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return gy / m_sqrt((in[0] - C(1)) * (in[0] + C(1)));
  }
};
struct Atanh : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_atanh(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return gy / (C(1) - in[0] * in[0]);
  }
};

// ---- error function and logit --------------------------------------------------------------
constexpr double kTwoOverSqrtPi = 1.1283791670955126;
struct Erf : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_erf(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return gy * C(kTwoOverSqrtPi) * m_exp(-in[0] * in[0]);
  }
};
struct Erfc : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_erfc(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return -gy * C(kTwoOverSqrtPi) * m_exp(-in[0] * in[0]);
  }
};
// The inverse of erf on (-1, 1): Winitzki's closed-form estimate (relative error below 2e-3), then
// two Halley steps on erf(y) - x = 0, each of which cubes the relative error, to the type's precision.
struct Erfinv : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    const C x = in[0];
    if (is_nan(x) || x < C(-1) || x > C(1)) return m_nan<C>();
    if (x == C(1) || x == C(-1)) return m_copysign(m_inf<C>(), x);
    const C a = C(0.147), ln = m_log1p(-x * x);
    const C t = C(2 / (3.141592653589793 * 0.147)) + ln / C(2);
    C y = m_copysign(m_sqrt(m_sqrt(t * t - ln / a) - t), x);
    for (int step = 0; step < 2; ++step) {
      const C r = (m_erf(y) - x) / (C(kTwoOverSqrtPi) * m_exp(-y * y));  // f / f'
      y -= r / (C(1) + y * r);                                           // Halley: f'' / f' = -2y
    }
    return y;
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C*, C y, const PointwiseArgs&) {
    return gy * C(0.886226925452758) * m_exp(y * y);  // sqrt(pi) / 2 * exp(erfinv(x)^2)
  }
};
struct Logit : Unary {  // args.a: eps when has_a (the input clamped to [eps, 1 - eps] first)
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    C x = in[0];
    if (p.has_a) x = x < C(p.a) ? C(p.a) : (x > C(1 - p.a) ? C(1 - p.a) : x);
    return m_log(x / (C(1) - x));
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs& p) {
    const C x = in[0];
    if (p.has_a && (x < C(p.a) || x > C(1 - p.a))) return C(0);
    return gy / (x * (C(1) - x));
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
struct Sign : Unary {  // -1, 0 or 1 (0 for NaN, as PyTorch); gradient zero
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (std::is_same_v<C, bool>) return in[0];
    else return C(int(C(0) < in[0]) - int(is_negative(in[0])));
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C, const C*, C, const PointwiseArgs&) { return C(0); }
};
// floor, ceil, round and trunc leave integers as they are; their gradient is zero.
struct Floor : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (IsFloat<C>::value) return m_floor(in[0]);
    else return in[0];
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C, const C*, C, const PointwiseArgs&) { return C(0); }
};
struct Ceil : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (IsFloat<C>::value) return m_ceil(in[0]);
    else return in[0];
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C, const C*, C, const PointwiseArgs&) { return C(0); }
};
struct Trunc : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    if constexpr (IsFloat<C>::value) return m_trunc(in[0]);
    else return in[0];
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C, const C*, C, const PointwiseArgs&) { return C(0); }
};
// args.a: decimals. Half to even, at 10^-decimals: x * 10^d rounded, / 10^d (or x / 10^-d rounded,
// * 10^-d for negative d); the power is a product of tens (exact as far as the type allows; beyond
// +-400 digits it is infinite in double anyway). Integers round only for d < 0, saturating.
struct Round : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    const int decimals = p.a > 400 ? 400 : (p.a < -400 ? -400 : static_cast<int>(p.a));
    if constexpr (IsFloat<C>::value) {
      if (decimals == 0) return m_rint(in[0]);
      C scale = C(1);
      for (int i = 0; i < (decimals < 0 ? -decimals : decimals); ++i) scale *= C(10);
      return decimals > 0 ? m_rint(in[0] * scale) / scale : m_rint(in[0] / scale) * scale;
    } else {
      if (decimals >= 0) return in[0];
      double scale = 1;
      for (int i = 0; i < -decimals; ++i) scale *= 10;
      return saturate_cast<C>(m_rint(static_cast<double>(in[0]) / scale) * scale);
    }
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C, const C*, C, const PointwiseArgs&) { return C(0); }
};
struct Frac : Unary {  // x - trunc(x), the sign of x
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return in[0] - m_trunc(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C*, C, const PointwiseArgs&) { return gy; }
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
// args: nan (a), posinf (b when has_b), neginf (c when has_c); infinities default to the dtype's
// largest finite values. Integers and bools pass unchanged. The gradient flows where x is finite.
struct NanToNum : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    const C x = in[0];
    if constexpr (IsFloat<C>::value) {
      if (is_nan(x)) return p.has_a ? C(p.a) : C(0);
      if (x == m_inf<C>()) return C(p.has_b ? p.b : p.finite_max);
      if (x == -m_inf<C>()) return C(p.has_c ? p.c : -p.finite_max);
    }
    return x;
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return is_nan(in[0] - in[0]) ? C(0) : gy;  // x - x is NaN exactly for NaN and infinities
  }
};

}  // namespace dlcore::functors
