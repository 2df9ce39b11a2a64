// The math of every pointwise op in cpp/op_table.py, written once for the CPU and CUDA backends.
// A functor has kArity inputs; forward(in, args) computes one result and, for differentiable ops,
// backward(k, gy, in, y, args) the gradient w.r.t. input k from the upstream gradient gy, the
// inputs and the result y. C is the compute type (float for float16/bfloat16: opmath_t).
#pragma once
#include <cmath>
#include <type_traits>

#include "dlcore/kernels.h"

namespace dlcore::functors {

// float and double overloads of the C math library that compile on the host and in device code.
DLCORE_HOST_DEVICE inline float m_exp(float x) { return ::expf(x); }
DLCORE_HOST_DEVICE inline double m_exp(double x) { return ::exp(x); }
DLCORE_HOST_DEVICE inline float m_log(float x) { return ::logf(x); }
DLCORE_HOST_DEVICE inline double m_log(double x) { return ::log(x); }
DLCORE_HOST_DEVICE inline float m_sqrt(float x) { return ::sqrtf(x); }
DLCORE_HOST_DEVICE inline double m_sqrt(double x) { return ::sqrt(x); }
// Not tanhf: under nvcc's --use_fast_math it becomes tanh.approx (about 5e-4 relative error);
// expm1f keeps full accuracy near 0, and |x| > 9 already rounds to +-1 in float.
DLCORE_HOST_DEVICE inline float m_tanh(float x) {
  const float a = ::fabsf(x);
  if (a > 9.0f) return ::copysignf(1.0f, x);
  const float e = ::expm1f(2.0f * a);
  return ::copysignf(e / (e + 2.0f), x);
}
DLCORE_HOST_DEVICE inline double m_tanh(double x) { return ::tanh(x); }
DLCORE_HOST_DEVICE inline float m_erf(float x) { return ::erff(x); }
DLCORE_HOST_DEVICE inline double m_erf(double x) { return ::erf(x); }
DLCORE_HOST_DEVICE inline float m_pow(float x, float y) { return ::powf(x, y); }
DLCORE_HOST_DEVICE inline double m_pow(double x, double y) { return ::pow(x, y); }
template <class C> DLCORE_HOST_DEVICE inline bool is_nan(C x) { return x != x; }
// IEEE division on the GPU even under --use_fast_math, so results match the CPU backend.
template <class C> DLCORE_HOST_DEVICE inline C m_div(C a, C b) {
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<C, float>) return __fdiv_rn(a, b);
#endif
  return a / b;
}

template <class C> using IsFloat = std::is_floating_point<C>;

// Defaults: every operand has the dtype T, the result too.
struct Unary {
  static constexpr int kArity = 1;
  template <class T> using out_t = T;
  template <class T> using in0_t = T;
};
struct Binary : Unary {
  static constexpr int kArity = 2;
};
struct Comparison : Binary {
  template <class T> using out_t = bool;
};

// ---- activations -------------------------------------------------------------------------
struct Relu : Unary {
  // NaN propagates, as in PyTorch (a plain max(x, 0) would return 0).
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    return in[0] > C(0) || is_nan(in[0]) ? in[0] : C(0);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C*, C y, const PointwiseArgs&) {
    return y > C(0) ? gy : C(0);
  }
};
struct Sigmoid : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    return C(1) / (C(1) + m_exp(-in[0]));
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C*, C y, const PointwiseArgs&) {
    return gy * y * (C(1) - y);
  }
};
struct Tanh : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_tanh(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C*, C y, const PointwiseArgs&) {
    return gy * (C(1) - y * y);
  }
};
struct Silu : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    return in[0] / (C(1) + m_exp(-in[0]));
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    const C s = C(1) / (C(1) + m_exp(-in[0]));
    return gy * s * (C(1) + in[0] * (C(1) - s));
  }
};
struct Gelu : Unary {  // args.a: 0 exact (erf), 1 tanh approximation
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    const C x = in[0];
    if (p.a == 1.0) {
      const C inner = C(0.7978845608028654) * (x + C(0.044715) * x * x * x);
      return C(0.5) * x * (C(1) + m_tanh(inner));
    }
    return C(0.5) * x * (C(1) + m_erf(x * C(0.7071067811865476)));
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs& p) {
    const C x = in[0];
    if (p.a == 1.0) {
      const C k = C(0.7978845608028654);
      const C inner = k * (x + C(0.044715) * x * x * x);
      const C t = m_tanh(inner);
      const C dinner = k * (C(1) + C(3 * 0.044715) * x * x);
      return gy * (C(0.5) * (C(1) + t) + C(0.5) * x * (C(1) - t * t) * dinner);
    }
    const C cdf = C(0.5) * (C(1) + m_erf(x * C(0.7071067811865476)));
    const C pdf = m_exp(C(-0.5) * x * x) * C(0.3989422804014327);
    return gy * (cdf + x * pdf);
  }
};
struct Elu : Unary {  // args.a: alpha
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    return in[0] > C(0) ? in[0] : C(p.a) * (m_exp(in[0]) - C(1));
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C y, const PointwiseArgs& p) {
    return in[0] > C(0) ? gy : gy * (y + C(p.a));
  }
};
struct LeakyRelu : Unary {  // args.a: negative_slope
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    return in[0] > C(0) ? in[0] : in[0] * C(p.a);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs& p) {
    return in[0] > C(0) ? gy : gy * C(p.a);
  }
};
struct Hardtanh : Unary {  // args.a, args.b: min_val, max_val
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    const C x = in[0];
    return x < C(p.a) ? C(p.a) : (x > C(p.b) ? C(p.b) : x);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs& p) {
    return in[0] > C(p.a) && in[0] < C(p.b) ? gy : C(0);
  }
};

// ---- unary math ----------------------------------------------------------------------------
struct Exp : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_exp(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C*, C y, const PointwiseArgs&) { return gy * y; }
};
struct Log : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return m_log(in[0]); }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) { return gy / in[0]; }
};
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
    if (p.has_a && x < C(p.a)) x = C(p.a);
    if (p.has_b && x > C(p.b)) x = C(p.b);  // min > max gives max, as in PyTorch
    return x;
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs& p) {
    const bool inside = (!p.has_a || in[0] >= C(p.a)) && (!p.has_b || in[0] <= C(p.b));
    return inside ? gy : C(0);
  }
};

// ---- binary arithmetic ---------------------------------------------------------------------
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
struct LogicalNot : Unary {
  template <class T> using out_t = bool;
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) { return in[0] == C(0); }
};

// ---- selection -----------------------------------------------------------------------------
struct Where : Unary {  // in[0] is the bool condition (converted to C as 0 or 1)
  static constexpr int kArity = 3;
  template <class T> using in0_t = bool;
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    return in[0] != C(0) ? in[1] : in[2];
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int k, C gy, const C* in, C, const PointwiseArgs&) {
    const bool take = in[0] != C(0);
    return (k == 1) == take ? gy : C(0);
  }
};

// Adding or removing a row of cpp/op_table.py means adding or removing its functor above.
static_assert(kPointwiseOpCount == 32, "cpp/op_table.py changed: update pointwise_functors.h and this count");

}  // namespace dlcore::functors
