// What every pointwise functor builds on: float and double overloads of the C math library that
// compile on the host and in CUDA device code (with the device's fast-math pitfalls avoided), and
// the arity/result-type bases the functors derive from. C is the compute type (float for
// float16/bfloat16: opmath_t), so one functor serves every dtype of its row.
#pragma once
#include <cmath>
#include <type_traits>

#include "dlcore/kernels.h"

namespace dlcore::functors {

// ---- host/device math ------------------------------------------------------------------------
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

// Under --use_fast_math nvcc replaces sinf, cosf, tanf, log2f and log10f by approximate intrinsics
// whose error is absolute (sin of a small or a large argument loses every digit); in device code
// their float versions are computed in double, which the supported GPUs (sm_80/90) run at half the
// float rate, while the kernels are bound by memory anyway.
#if defined(__CUDA_ARCH__)
#define DLCORE_FLOAT_MATH(fn, x) static_cast<float>(::fn(static_cast<double>(x)))
#else
#define DLCORE_FLOAT_MATH(fn, x) ::fn##f(x)
#endif
DLCORE_HOST_DEVICE inline float m_sin(float x) { return DLCORE_FLOAT_MATH(sin, x); }
DLCORE_HOST_DEVICE inline double m_sin(double x) { return ::sin(x); }
DLCORE_HOST_DEVICE inline float m_cos(float x) { return DLCORE_FLOAT_MATH(cos, x); }
DLCORE_HOST_DEVICE inline double m_cos(double x) { return ::cos(x); }
DLCORE_HOST_DEVICE inline float m_tan(float x) { return DLCORE_FLOAT_MATH(tan, x); }
DLCORE_HOST_DEVICE inline double m_tan(double x) { return ::tan(x); }
DLCORE_HOST_DEVICE inline float m_log2(float x) { return DLCORE_FLOAT_MATH(log2, x); }
DLCORE_HOST_DEVICE inline double m_log2(double x) { return ::log2(x); }
DLCORE_HOST_DEVICE inline float m_log10(float x) { return DLCORE_FLOAT_MATH(log10, x); }
DLCORE_HOST_DEVICE inline double m_log10(double x) { return ::log10(x); }
#undef DLCORE_FLOAT_MATH

// The rest are not touched by --use_fast_math.
#define DLCORE_MATH_1(name, fn)                                              \
  DLCORE_HOST_DEVICE inline float name(float x) { return ::fn##f(x); }       \
  DLCORE_HOST_DEVICE inline double name(double x) { return ::fn(x); }
#define DLCORE_MATH_2(name, fn)                                                       \
  DLCORE_HOST_DEVICE inline float name(float x, float y) { return ::fn##f(x, y); }    \
  DLCORE_HOST_DEVICE inline double name(double x, double y) { return ::fn(x, y); }
DLCORE_MATH_1(m_exp2, exp2)
DLCORE_MATH_1(m_expm1, expm1)
DLCORE_MATH_1(m_log1p, log1p)
DLCORE_MATH_1(m_asin, asin)
DLCORE_MATH_1(m_acos, acos)
DLCORE_MATH_1(m_atan, atan)
DLCORE_MATH_1(m_sinh, sinh)
DLCORE_MATH_1(m_cosh, cosh)
DLCORE_MATH_1(m_asinh, asinh)
DLCORE_MATH_1(m_acosh, acosh)
DLCORE_MATH_1(m_atanh, atanh)
DLCORE_MATH_1(m_erfc, erfc)
DLCORE_MATH_1(m_floor, floor)
DLCORE_MATH_1(m_ceil, ceil)
DLCORE_MATH_1(m_trunc, trunc)
DLCORE_MATH_1(m_rint, rint)  // round half to even (the default rounding mode), as torch.round
DLCORE_MATH_1(m_fabs, fabs)
DLCORE_MATH_2(m_fmod, fmod)
DLCORE_MATH_2(m_atan2, atan2)
DLCORE_MATH_2(m_hypot, hypot)
DLCORE_MATH_2(m_copysign, copysign)
#undef DLCORE_MATH_1
#undef DLCORE_MATH_2

template <class C> DLCORE_HOST_DEVICE inline bool is_nan(C x) { return x != x; }
template <class C> DLCORE_HOST_DEVICE inline C m_inf() { return static_cast<C>(INFINITY); }
template <class C> DLCORE_HOST_DEVICE inline C m_nan() { return static_cast<C>(NAN); }
// IEEE division on the GPU even under --use_fast_math, so results match the CPU backend.
template <class C> DLCORE_HOST_DEVICE inline C m_div(C a, C b) {
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<C, float>) return __fdiv_rn(a, b);
#endif
  return a / b;
}
template <class C> DLCORE_HOST_DEVICE inline C m_sigmoid(C x) { return C(1) / (C(1) + m_exp(-x)); }
// log(1 + exp(x)) without overflow.
template <class C> DLCORE_HOST_DEVICE inline C m_softplus(C x) {
  return (x > C(0) ? x : C(0)) + m_log1p(m_exp(-m_fabs(x)));
}

template <class C> using IsFloat = std::is_floating_point<C>;
// A scalar argument (a double) as the compute type: integers saturate at their range (NaN gives 0),
// where a plain cast of an out-of-range value (clamp(uint8, min=-1)) would be undefined.
template <class C> DLCORE_HOST_DEVICE inline C saturate_cast(double v) {
  if constexpr (IsFloat<C>::value || std::is_same_v<C, bool>) {
    return static_cast<C>(v);
  } else {
    using U = std::make_unsigned_t<C>;
    constexpr U all_ones = static_cast<U>(~U(0));
    constexpr C max = std::is_signed_v<C> ? static_cast<C>(all_ones >> 1) : static_cast<C>(all_ones);
    constexpr C lowest = std::is_signed_v<C> ? static_cast<C>(-max - 1) : C(0);
    if (v != v) return C(0);
    if (v <= static_cast<double>(lowest)) return lowest;
    if (v >= static_cast<double>(max)) return max;  // double(max) may round up to 2^63: >= catches it
    return static_cast<C>(v);
  }
}
// x < 0 for every compute type, without comparing an unsigned (or bool) value with 0.
template <class C> DLCORE_HOST_DEVICE inline bool is_negative(C x) {
  if constexpr (std::is_unsigned_v<C>) return false;
  else return x < C(0);
}

// ---- bases: every operand has the dtype T, the result too, unless a functor says otherwise ------
struct Unary {
  static constexpr int kArity = 1;
  template <class T> using out_t = T;
  template <class T> using in0_t = T;
  // True where backward(k, gy, ...) is gy itself for these args (add's inputs at alpha 1): the
  // autograd node then hands the upstream gradient on instead of running a kernel that copies it.
  static bool gradient_is_upstream(int, const PointwiseArgs&) { return false; }
};
struct Binary : Unary {
  static constexpr int kArity = 2;
};
struct Ternary : Unary {
  static constexpr int kArity = 3;
};
struct Predicate : Unary {  // a bool result of one input (isnan, signbit, logical_not)
  template <class T> using out_t = bool;
};
struct Comparison : Binary {
  template <class T> using out_t = bool;
};

}  // namespace dlcore::functors
