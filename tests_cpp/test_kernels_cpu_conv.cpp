// Tests of the CPU conv2d kernels: forward against a direct seven-loop convolution, and both
// backward kernels against central finite differences of the forward (small shapes) or against
// the direct loops' analytic gradients (LeNet-sized shapes that take the threaded batch path).
#include "dlcore/kernels.h"
#include "kernel_test_util.h"
#include "kernels/cpu/winograd.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::make_conv;
using testing::numeric_gradient;
using testing::random_vector;


// Calls visit(x index, w index, y index) for every multiply-add of the convolution.
template <class Visit>
void for_each_tap(const Conv2dShape& s, Visit&& visit) {
  const int64_t cg = s.C / s.groups, kg = s.K / s.groups;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t k = 0; k < s.K; ++k) {
      const int64_t g = k / kg;
      for (int64_t p = 0; p < s.P; ++p)
        for (int64_t q = 0; q < s.Q; ++q)
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t r = 0; r < s.R; ++r)
              for (int64_t t = 0; t < s.S; ++t) {
                const int64_t h = p * s.stride_h - s.pad_h + r * s.dilation_h;
                const int64_t w = q * s.stride_w - s.pad_w + t * s.dilation_w;
                if (h < 0 || h >= s.H || w < 0 || w >= s.W) continue;
                visit(((n * s.C + g * cg + c) * s.H + h) * s.W + w,
                      ((k * cg + c) * s.R + r) * s.S + t, ((n * s.K + k) * s.P + p) * s.Q + q);
              }
    }
}

int64_t x_size(const Conv2dShape& s) { return s.N * s.C * s.H * s.W; }
int64_t w_size(const Conv2dShape& s) { return s.K * (s.C / s.groups) * s.R * s.S; }
int64_t y_size(const Conv2dShape& s) { return s.N * s.K * s.P * s.Q; }

std::vector<float> run_forward(const Conv2dShape& s, const std::vector<float>& x,
                               const std::vector<float>& w) {
  std::vector<float> y(y_size(s), 99.0f);  // must be overwritten
  kernels::cpu::conv2d_forward(x.data(), w.data(), y.data(), s);
  return y;
}

void check_forward(const Conv2dShape& s, const std::vector<float>& x,
                   const std::vector<float>& w) {
  std::vector<double> expected(y_size(s), 0.0);
  for_each_tap(s, [&](int64_t xi, int64_t wi, int64_t yi) {
    expected[yi] += static_cast<double>(x[xi]) * w[wi];
  });
  // Float GEMM over C*R*S <= a few hundred products of values in [-1, 1].
  EXPECT_TRUE(all_close(run_forward(s, x, w), expected, 1e-5));
}

// Forward plus both backward kernels, the gradients checked by finite differences.
void check_conv_fd(const Conv2dShape& s, uint32_t seed) {
  SCOPED_TRACE(::testing::Message() << "N=" << s.N << " C=" << s.C << " H=" << s.H
                                    << " W=" << s.W << " K=" << s.K << " R=" << s.R
                                    << " S=" << s.S << " groups=" << s.groups);
  const auto x = random_vector(x_size(s), seed);
  const auto w = random_vector(w_size(s), seed + 1);
  const auto gy = random_vector(y_size(s), seed + 2);
  check_forward(s, x, w);
  std::vector<float> gx(x_size(s), 99.0f), gw(w_size(s), 99.0f);
  kernels::cpu::conv2d_backward_input(gy.data(), w.data(), gx.data(), s);
  kernels::cpu::conv2d_backward_weight(x.data(), gy.data(), gw.data(), s);
  // The loss is linear in x and in w, so the central difference has no truncation error; with a
  // step of 0.25 float rounding of the loss (~1e-6 relative) stays far below the 1e-4 tolerance.
  const auto of_x = [&](const std::vector<float>& v) { return run_forward(s, v, w); };
  const auto of_w = [&](const std::vector<float>& v) { return run_forward(s, x, v); };
  const auto fd_x = numeric_gradient(of_x, x, gy, 0.25);
  const auto fd_w = numeric_gradient(of_w, w, gy, 0.25);
  EXPECT_TRUE(all_close(gx, fd_x, 1e-4));
  EXPECT_TRUE(all_close(gw, fd_w, 1e-4));
}

TEST(KernelsCpuConv, Basic3x3) { check_conv_fd(make_conv(2, 3, 7, 6, 4, 3, 3), 1); }

TEST(KernelsCpuConv, PaddingAndStride2) {
  check_conv_fd(make_conv(2, 2, 9, 8, 3, 3, 3, 2, 2, 1, 1), 10);
  check_conv_fd(make_conv(1, 3, 7, 7, 2, 4, 4, 2, 2, 2, 2), 11);  // pad > stride, even kernel
}

TEST(KernelsCpuConv, NonSquareKernelStrideAndPadding) {
  check_conv_fd(make_conv(2, 2, 8, 9, 3, 2, 5, 1, 3, 0, 2), 20);
}

TEST(KernelsCpuConv, Dilation) {
  check_conv_fd(make_conv(1, 2, 9, 10, 3, 3, 2, 1, 2, 2, 1, 2, 3), 30);
  check_conv_fd(make_conv(2, 2, 9, 8, 3, 3, 2, 1, 1, 1, 2, 2, 2), 31);  // stride 1: wide lowering
}

TEST(KernelsCpuConv, PaddingWiderThanKernelReach) {
  // pad 3 > dilation*(kernel-1) = 2: the input gradient cannot be a flipped forward conv.
  check_conv_fd(make_conv(2, 2, 4, 5, 3, 3, 3, 1, 1, 3, 3), 32);
}

TEST(KernelsCpuConv, Groups) {
  check_conv_fd(make_conv(2, 4, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2), 40);
  check_conv_fd(make_conv(1, 3, 5, 7, 3, 3, 3, 2, 1, 1, 1, 1, 1, 3), 41);  // depthwise
}

TEST(KernelsCpuConv, PointwiseAndBatchOne) {
  check_conv_fd(make_conv(1, 5, 4, 6, 7, 1, 1), 50);                    // 1x1 skips im2col
  check_conv_fd(make_conv(2, 4, 5, 5, 4, 1, 1, 1, 1, 0, 0, 1, 1, 2), 51);  // grouped 1x1
  check_conv_fd(make_conv(1, 1, 5, 5, 1, 5, 5), 52);                    // kernel = image
}

// LeNet layer shapes with enough images to take the threaded per-image path; the gradients are
// compared with the direct loops' analytic gradients (finite differences would be slow here).
void check_conv_analytic(const Conv2dShape& s, uint32_t seed, double tol = 1e-5,
                         double gw_floor = 1.0) {
  const auto x = random_vector(x_size(s), seed);
  const auto w = random_vector(w_size(s), seed + 1);
  const auto gy = random_vector(y_size(s), seed + 2);
  std::vector<double> expected_y(y_size(s), 0.0);
  for_each_tap(s, [&](int64_t xi, int64_t wi, int64_t yi) {
    expected_y[yi] += static_cast<double>(x[xi]) * w[wi];
  });
  EXPECT_TRUE(all_close(run_forward(s, x, w), expected_y, tol));
  std::vector<double> expected_gx(x_size(s), 0.0), expected_gw(w_size(s), 0.0);
  for_each_tap(s, [&](int64_t xi, int64_t wi, int64_t yi) {
    expected_gx[xi] += static_cast<double>(gy[yi]) * w[wi];
    expected_gw[wi] += static_cast<double>(gy[yi]) * x[xi];
  });
  std::vector<float> gx(x_size(s), 99.0f), gw(w_size(s), 99.0f);
  kernels::cpu::conv2d_backward_input(gy.data(), w.data(), gx.data(), s);
  kernels::cpu::conv2d_backward_weight(x.data(), gy.data(), gw.data(), s);
  EXPECT_TRUE(all_close(gx, expected_gx, tol));
  // The weight gradient sums N*P*Q products: float error ~ sqrt(N*P*Q) * 6e-8 relative to the
  // largest terms; 1e-4 with a floor of 1 covers it.
  EXPECT_TRUE(all_close(gw, expected_gw, std::max(tol, 1e-4), gw_floor));
}

TEST(KernelsCpuConv, LeNetShapesThreaded) {
  // conv1's 6 output channels take the weight-gradient path with the patch in the vector lanes,
  // conv2's 16 the transposed one.
  check_conv_analytic(make_conv(8, 1, 28, 28, 6, 5, 5, 1, 1, 2, 2), 60);
  check_conv_analytic(make_conv(9, 6, 14, 14, 16, 5, 5), 61);  // odd batch over two threads
}

TEST(KernelsCpuConv, CifarShapesGroupedAndStrided) {
  check_conv_analytic(make_conv(4, 8, 16, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1, 2), 70);
  check_conv_analytic(make_conv(3, 16, 15, 15, 20, 3, 3, 2, 2, 1, 1), 71);
  check_conv_analytic(make_conv(1, 16, 20, 20, 40, 3, 3, 1, 1, 1, 1), 72);  // batch 1: gemm forks
}

// 3x3 stride-1 shapes with channels in whole vectors take the Winograd F(4x4, 3x3) kernels
// (winograd.cpp): outputs that are not a multiple of the 4x4 tile, each padding 0..2 (the input
// gradient is then a padding-2..0 forward), batch 1 and a batch spread over several chunks.
// Winograd's transforms scale terms by up to ~100 before they cancel, so float rounding grows
// to ~1e-4 of the output's magnitude (the direct lowering stays near 1e-6). A weight-gradient
// entry sums N*P*Q random-sign products, so its scale, the floor it is compared at, is their
// root-sum-square, sqrt(N*P*Q) (each product ~1).
void check_winograd(const Conv2dShape& s, uint32_t seed) {
  check_conv_analytic(s, seed, 5e-4, std::sqrt(static_cast<double>(s.N * s.P * s.Q)));
}

TEST(KernelsCpuConv, WinogradShapes) {
  ASSERT_TRUE(kernels::cpu::winograd_applies(make_conv(2, 32, 9, 11, 48, 3, 3, 1, 1, 1, 1)));
  check_winograd(make_conv(2, 32, 9, 11, 48, 3, 3, 1, 1, 1, 1), 80);
  check_winograd(make_conv(3, 32, 10, 8, 32, 3, 3, 1, 1, 0, 0), 81);
  check_winograd(make_conv(1, 64, 6, 7, 32, 3, 3, 1, 1, 2, 2), 82);
  check_winograd(make_conv(2, 32, 4, 4, 64, 3, 3, 1, 1, 1, 1), 83);
  // 4 x 144 tiles: more than one chunk (kChunkBytes / (36 * 64 * 4) = 455 tiles per chunk).
  check_winograd(make_conv(4, 32, 48, 48, 32, 3, 3, 1, 1, 1, 1), 84);
}

// Small output planes lower several images into one GEMM (conv.cpp's ImageBatch): strided 3x3,
// 1x1 with and without stride, a batch that does not divide into whole GEMMs, and planes wide
// enough that one GEMM holds a single image.
TEST(KernelsCpuConv, SeveralImagesPerGemm) {
  check_conv_analytic(make_conv(5, 8, 8, 8, 12, 3, 3, 2, 2, 1, 1), 90);   // 16 columns per image
  check_conv_analytic(make_conv(3, 6, 7, 7, 10, 1, 1), 91);               // 1x1 at 7x7 (49 columns)
  check_conv_analytic(make_conv(37, 4, 6, 6, 5, 1, 1, 2, 2), 92);         // 9 columns: 57 images per GEMM
  check_conv_analytic(make_conv(3, 2, 41, 40, 3, 3, 3, 2, 2, 1, 1), 93);  // 420 columns: one image
}

TEST(KernelsCpuConv, WinogradDeclinesOtherShapes) {
  using kernels::cpu::winograd_applies;
  EXPECT_FALSE(winograd_applies(make_conv(2, 32, 9, 9, 32, 3, 3, 2, 2, 1, 1)));  // stride 2
  EXPECT_FALSE(winograd_applies(make_conv(2, 3, 9, 9, 32, 3, 3, 1, 1, 1, 1)));   // 3 channels
  EXPECT_FALSE(winograd_applies(make_conv(2, 32, 9, 9, 32, 5, 5, 1, 1, 2, 2)));  // 5x5
  EXPECT_FALSE(winograd_applies(make_conv(2, 32, 2, 2, 32, 3, 3, 1, 1, 1, 1)));  // 2x2: 75% waste
  EXPECT_FALSE(winograd_applies(make_conv(2, 32, 9, 9, 32, 3, 3, 1, 1, 3, 3)));  // padding 3
}

}  // namespace
}  // namespace dlcore
