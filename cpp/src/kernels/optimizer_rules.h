// The update rules of the fused optimizer kernels, written once for the CPU and CUDA backends
// (cpu/optimizer.cpp and cuda/optimizer.cu only differ in how they walk the elements).
//
// Each rule follows torch.optim's single-tensor implementation op by op: every torch op rounds to
// float32, and every Python scalar torch hands to an op is rounded to float32 where torch rounds
// it, so the rules reproduce torch's numbers up to FMA contraction. A rule has
//   Constants constants(const Hyper&)                      the group-wide float operands, on the host;
//   PerTensor per_tensor(const Hyper&, const OptimizerTensor&)  the step-dependent scalars torch
//                                                          computes in Python floats (double), on the host;
//   update(Constants, PerTensor, OptimizerTensor, i)       element i, on the host or the device.
#pragma once
#include <cmath>

#include "dlcore/kernels.h"
#include "dlcore/scalar_types.h"

namespace dlcore::kernels::rules {

// IEEE-rounded square root and division on the GPU even under --use_fast_math, so the two
// backends agree to rounding.
DLCORE_HOST_DEVICE inline float r_sqrt(float x) {
#if defined(__CUDA_ARCH__)
  return __fsqrt_rn(x);
#else
  return std::sqrt(x);
#endif
}
DLCORE_HOST_DEVICE inline float r_div(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}
// torch's lerp picks its formula by the weight so that it is exact at both ends.
DLCORE_HOST_DEVICE inline float r_lerp(float self, float end, float weight) {
  return (weight < 0.5f && weight > -0.5f) ? self + weight * (end - self) : end - (end - self) * (1.0f - weight);
}
// torch.maximum: NaN in either operand gives NaN.
DLCORE_HOST_DEVICE inline float r_maximum(float a, float b) {
  if (a != a) return a;
  if (b != b) return b;
  return a > b ? a : b;
}
inline float f32(double x) { return static_cast<float>(x); }

// The gradient as every rule first reads it: negated for maximize, plus L2 weight decay (which
// torch skips entirely when weight_decay is 0, so an infinite parameter does not poison g).
DLCORE_HOST_DEVICE inline float read_grad(const OptimizerTensor& t, int64_t i, bool maximize, float weight_decay,
                                          float p) {
  float g = maximize ? -t.grad[i] : t.grad[i];
  if (weight_decay != 0.0f) g = g + weight_decay * p;
  return g;
}

// ---- SGD: buf = momentum * buf + (1 - dampening) * g; p += -lr * (nesterov ? g + momentum * buf : buf)
struct SgdRule {
  struct Constants {
    float neg_lr, momentum, one_minus_dampening, weight_decay;
    bool nesterov, maximize;
  };
  struct PerTensor {};
  static Constants constants(const SgdHyper& h) {
    return {f32(-h.lr), f32(h.momentum), f32(1.0 - h.dampening), f32(h.weight_decay), h.nesterov, h.maximize};
  }
  static PerTensor per_tensor(const SgdHyper&, const OptimizerTensor&) { return {}; }
  DLCORE_HOST_DEVICE static void update(const Constants& c, const PerTensor&, const OptimizerTensor& t, int64_t i) {
    const float p = t.param[i];
    float g = read_grad(t, i, c.maximize, c.weight_decay, p);
    if (c.momentum != 0.0f) {
      float* buf = t.state[0];
      const float b = t.first_step ? g : buf[i] * c.momentum + c.one_minus_dampening * g;
      buf[i] = b;
      g = c.nesterov ? g + c.momentum * b : b;
    }
    t.param[i] = p + c.neg_lr * g;
  }
};

// ---- Adam / AdamW (optionally AMSGrad)
struct AdamRule {
  struct Constants {
    float weight_decay, decay, avg_weight, beta2, one_minus_beta2, eps;
    bool decoupled, amsgrad, maximize;
  };
  struct PerTensor {
    float neg_step_size, bias_correction2_sqrt;
  };
  static Constants constants(const AdamHyper& h) {
    const bool any_decay = h.weight_decay != 0.0;
    return {any_decay && !h.decoupled ? f32(h.weight_decay) : 0.0f,
            any_decay && h.decoupled ? f32(1.0 - h.lr * h.weight_decay) : 1.0f,
            f32(1.0 - h.beta1), f32(h.beta2), f32(1.0 - h.beta2), f32(h.eps),
            any_decay && h.decoupled, h.amsgrad, h.maximize};
  }
  static PerTensor per_tensor(const AdamHyper& h, const OptimizerTensor& t) {
    const double step = static_cast<double>(t.step);
    const double bias_correction1 = 1.0 - std::pow(h.beta1, step);
    const double bias_correction2 = 1.0 - std::pow(h.beta2, step);
    return {f32(-(h.lr / bias_correction1)), f32(std::pow(bias_correction2, 0.5))};
  }
  DLCORE_HOST_DEVICE static void update(const Constants& c, const PerTensor& k, const OptimizerTensor& t, int64_t i) {
    float p = t.param[i];
    if (c.decoupled) p = p * c.decay;
    const float g = read_grad(t, i, c.maximize, c.weight_decay, p);
    const float m = r_lerp(t.state[0][i], g, c.avg_weight);
    float v = t.state[1][i] * c.beta2;
    v = v + c.one_minus_beta2 * g * g;
    t.state[0][i] = m;
    t.state[1][i] = v;
    if (c.amsgrad) {
      v = r_maximum(t.state[2][i], v);
      t.state[2][i] = v;
    }
    const float denom = r_div(r_sqrt(v), k.bias_correction2_sqrt) + c.eps;
    t.param[i] = p + r_div(k.neg_step_size * m, denom);
  }
};

// ---- Adagrad: sum += g^2; p += -clr * g / (sqrt(sum) + eps), clr = lr / (1 + (step - 1) * lr_decay)
struct AdagradRule {
  struct Constants {
    float weight_decay, eps;
    bool maximize;
  };
  struct PerTensor {
    float neg_clr;
  };
  static Constants constants(const AdagradHyper& h) { return {f32(h.weight_decay), f32(h.eps), h.maximize}; }
  static PerTensor per_tensor(const AdagradHyper& h, const OptimizerTensor& t) {
    const double clr = h.lr / (1.0 + (static_cast<double>(t.step) - 1.0) * h.lr_decay);
    return {f32(-clr)};
  }
  DLCORE_HOST_DEVICE static void update(const Constants& c, const PerTensor& k, const OptimizerTensor& t, int64_t i) {
    const float p = t.param[i];
    const float g = read_grad(t, i, c.maximize, c.weight_decay, p);
    const float sum = t.state[0][i] + 1.0f * g * g;
    t.state[0][i] = sum;
    const float std_ = r_sqrt(sum) + c.eps;
    t.param[i] = p + r_div(k.neg_clr * g, std_);
  }
};

// ---- Adadelta: running averages of g^2 and of the squared updates
struct AdadeltaRule {
  struct Constants {
    float neg_lr, rho, one_minus_rho, eps, weight_decay;
    bool maximize;
  };
  struct PerTensor {};
  static Constants constants(const AdadeltaHyper& h) {
    return {f32(-h.lr), f32(h.rho), f32(1.0 - h.rho), f32(h.eps), f32(h.weight_decay), h.maximize};
  }
  static PerTensor per_tensor(const AdadeltaHyper&, const OptimizerTensor&) { return {}; }
  DLCORE_HOST_DEVICE static void update(const Constants& c, const PerTensor&, const OptimizerTensor& t, int64_t i) {
    const float p = t.param[i];
    const float g = read_grad(t, i, c.maximize, c.weight_decay, p);
    float square_avg = t.state[0][i] * c.rho;
    square_avg = square_avg + c.one_minus_rho * g * g;
    const float std_ = r_sqrt(square_avg + c.eps);
    float delta = r_sqrt(t.state[1][i] + c.eps);
    delta = r_div(delta, std_) * g;
    float acc_delta = t.state[1][i] * c.rho;
    acc_delta = acc_delta + c.one_minus_rho * delta * delta;
    t.state[0][i] = square_avg;
    t.state[1][i] = acc_delta;
    t.param[i] = p + c.neg_lr * delta;
  }
};

// ---- RMSprop (optionally centered, with momentum)
struct RmspropRule {
  struct Constants {
    float neg_lr, alpha, one_minus_alpha, eps, weight_decay, momentum;
    bool centered, maximize;
  };
  struct PerTensor {};
  static Constants constants(const RmspropHyper& h) {
    return {f32(-h.lr), f32(h.alpha), f32(1.0 - h.alpha), f32(h.eps), f32(h.weight_decay),
            h.momentum > 0.0 ? f32(h.momentum) : 0.0f, h.centered, h.maximize};
  }
  static PerTensor per_tensor(const RmspropHyper&, const OptimizerTensor&) { return {}; }
  DLCORE_HOST_DEVICE static void update(const Constants& c, const PerTensor&, const OptimizerTensor& t, int64_t i) {
    const float p = t.param[i];
    const float g = read_grad(t, i, c.maximize, c.weight_decay, p);
    float square_avg = t.state[0][i] * c.alpha;
    square_avg = square_avg + c.one_minus_alpha * g * g;
    t.state[0][i] = square_avg;
    float avg;
    if (c.centered) {
      const float grad_avg = r_lerp(t.state[2][i], g, c.one_minus_alpha);
      t.state[2][i] = grad_avg;
      avg = r_sqrt(square_avg + -1.0f * grad_avg * grad_avg);
    } else {
      avg = r_sqrt(square_avg);
    }
    avg = avg + c.eps;
    if (c.momentum > 0.0f) {
      float buf = t.state[1][i] * c.momentum;
      buf = buf + r_div(1.0f * g, avg);
      t.state[1][i] = buf;
      t.param[i] = p + c.neg_lr * buf;
    } else {
      t.param[i] = p + r_div(c.neg_lr * g, avg);
    }
  }
};

// ---- Adamax: the infinity norm in place of Adam's second moment
struct AdamaxRule {
  struct Constants {
    float weight_decay, avg_weight, beta2, eps;
    bool maximize;
  };
  struct PerTensor {
    float neg_clr;
  };
  static Constants constants(const AdamaxHyper& h) {
    return {f32(h.weight_decay), f32(1.0 - h.beta1), f32(h.beta2), f32(h.eps), h.maximize};
  }
  static PerTensor per_tensor(const AdamaxHyper& h, const OptimizerTensor& t) {
    const double bias_correction = 1.0 - std::pow(h.beta1, static_cast<double>(t.step));
    return {f32(-(h.lr / bias_correction))};
  }
  DLCORE_HOST_DEVICE static void update(const Constants& c, const PerTensor& k, const OptimizerTensor& t, int64_t i) {
    const float p = t.param[i];
    const float g = read_grad(t, i, c.maximize, c.weight_decay, p);
    const float m = r_lerp(t.state[0][i], g, c.avg_weight);
    const float u = r_maximum(t.state[1][i] * c.beta2, (g < 0.0f ? -g : g) + c.eps);
    t.state[0][i] = m;
    t.state[1][i] = u;
    t.param[i] = p + r_div(k.neg_clr * m, u);
  }
};

// ---- NAdam: Nesterov momentum with the momentum-decay schedule mu_t
struct NadamRule {
  struct Constants {
    float weight_decay, decay, avg_weight, beta2, one_minus_beta2, eps;
    bool decoupled, maximize;
  };
  struct PerTensor {
    float bias_correction2, grad_coefficient, exp_avg_coefficient;
  };
  static Constants constants(const NadamHyper& h) {
    const bool any_decay = h.weight_decay != 0.0;
    return {any_decay && !h.decoupled ? f32(h.weight_decay) : 0.0f,
            any_decay && h.decoupled ? f32(1.0 - h.lr * h.weight_decay) : 1.0f,
            f32(1.0 - h.beta1), f32(h.beta2), f32(1.0 - h.beta2), f32(h.eps), any_decay && h.decoupled, h.maximize};
  }
  // mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay)).
  static double mu(const NadamHyper& h, double step) {
    return h.beta1 * (1.0 - 0.5 * std::pow(0.96, step * h.momentum_decay));
  }
  static PerTensor per_tensor(const NadamHyper& h, const OptimizerTensor& t) {
    const double step = static_cast<double>(t.step);
    const double mu_now = mu(h, step), mu_next = mu(h, step + 1.0);
    const double mu_product = t.mu_product;  // float32 state, as torch keeps it
    const double mu_product_next = mu_product * mu_next;
    return {f32(1.0 - std::pow(h.beta2, step)), f32(-h.lr * (1.0 - mu_now) / (1.0 - mu_product)),
            f32((-h.lr * mu_next) / (1.0 - mu_product_next))};
  }
  DLCORE_HOST_DEVICE static void update(const Constants& c, const PerTensor& k, const OptimizerTensor& t, int64_t i) {
    float p = t.param[i];
    if (c.decoupled) p = p * c.decay;
    const float g = read_grad(t, i, c.maximize, c.weight_decay, p);
    const float m = r_lerp(t.state[0][i], g, c.avg_weight);
    float v = t.state[1][i] * c.beta2;
    v = v + c.one_minus_beta2 * g * g;
    t.state[0][i] = m;
    t.state[1][i] = v;
    const float denom = r_sqrt(r_div(v, k.bias_correction2)) + c.eps;
    p = p + r_div(k.grad_coefficient * g, denom);
    t.param[i] = p + r_div(k.exp_avg_coefficient * m, denom);
  }
};

// ---- RAdam: Adam with the variance rectification term once the SMA length rho_t exceeds 5
struct RadamRule {
  struct Constants {
    float lr, weight_decay, decay, avg_weight, beta2, one_minus_beta2, eps;
    bool decoupled, maximize;
  };
  struct PerTensor {
    float bias_correction1, bias_correction2_sqrt, rect;
    bool rectify;
  };
  static Constants constants(const RadamHyper& h) {
    const bool any_decay = h.weight_decay != 0.0;
    return {f32(h.lr), any_decay && !h.decoupled ? f32(h.weight_decay) : 0.0f,
            any_decay && h.decoupled ? f32(1.0 - h.lr * h.weight_decay) : 1.0f,
            f32(1.0 - h.beta1), f32(h.beta2), f32(1.0 - h.beta2), f32(h.eps), any_decay && h.decoupled, h.maximize};
  }
  static PerTensor per_tensor(const RadamHyper& h, const OptimizerTensor& t) {
    const double step = static_cast<double>(t.step);
    const double bias_correction1 = 1.0 - std::pow(h.beta1, step);
    const double bias_correction2 = 1.0 - std::pow(h.beta2, step);
    const double rho_inf = 2.0 / (1.0 - h.beta2) - 1.0;
    const double rho_t = rho_inf - 2.0 * step * std::pow(h.beta2, step) / bias_correction2;
    PerTensor k{f32(bias_correction1), 0.0f, 0.0f, rho_t > 5.0};
    if (k.rectify) {
      k.bias_correction2_sqrt = f32(std::pow(bias_correction2, 0.5));
      k.rect = f32(std::pow((rho_t - 4.0) * (rho_t - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t), 0.5));
    }
    return k;
  }
  DLCORE_HOST_DEVICE static void update(const Constants& c, const PerTensor& k, const OptimizerTensor& t, int64_t i) {
    float p = t.param[i];
    if (c.decoupled) p = p * c.decay;
    const float g = read_grad(t, i, c.maximize, c.weight_decay, p);
    const float m = r_lerp(t.state[0][i], g, c.avg_weight);
    float v = t.state[1][i] * c.beta2;
    v = v + c.one_minus_beta2 * g * g;
    t.state[0][i] = m;
    t.state[1][i] = v;
    const float corrected = r_div(m, k.bias_correction1) * c.lr;
    if (k.rectify) {
      // torch's `scalar / tensor` is reciprocal() then a multiplication.
      const float adaptive = r_div(1.0f, r_sqrt(v) + c.eps) * k.bias_correction2_sqrt;
      t.param[i] = p - corrected * adaptive * k.rect;
    } else {
      t.param[i] = p - corrected;
    }
  }
};

}  // namespace dlcore::kernels::rules
