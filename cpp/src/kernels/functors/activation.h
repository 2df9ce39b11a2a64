// The activation functors (relu ... softshrink), one per row of cpp/op_table.py: forward(in, args)
// and backward(k, gy, in, y, args) in the compute type C, shared by the CPU and CUDA backends.
// Gradients at the kinks (0 for relu6, +-3 for the hard* ops, +-lambd) follow PyTorch's choices.
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
struct Relu6 : Unary {  // hardtanh(x, 0, 6); NaN propagates
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    const C x = in[0];
    if (x > C(0)) return x < C(6) ? x : C(6);
    return is_nan(x) ? x : C(0);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return in[0] > C(0) && in[0] < C(6) ? gy : C(0);
  }
};
struct Hardsigmoid : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    const C x = in[0];
    return x <= C(-3) ? C(0) : (x >= C(3) ? C(1) : x / C(6) + C(0.5));
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    return in[0] > C(-3) && in[0] < C(3) ? gy / C(6) : C(0);
  }
};
struct Hardswish : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    const C x = in[0];
    return x <= C(-3) ? C(0) : (x >= C(3) ? x : x * (x + C(3)) / C(6));
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    const C x = in[0];
    return x <= C(-3) ? C(0) : (x < C(3) ? gy * (x / C(3) + C(0.5)) : gy);
  }
};
struct Mish : Unary {  // x * tanh(softplus(x))
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    return in[0] * m_tanh(m_softplus(in[0]));
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    const C x = in[0], t = m_tanh(m_softplus(x));
    return gy * (t + x * m_sigmoid(x) * (C(1) - t * t));
  }
};
struct Softplus : Unary {  // args.a: beta, args.b: threshold (linear above it)
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    const C z = in[0] * C(p.a);
    return z > C(p.b) ? in[0] : m_log1p(m_exp(z)) / C(p.a);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs& p) {
    const C z = in[0] * C(p.a);
    return z > C(p.b) ? gy : gy * m_sigmoid(z);
  }
};
struct Softsign : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    return in[0] / (C(1) + m_fabs(in[0]));
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    const C d = C(1) + m_fabs(in[0]);
    return gy / (d * d);
  }
};
// SELU's constants (Klambauer et al. 2017), the values PyTorch uses.
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
struct Selu : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    const C x = in[0];
    return x > C(0) ? C(kSeluScale) * x : C(kSeluScale * kSeluAlpha) * m_expm1(x);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    const C x = in[0];
    return x > C(0) ? C(kSeluScale) * gy : C(kSeluScale * kSeluAlpha) * m_exp(x) * gy;
  }
};
struct Celu : Unary {  // args.a: alpha
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    const C x = in[0], alpha = C(p.a);
    return x > C(0) ? x : alpha * m_expm1(x / alpha);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs& p) {
    const C x = in[0];
    return x > C(0) ? gy : gy * m_exp(x / C(p.a));
  }
};
struct Logsigmoid : Unary {  // -softplus(-x), without overflow either way
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    const C x = in[0];
    return (x < C(0) ? x : C(0)) - m_log1p(m_exp(-m_fabs(x)));
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    const C x = in[0], e = m_exp(-m_fabs(x));  // d/dx = sigmoid(-x)
    return gy * (x < C(0) ? C(1) / (C(1) + e) : e / (C(1) + e));
  }
};
struct Tanhshrink : Unary {
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs&) {
    return in[0] - m_tanh(in[0]);
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs&) {
    const C t = m_tanh(in[0]);
    return gy * t * t;
  }
};
struct Hardshrink : Unary {  // args.a: lambd; NaN passes through
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    const C x = in[0];
    return x >= C(-p.a) && x <= C(p.a) ? C(0) : x;
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs& p) {
    return in[0] >= C(-p.a) && in[0] <= C(p.a) ? C(0) : gy;
  }
};
struct Softshrink : Unary {  // args.a: lambd; NaN propagates (x * 0)
  template <class C> DLCORE_HOST_DEVICE static C forward(const C* in, const PointwiseArgs& p) {
    const C x = in[0], l = C(p.a);
    return x > l ? x - l : (x < -l ? x + l : x * C(0));
  }
  template <class C> DLCORE_HOST_DEVICE static C backward(int, C gy, const C* in, C, const PointwiseArgs& p) {
    return in[0] > C(p.a) || in[0] < C(-p.a) ? gy : C(0);
  }
};

}  // namespace dlcore::functors
