// Tests of the CPU pooling kernels against direct window loops: max pooling with its argmax and
// scatter backward (checked analytically; random inputs avoid ties), average pooling with
// count_include_pad semantics and its backward checked by finite differences.
#include <limits>

#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::numeric_gradient;
using testing::random_vector;

Pool2dShape make_pool(int64_t N, int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw,
                      int64_t sh, int64_t sw, int64_t ph = 0, int64_t pw = 0) {
  Pool2dShape s{N, C, H, W, kh, kw, sh, sw, ph, pw, 0, 0};
  s.P = (H + 2 * ph - kh) / sh + 1;
  s.Q = (W + 2 * pw - kw) / sw + 1;
  return s;
}

const std::vector<Pool2dShape>& pool_cases() {
  static const std::vector<Pool2dShape> cases = {
      make_pool(2, 3, 8, 8, 2, 2, 2, 2),        // LeNet-style 2x2 / 2
      make_pool(1, 2, 7, 9, 3, 3, 2, 2),        // overlapping windows, odd sizes
      make_pool(2, 2, 6, 7, 3, 2, 1, 2, 1, 1),  // padding, non-square kernel and stride
      make_pool(1, 1, 5, 5, 5, 5, 1, 1),        // global pooling
      make_pool(64, 6, 28, 28, 2, 2, 2, 2),     // big enough to use threads
  };
  return cases;
}

int64_t in_size(const Pool2dShape& s) { return s.N * s.C * s.H * s.W; }
int64_t out_size(const Pool2dShape& s) { return s.N * s.C * s.P * s.Q; }

// Calls visit(plane, p, q, h, w) for every valid (in-image) window position.
template <class Visit>
void for_each_window_element(const Pool2dShape& s, Visit&& visit) {
  for (int64_t plane = 0; plane < s.N * s.C; ++plane)
    for (int64_t p = 0; p < s.P; ++p)
      for (int64_t q = 0; q < s.Q; ++q)
        for (int64_t i = 0; i < s.kernel_h; ++i)
          for (int64_t j = 0; j < s.kernel_w; ++j) {
            const int64_t h = p * s.stride_h - s.pad_h + i, w = q * s.stride_w - s.pad_w + j;
            if (h >= 0 && h < s.H && w >= 0 && w < s.W) visit(plane, p, q, h, w);
          }
}

TEST(KernelsCpuPool, MaxPoolForwardAndBackward) {
  uint32_t seed = 1;
  for (const auto& s : pool_cases()) {
    const auto x = random_vector(in_size(s), seed++);
    std::vector<float> expected(out_size(s), -std::numeric_limits<float>::infinity());
    std::vector<int32_t> expected_index(out_size(s), -1);
    for_each_window_element(s, [&](int64_t plane, int64_t p, int64_t q, int64_t h, int64_t w) {
      const int64_t o = (plane * s.P + p) * s.Q + q;
      const float v = x[(plane * s.H + h) * s.W + w];
      if (v > expected[o]) {
        expected[o] = v;
        expected_index[o] = static_cast<int32_t>(h * s.W + w);
      }
    });
    std::vector<float> y(out_size(s));
    std::vector<int32_t> argmax(out_size(s));
    kernels::cpu::max_pool2d_forward(x.data(), y.data(), argmax.data(), s);
    EXPECT_TRUE(all_close(y, expected, 0.0));  // a selection: exact
    EXPECT_EQ(argmax, expected_index);

    // Backward: each output's gradient lands on its window's maximum; overlapping windows add.
    const auto gy = random_vector(out_size(s), seed++);
    std::vector<double> expected_gx(in_size(s), 0.0);
    for (int64_t o = 0; o < out_size(s); ++o)
      expected_gx[(o / (s.P * s.Q)) * s.H * s.W + expected_index[o]] += gy[o];
    std::vector<float> gx(in_size(s), 99.0f);
    kernels::cpu::max_pool2d_backward(gy.data(), argmax.data(), gx.data(), s);
    EXPECT_TRUE(all_close(gx, expected_gx, 1e-6));  // at most a few float additions
  }
}

TEST(KernelsCpuPool, MaxPoolPropagatesNan) {
  const Pool2dShape s = make_pool(1, 1, 2, 2, 2, 2, 2, 2);
  const std::vector<float> x = {1.0f, std::numeric_limits<float>::quiet_NaN(), 3.0f, 2.0f};
  std::vector<float> y(1);
  std::vector<int32_t> argmax(1);
  kernels::cpu::max_pool2d_forward(x.data(), y.data(), argmax.data(), s);
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(argmax[0], 1);
}

std::vector<float> run_avg_forward(const Pool2dShape& s, const std::vector<float>& x) {
  std::vector<float> y(out_size(s), 99.0f);
  kernels::cpu::avg_pool2d_forward(x.data(), y.data(), s);
  return y;
}

TEST(KernelsCpuPool, AvgPoolForwardAndBackward) {
  uint32_t seed = 100;
  for (const auto& s : pool_cases()) {
    const auto x = random_vector(in_size(s), seed++);
    // count_include_pad=True: padded zeros count, so the divisor is the full kernel area.
    std::vector<double> expected(out_size(s), 0.0);
    for_each_window_element(s, [&](int64_t plane, int64_t p, int64_t q, int64_t h, int64_t w) {
      expected[(plane * s.P + p) * s.Q + q] +=
          x[(plane * s.H + h) * s.W + w] / static_cast<double>(s.kernel_h * s.kernel_w);
    });
    EXPECT_TRUE(all_close(run_avg_forward(s, x), expected, 1e-6));

    const auto gy = random_vector(out_size(s), seed++);
    std::vector<float> gx(in_size(s), 99.0f);
    kernels::cpu::avg_pool2d_backward(gy.data(), gx.data(), s);
    std::vector<double> expected_gx(in_size(s), 0.0);
    for_each_window_element(s, [&](int64_t plane, int64_t p, int64_t q, int64_t h, int64_t w) {
      expected_gx[(plane * s.H + h) * s.W + w] +=
          gy[(plane * s.P + p) * s.Q + q] / static_cast<double>(s.kernel_h * s.kernel_w);
    });
    EXPECT_TRUE(all_close(gx, expected_gx, 1e-6));
    if (in_size(s) > 2000) continue;  // the finite difference of the big case would be slow
    // Linear in x: the central difference is exact up to float rounding.
    const auto forward = [&](const std::vector<float>& v) { return run_avg_forward(s, v); };
    const auto fd = numeric_gradient(forward, x, gy, 0.25);
    EXPECT_TRUE(all_close(gx, fd, 1e-4));
  }
}

}  // namespace
}  // namespace dlcore
