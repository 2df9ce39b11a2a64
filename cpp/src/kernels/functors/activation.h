// The activation functors (relu, sigmoid, tanh, silu, gelu, elu, leaky_relu, hardtanh), one per
// row of cpp/op_table.py: forward(in, args) and backward(k, gy, in, y, args) in the compute type C,
// shared by the CPU and CUDA backends.
#pragma once
#include "base.h"

namespace dlcore::functors {

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
struct Hardtanh : Unary {  // args.a, args.b: min_val, max_val (integers: truncated, as in PyTorch)
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    const C x = in[0], lo = saturate_cast<C>(p.a), hi = saturate_cast<C>(p.b);
    return x < lo ? lo : (x > hi ? hi : x);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs& p) {
    return in[0] > C(p.a) && in[0] < C(p.b) ? gy : C(0);
  }
};

}  // namespace dlcore::functors
