// 2-D convolution for the CUDA backend as implicit GEMM on the tiled kernel of tiled_gemm.cuh: the
// operand Sources below compute im2col / col2im addresses on the fly, so no column matrix is ever
// written and no workspace is needed (except split-K partials for the weight gradient).
//   forward:         y[n, k, p, q]  = W[k, (c,r,s)]    x im2col[(c,r,s), (n,p,q)]   per group
//   backward input:  gx[n, c, h, w] = W^T[c, (k,r,s)]  x gather(gy)[(k,r,s), (n,h,w)]
//   backward weight: gw[k, (c,r,s)] = gy[k, (n,p,q)]   x im2col^T[(n,p,q), (c,r,s)]
// The weight gradient reduces over N*P*Q (50k for LeNet's first layer with 150 outputs), which the
// launcher splits across blocks (split-K) and sums deterministically.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda_check.h"
#include "dlcore/kernels.h"
#include "tiled_gemm.cuh"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::kMaxInt32Index;
using ::dlcore::cuda::throw_int32_index_limit;

namespace tg = ::dlcore::cuda::tiled_gemm;

// Convolution sizes as 32-bit ints with the products the sources need. The host checks that every
// tensor has fewer than 2^31 elements, so element offsets are ints too (fewer registers).
struct ConvGeometry {
  int C, H, W, K, R, S, P, Q;
  int stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int group_in, group_out;  // channels per group
  int HW, PQ, RS;
};

// One output position (n, p, q): where its window starts in image n.
struct WindowOrigin {
  int image;  // n * C * H * W
  int h0, w0;     // p*stride - pad, q*stride - pad
};
// One filter tap (c, r, s): channel plane offset and dilated kernel offsets.
struct FilterTap {
  int channel;  // c * H * W
  int dh, dw;       // r*dilation, s*dilation
};

__device__ inline WindowOrigin window_origin(const ConvGeometry& g, int j) {
  const int n = j / g.PQ, pq = j - n * g.PQ;
  const int p = pq / g.Q, q = pq - p * g.Q;
  return {n * g.C * g.HW, p * g.stride_h - g.pad_h, q * g.stride_w - g.pad_w};
}

__device__ inline FilterTap filter_tap(const ConvGeometry& g, int k) {
  const int c = k / g.RS, rs = k - c * g.RS;
  const int r = rs / g.S, s = rs - r * g.S;
  return {c * g.HW, r * g.dilation_h, s * g.dilation_w};
}

__device__ inline float image_value(const float* x, const ConvGeometry& g, const WindowOrigin& o,
                                    const FilterTap& t) {
  const int h = o.h0 + t.dh, w = o.w0 + t.dw;
  const bool inside = static_cast<unsigned>(h) < static_cast<unsigned>(g.H) &&
                      static_cast<unsigned>(w) < static_cast<unsigned>(g.W);
  return inside ? x[o.image + t.channel + h * g.W + w] : 0.0f;
}

// Forward B: element (k = filter tap, i = output position) of im2col(x).
struct Im2colSource {
  static constexpr bool kAlongI = true;  // neighbouring positions read neighbouring pixels
  using ICoord = WindowOrigin;
  using KCoord = FilterTap;
  const float* x;
  ConvGeometry g;
  __device__ void set_group(int group) { x += static_cast<int64_t>(group) * g.group_in * g.HW; }
  __device__ WindowOrigin at_i(int j) const { return window_origin(g, j); }
  __device__ FilterTap at_k(int k) const { return filter_tap(g, k); }
  __device__ float load(const WindowOrigin& o, const FilterTap& t) const {
    return image_value(x, g, o, t);
  }
};

// Weight-gradient B: element (k = output position, i = filter tap), im2col transposed.
struct Im2colTransposedSource {
  static constexpr bool kAlongI = false;  // consecutive k are consecutive output columns q
  using ICoord = FilterTap;
  using KCoord = WindowOrigin;
  const float* x;
  ConvGeometry g;
  __device__ void set_group(int group) { x += static_cast<int64_t>(group) * g.group_in * g.HW; }
  __device__ FilterTap at_i(int j) const { return filter_tap(g, j); }
  __device__ WindowOrigin at_k(int k) const { return window_origin(g, k); }
  __device__ float load(const FilterTap& t, const WindowOrigin& o) const {
    return image_value(x, g, o, t);
  }
};

// Weight-gradient A: element (i = output channel k, k = output position (n, p*Q+q)) of gy.
struct OutputGradSource {
  static constexpr bool kAlongI = false;
  using ICoord = int;
  using KCoord = int;
  const float* gy;
  ConvGeometry g;
  __device__ void set_group(int group) { gy += static_cast<int64_t>(group) * g.group_out * g.PQ; }
  __device__ int at_i(int k) const { return k * g.PQ; }
  __device__ int at_k(int j) const {
    const int n = j / g.PQ;
    return n * g.K * g.PQ + (j - n * g.PQ);
  }
  __device__ float load(int i_part, int k_part) const { return gy[i_part + k_part]; }
};

// Input-gradient A: element (i = input channel c, k = (output channel, r, s)) of W^T.
struct WeightTransposedSource {
  static constexpr bool kAlongI = false;
  using ICoord = int;
  using KCoord = int;
  const float* w;
  ConvGeometry g;
  __device__ void set_group(int group) {
    w += static_cast<int64_t>(group) * g.group_out * g.group_in * g.RS;
  }
  __device__ int at_i(int c) const { return c * g.RS; }
  __device__ int at_k(int k) const {
    const int out = k / g.RS;
    return out * g.group_in * g.RS + (k - out * g.RS);
  }
  __device__ float load(int i_part, int k_part) const { return w[i_part + k_part]; }
};

// Input-gradient B: element (k = (output channel, r, s), i = input pixel (n, h, w)): the gy value
// whose window put tap (r, s) on that pixel, or 0 when no output position did.
struct GradientGatherSource {
  static constexpr bool kAlongI = true;
  struct Pixel {
    int image;  // n * K * P * Q
    int hp, wp;     // h + pad, w + pad
  };
  struct Tap {
    int channel;  // output channel * P * Q
    int dh, dw;
  };
  using ICoord = Pixel;
  using KCoord = Tap;
  const float* gy;
  ConvGeometry g;
  __device__ void set_group(int group) { gy += static_cast<int64_t>(group) * g.group_out * g.PQ; }
  __device__ Pixel at_i(int j) const {
    const int n = j / g.HW, hw = j - n * g.HW;
    const int h = hw / g.W, w = hw - h * g.W;
    return {n * g.K * g.PQ, h + g.pad_h, w + g.pad_w};
  }
  __device__ Tap at_k(int k) const {
    const int out = k / g.RS, rs = k - out * g.RS;
    const int r = rs / g.S, s = rs - r * g.S;
    return {out * g.PQ, r * g.dilation_h, s * g.dilation_w};
  }
  __device__ float load(const Pixel& pixel, const Tap& tap) const {
    int p = pixel.hp - tap.dh, q = pixel.wp - tap.dw;  // p*stride, q*stride if it exists
    if (p < 0 || q < 0) return 0.0f;
    if (g.stride_h != 1) {
      if (p % g.stride_h != 0) return 0.0f;
      p /= g.stride_h;
    }
    if (g.stride_w != 1) {
      if (q % g.stride_w != 0) return 0.0f;
      q /= g.stride_w;
    }
    if (p >= g.P || q >= g.Q) return 0.0f;
    return gy[pixel.image + tap.channel + p * g.Q + q];
  }
};

// Writes C[m, j] of a group into an NCHW tensor: m is the channel within the group, j = (n, pixel).
struct NchwEpilogue {
  float* out;
  int channels;        // of the whole tensor
  int group_channels;  // per group
  int plane;           // pixels per channel
  __device__ void store(int group, int m, int j, float value) const {
    const int n = j / plane;
    out[(n * channels + group * group_channels + m) * plane + (j - n * plane)] = value;
  }
  __device__ void store4(int group, int m, int j, float4 v, int N) const {
    tg::store4_scalar(*this, group, m, j, v, N);
  }
};

template <class SourceT>
struct Element {
  template <int TILE>
  using Loader = tg::ElementLoader<TILE, SourceT>;
};
template <int TILE>
using WeightVectorLoader = tg::VectorLoader<TILE, false>;

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

ConvGeometry geometry(const Conv2dShape& s, const char* op_name) {
  const int64_t tensors[] = {s.N * s.C * s.H * s.W, s.N * s.K * s.P * s.Q,
                             s.K * (s.C / s.groups) * s.R * s.S, s.H * s.W, s.P * s.Q};
  for (int64_t v : tensors)
    if (v > kMaxInt32Index)
      throw_int32_index_limit(std::string(op_name) + ": tensor of " + std::to_string(v) + " elements");
  const int64_t parameters[] = {s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.dilation_h, s.dilation_w};
  for (int64_t v : parameters)
    if (v > kMaxInt32Index)
      throw_int32_index_limit(std::string(op_name) + ": stride, padding or dilation " + std::to_string(v));
  ConvGeometry g;
  g.C = static_cast<int>(s.C);
  g.H = static_cast<int>(s.H);
  g.W = static_cast<int>(s.W);
  g.K = static_cast<int>(s.K);
  g.R = static_cast<int>(s.R);
  g.S = static_cast<int>(s.S);
  g.P = static_cast<int>(s.P);
  g.Q = static_cast<int>(s.Q);
  g.stride_h = static_cast<int>(s.stride_h);
  g.stride_w = static_cast<int>(s.stride_w);
  g.pad_h = static_cast<int>(s.pad_h);
  g.pad_w = static_cast<int>(s.pad_w);
  g.dilation_h = static_cast<int>(s.dilation_h);
  g.dilation_w = static_cast<int>(s.dilation_w);
  g.group_in = static_cast<int>(s.C / s.groups);
  g.group_out = static_cast<int>(s.K / s.groups);
  g.HW = g.H * g.W;
  g.PQ = g.P * g.Q;
  g.RS = g.R * g.S;
  return g;
}

}  // namespace

void conv2d_forward(const float* x, const float* w, float* y, const Conv2dShape& s) {
  const ConvGeometry g = geometry(s, "conv2d_forward");
  const int groups = static_cast<int>(s.groups);
  const int M = g.group_out, N = static_cast<int>(s.N) * g.PQ, K = g.group_in * g.RS;
  const tg::MatrixSource<false> weights{w, K, static_cast<int64_t>(g.group_out) * K};
  const Im2colSource image{x, g};
  const NchwEpilogue epilogue{y, g.K, g.group_out, g.PQ};
  if (aligned16(w) && K % 4 == 0) {
    tg::run<WeightVectorLoader, Element<Im2colSource>::Loader>(weights, image, epilogue, M, N, K,
                                                              groups, "conv2d_forward");
  } else {
    tg::run<Element<tg::MatrixSource<false>>::Loader, Element<Im2colSource>::Loader>(
        weights, image, epilogue, M, N, K, groups, "conv2d_forward");
  }
}

void conv2d_backward_input(const float* gy, const float* w, float* gx, const Conv2dShape& s) {
  const ConvGeometry g = geometry(s, "conv2d_backward_input");
  const int M = g.group_in, N = static_cast<int>(s.N) * g.HW, K = g.group_out * g.RS;
  const WeightTransposedSource weights{w, g};
  const GradientGatherSource gradient{gy, g};
  const NchwEpilogue epilogue{gx, g.C, g.group_in, g.HW};
  tg::run<Element<WeightTransposedSource>::Loader, Element<GradientGatherSource>::Loader>(
      weights, gradient, epilogue, M, N, K, static_cast<int>(s.groups), "conv2d_backward_input");
}

void conv2d_backward_weight(const float* x, const float* gy, float* gw, const Conv2dShape& s) {
  const ConvGeometry g = geometry(s, "conv2d_backward_weight");
  const int M = g.group_out, N = g.group_in * g.RS, K = static_cast<int>(s.N) * g.PQ;
  const OutputGradSource gradient{gy, g};
  const Im2colTransposedSource image{x, g};
  const int64_t group_stride = static_cast<int64_t>(M) * N;
  const tg::MatrixEpilogue epilogue{gw, N, group_stride, 1.0f, 0.0f,
                                    aligned16(gw) && N % 4 == 0};
  tg::run<Element<OutputGradSource>::Loader, Element<Im2colTransposedSource>::Loader>(
      gradient, image, epilogue, M, N, K, static_cast<int>(s.groups), "conv2d_backward_weight");
}

}  // namespace dlcore::kernels::cuda
