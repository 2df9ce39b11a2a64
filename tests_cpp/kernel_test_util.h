// Helpers shared by the kernel tests, CPU (test_kernels_cpu_*.cpp) and CUDA (test_cuda_*.cpp):
// seeded random inputs, an error measure with a stated floor, a gtest assertion built on it, and a
// central finite-difference gradient that accumulates in double.
//
//   random_vector(n, seed, lo, hi)    uniform floats in [lo, hi), the same every run for a seed
//   random_indices(n, seed, bound)    int64 values in [0, bound), e.g. class targets
//   max_relative_error(a, e, floor)   max_i |a_i - e_i| / max(|e_i|, floor)
//   all_close(a, e, tol, floor)       AssertionResult: max_relative_error <= tol, names worst i
//   numeric_gradient(f, x, weights, h)
//       d/dx of L(x) = sum_i weights_i * f(x)_i by central differences, L summed in double
//   to_double(v)                      float vector as double, for comparing against references
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <sstream>
#include <vector>

#include "dlcore/kernels.h"

namespace dlcore::testing {

inline std::vector<float> random_vector(size_t n, uint32_t seed, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::mt19937 engine(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(engine);
  return v;
}

inline std::vector<int64_t> random_indices(size_t n, uint32_t seed, int64_t bound) {
  std::mt19937 engine(seed);
  std::uniform_int_distribution<int64_t> dist(0, bound - 1);
  std::vector<int64_t> v(n);
  for (auto& x : v) x = dist(engine);
  return v;
}

template <class T>
std::vector<double> to_double(const std::vector<T>& v) {
  return std::vector<double>(v.begin(), v.end());
}

// Relative error, except that values smaller than `floor` are compared absolutely.
template <class A, class E>
double max_relative_error(const std::vector<A>& actual, const std::vector<E>& expected,
                          double floor = 1.0, size_t* worst_index = nullptr) {
  double worst = actual.size() == expected.size() ? 0.0 : INFINITY;
  const size_t n = std::min(actual.size(), expected.size());
  for (size_t i = 0; i < n; ++i) {
    const double e = static_cast<double>(expected[i]);
    const double a = static_cast<double>(actual[i]);
    double err = std::fabs(a - e) / std::max(std::fabs(e), floor);
    if (std::isnan(a) != std::isnan(e)) err = INFINITY;
    if (std::isnan(a) && std::isnan(e)) err = 0.0;
    if (err > worst) {
      worst = err;
      if (worst_index) *worst_index = i;
    }
  }
  return worst;
}

template <class A, class E>
::testing::AssertionResult all_close(const std::vector<A>& actual, const std::vector<E>& expected,
                                     double tol, double floor = 1.0) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure()
           << "size " << actual.size() << " != expected size " << expected.size();
  size_t worst_index = 0;
  const double err = max_relative_error(actual, expected, floor, &worst_index);
  if (err <= tol) return ::testing::AssertionSuccess();
  std::ostringstream msg;
  msg << "max relative error " << err << " > tol " << tol << " (floor " << floor << ") at index "
      << worst_index << ": actual " << static_cast<double>(actual[worst_index]) << ", expected "
      << static_cast<double>(expected[worst_index]) << " (" << actual.size() << " elements)";
  return ::testing::AssertionFailure() << msg.str();
}

using VectorFunction = std::function<std::vector<float>(const std::vector<float>&)>;

// Gradient of L(x) = sum_i weights[i] * f(x)[i] by (L(x + h e_j) - L(x - h e_j)) / 2h.
inline std::vector<double> numeric_gradient(const VectorFunction& f, std::vector<float> x,
                                            const std::vector<float>& weights, double h = 1e-2) {
  auto loss = [&](const std::vector<float>& input) {
    const std::vector<float> out = f(input);
    double total = 0.0;
    for (size_t i = 0; i < out.size(); ++i) total += static_cast<double>(weights[i]) * out[i];
    return total;
  };
  std::vector<double> grad(x.size());
  for (size_t j = 0; j < x.size(); ++j) {
    const float saved = x[j];
    // The step actually taken in float, so the quotient divides by the true distance.
    x[j] = static_cast<float>(saved + h);
    const double up_step = static_cast<double>(x[j]) - saved;
    const double up = loss(x);
    x[j] = static_cast<float>(saved - h);
    const double down_step = saved - static_cast<double>(x[j]);
    const double down = loss(x);
    x[j] = saved;
    grad[j] = (up - down) / (up_step + down_step);
  }
  return grad;
}

// A convolution shape with its output size computed as the op layer does.
inline Conv2dShape make_conv(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                             int64_t stride_h = 1, int64_t stride_w = 1, int64_t pad_h = 0, int64_t pad_w = 0,
                             int64_t dil_h = 1, int64_t dil_w = 1, int64_t groups = 1) {
  Conv2dShape s{N, C, H, W, K, R, S, stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, groups, 0, 0};
  s.P = (H + 2 * pad_h - dil_h * (R - 1) - 1) / stride_h + 1;
  s.Q = (W + 2 * pad_w - dil_w * (S - 1) - 1) / stride_w + 1;
  return s;
}

}  // namespace dlcore::testing
