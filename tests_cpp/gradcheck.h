// Finite-difference gradient check for the op layer, plus the two conversions every engine test
// needs (std::vector <-> Tensor). An op's backward is trusted only after it matches central
// differences of the op's own forward, with the perturbed loss accumulated in double.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <vector>

#include "dlcore/autograd.h"
#include "dlcore/tensor.h"
#include "kernel_test_util.h"

namespace dlcore::testing {

inline Tensor tensor_from(const std::vector<float>& values, const Shape& shape, bool requires_grad = false) {
  Tensor t = Tensor::empty(shape);
  EXPECT_EQ(static_cast<size_t>(t.numel()), values.size()) << "tensor_from: values do not fill " << shape_str(shape);
  std::copy(values.begin(), values.end(), t.data<float>());
  if (requires_grad) t.set_requires_grad(true);
  return t;
}

inline Tensor random_tensor(const Shape& shape, uint32_t seed, bool requires_grad = false, float lo = -1.0f,
                            float hi = 1.0f) {
  return tensor_from(random_vector(static_cast<size_t>(shape_numel(shape)), seed, lo, hi), shape, requires_grad);
}

inline std::vector<float> values_of(const Tensor& t) {
  Tensor c = t.contiguous();
  const float* p = c.data<float>();
  return std::vector<float>(p, p + c.numel());
}

using TensorFunction = std::function<Tensor(const std::vector<Tensor>&)>;

// Checks every input that requires grad: the analytic gradient of L = sum_i w_i * f(inputs)_i (w a
// fixed random weighting, so every output element matters with a different sign and size) against
// (L(x + h e_j) - L(x - h e_j)) / 2h. Errors are relative, absolute below `floor`.
inline ::testing::AssertionResult gradcheck(const TensorFunction& f, const std::vector<Tensor>& inputs, double tol,
                                            double floor = 1.0, double h = 1e-2, uint32_t weight_seed = 7) {
  for (Tensor t : inputs)
    if (t.defined()) t.set_grad(Tensor());
  Tensor out = f(inputs);
  std::vector<float> weights = random_vector(static_cast<size_t>(out.numel()), weight_seed);
  out.backward(tensor_from(weights, out.shape()));

  auto weighted_loss = [&](const std::vector<Tensor>& xs) {
    NoGradGuard no_grad;
    std::vector<float> y = values_of(f(xs));
    double total = 0.0;
    for (size_t i = 0; i < y.size(); ++i) total += static_cast<double>(weights[i]) * y[i];
    return total;
  };
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].defined() || !inputs[k].requires_grad()) continue;
    if (!inputs[k].grad().defined())
      return ::testing::AssertionFailure() << "input " << k << " " << inputs[k].describe() << " received no gradient";
    std::vector<Tensor> xs = inputs;
    xs[k] = inputs[k].detach().clone();
    float* x = xs[k].data<float>();
    std::vector<double> numeric(static_cast<size_t>(xs[k].numel()));
    for (size_t j = 0; j < numeric.size(); ++j) {
      const float saved = x[j];
      x[j] = static_cast<float>(saved + h);
      const double up_step = static_cast<double>(x[j]) - saved, up = weighted_loss(xs);
      x[j] = static_cast<float>(saved - h);
      const double down_step = saved - static_cast<double>(x[j]), down = weighted_loss(xs);
      x[j] = saved;
      numeric[j] = (up - down) / (up_step + down_step);
    }
    ::testing::AssertionResult close = all_close(values_of(inputs[k].grad()), numeric, tol, floor);
    if (!close) return ::testing::AssertionFailure() << "input " << k << " " << inputs[k].describe() << ": " << close.message();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace dlcore::testing
