// The two ways conv.cpp lowers a convolution to GEMM, kept apart from the batching logic:
// im2col (any stride) and the "wide" lowering for stride 1, where the output is computed at every
// column of the zero-padded input so that each (c, r, s) row of the GEMM's B operand is simply a
// contiguous slice of the padded image: no im2col copy at all, at the price of computing
// (padded width - Q) discarded columns per output row. Internal to cpp/src/kernels/cpu.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "dlcore/kernels.h"
#include "gemm_kernel.h"

namespace dlcore::kernels::cpu {

struct ConvGeometry {
  int64_t group_in, group_out;  // channels per group
  int64_t patch;                // GEMM depth: group_in * R * S
  int64_t in_plane, out_plane;  // H*W and P*Q
  bool pointwise;               // 1x1, stride 1, no padding: the input already is the column matrix

  explicit ConvGeometry(const Conv2dShape& s)
      : group_in(s.C / s.groups),
        group_out(s.K / s.groups),
        patch(s.C / s.groups * s.R * s.S),
        in_plane(s.H * s.W),
        out_plane(s.P * s.Q),
        pointwise(s.R == 1 && s.S == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 &&
                  s.pad_w == 0 && s.P == s.H && s.Q == s.W) {}
};

// ---- im2col -------------------------------------------------------------------------------

// Output positions [begin, end) along one axis whose input index out*stride + offset is inside
// [0, size).
struct Span {
  int64_t begin, end;
};

inline Span valid_span(int64_t offset, int64_t stride, int64_t size, int64_t count) {
  int64_t begin = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t end = size - offset <= 0 ? 0 : (size - offset - 1) / stride + 1;
  begin = std::min(begin, count);
  end = std::clamp(end, begin, count);
  return {begin, end};
}

// col[(c*R + r)*S + t][p*Q + q] = x[c][p*stride_h - pad_h + r*dilation_h][q*stride_w - ...],
// zero where the window falls in the padding; col's rows are `row_stride` floats apart (P*Q for
// one image, more when several images' columns sit side by side).
inline void im2col(const float* x, float* col, const Conv2dShape& s, int64_t channels,
                   int64_t row_stride) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t r = 0; r < s.R; ++r) {
      const Span rows = valid_span(r * s.dilation_h - s.pad_h, s.stride_h, s.H, s.P);
      for (int64_t t = 0; t < s.S; ++t) {
        float* out = col + ((c * s.R + r) * s.S + t) * row_stride;
        const int64_t w_offset = t * s.dilation_w - s.pad_w;
        const Span cols = valid_span(w_offset, s.stride_w, s.W, s.Q);
        std::fill(out, out + rows.begin * s.Q, 0.0f);
        for (int64_t p = rows.begin; p < rows.end; ++p) {
          const float* in = x + (c * s.H + p * s.stride_h - s.pad_h + r * s.dilation_h) * s.W;
          float* dst = out + p * s.Q;
          for (int64_t q = 0; q < cols.begin; ++q) dst[q] = 0.0f;
          for (int64_t q = cols.begin; q < cols.end; ++q) dst[q] = in[q * s.stride_w + w_offset];
          for (int64_t q = cols.end; q < s.Q; ++q) dst[q] = 0.0f;
        }
        std::fill(out + rows.end * s.Q, out + s.P * s.Q, 0.0f);
      }
    }
}

// The adjoint of im2col: x[c][h][w] += every column entry that was copied from it.
inline void col2im_add(const float* col, float* x, const Conv2dShape& s, int64_t channels,
                       int64_t row_stride) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t r = 0; r < s.R; ++r) {
      const Span rows = valid_span(r * s.dilation_h - s.pad_h, s.stride_h, s.H, s.P);
      for (int64_t t = 0; t < s.S; ++t) {
        const float* in = col + ((c * s.R + r) * s.S + t) * row_stride;
        const int64_t w_offset = t * s.dilation_w - s.pad_w;
        const Span cols = valid_span(w_offset, s.stride_w, s.W, s.Q);
        for (int64_t p = rows.begin; p < rows.end; ++p) {
          float* dst = x + (c * s.H + p * s.stride_h - s.pad_h + r * s.dilation_h) * s.W;
          const float* src = in + p * s.Q;
          for (int64_t q = cols.begin; q < cols.end; ++q)
            dst[q * s.stride_w + w_offset] += src[q];
        }
      }
    }
}

// ---- wide lowering (stride 1) ---------------------------------------------------------------

// Output column j = p * padded_w + q for q < padded_w; columns with q >= Q are discarded. Row
// (c, r, s) of B is padded + c*plane + r*dilation_h*padded_w + s*dilation_w, read for `wide`
// (rounded up to the GEMM panel) floats: `buffer` includes that slack.
struct WideLowering {
  int64_t padded_h, padded_w, plane, wide, buffer;

  WideLowering(const Conv2dShape& s, const ConvGeometry& g)
      : padded_h(s.H + 2 * s.pad_h),
        padded_w(s.W + 2 * s.pad_w),
        plane(padded_h * padded_w),
        wide(s.P * padded_w),
        buffer(g.group_in * plane + (s.S - 1) * s.dilation_w + detail::kNR) {}

  // Worth it when at most half of the computed columns are discarded.
  static bool applies(const Conv2dShape& s, const ConvGeometry& g) {
    return s.stride_h == 1 && s.stride_w == 1 && !g.pointwise && s.P > 0 && s.Q > 0 &&
           s.W + 2 * s.pad_w <= 2 * s.Q;
  }

  void fill_offsets(const Conv2dShape& s, std::vector<int64_t>& offsets) const {
    const int64_t channels = s.C / s.groups;
    offsets.resize(channels * s.R * s.S);
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t r = 0; r < s.R; ++r)
        for (int64_t t = 0; t < s.S; ++t)
          offsets[(c * s.R + r) * s.S + t] =
              c * plane + r * s.dilation_h * padded_w + t * s.dilation_w;
  }

  // One group's input planes into the zero-padded buffer (slack zeroed too, so the discarded
  // columns stay finite).
  void pad_input(const float* x, float* padded, const Conv2dShape& s,
                 const ConvGeometry& g) const {
    for (int64_t c = 0; c < g.group_in; ++c)
      for (int64_t hp = 0; hp < padded_h; ++hp) {
        float* row = padded + c * plane + hp * padded_w;
        const int64_t h = hp - s.pad_h;
        if (h < 0 || h >= s.H) {
          for (int64_t w = 0; w < padded_w; ++w) row[w] = 0.0f;
          continue;
        }
        const float* in = x + (c * s.H + h) * s.W;
        for (int64_t w = 0; w < s.pad_w; ++w) row[w] = 0.0f;
        for (int64_t w = 0; w < s.W; ++w) row[s.pad_w + w] = in[w];
        for (int64_t w = s.pad_w + s.W; w < padded_w; ++w) row[w] = 0.0f;
      }
    std::fill(padded + g.group_in * plane, padded + buffer, 0.0f);
  }

  // The Q real columns of each wide output row, into NCHW.
  void crop_output(const float* wide_out, float* y, const Conv2dShape& s,
                   const ConvGeometry& g) const {
    for (int64_t k = 0; k < g.group_out; ++k)
      for (int64_t p = 0; p < s.P; ++p) {
        const float* src = wide_out + k * wide + p * padded_w;
        float* dst = y + k * g.out_plane + p * s.Q;
        for (int64_t q = 0; q < s.Q; ++q) dst[q] = src[q];
      }
  }

  // The inverse placement for gradients: gy rows spread to the wide layout, zeros in the
  // discarded columns so they contribute nothing.
  void spread_gradient(const float* gy, float* gy_wide, const Conv2dShape& s,
                       const ConvGeometry& g) const {
    for (int64_t k = 0; k < g.group_out; ++k)
      for (int64_t p = 0; p < s.P; ++p) {
        const float* src = gy + k * g.out_plane + p * s.Q;
        float* dst = gy_wide + k * wide + p * padded_w;
        for (int64_t q = 0; q < s.Q; ++q) dst[q] = src[q];
        for (int64_t q = s.Q; q < padded_w; ++q) dst[q] = 0.0f;
      }
  }
};

// ---- input gradient as a forward convolution ------------------------------------------------

// For stride 1, dx = conv(dy padded by dilation*(kernel-1) - pad, flipped weights): fills
// `flipped` and returns true when that padding is non-negative.
inline bool transposed_as_forward(const Conv2dShape& s, Conv2dShape& flipped) {
  const int64_t pad_h = s.dilation_h * (s.R - 1) - s.pad_h;
  const int64_t pad_w = s.dilation_w * (s.S - 1) - s.pad_w;
  if (s.stride_h != 1 || s.stride_w != 1 || pad_h < 0 || pad_w < 0) return false;
  // Input channels and output channels swap; the output has the original input's size.
  flipped = Conv2dShape{s.N,   s.K,   s.P,          s.Q,          s.C,      s.R, s.S, 1,
                        1,     pad_h, pad_w,        s.dilation_h, s.dilation_w, s.groups,
                        s.H,   s.W};
  return true;
}

// flipped[g*Cg + c][k][R-1-r][S-1-t] = w[g*Kg + k][c][r][t]: weights of the transposed conv.
inline void flip_weights(const float* w, float* flipped, const Conv2dShape& s) {
  const int64_t cg = s.C / s.groups, kg = s.K / s.groups, taps = s.R * s.S;
  for (int64_t g = 0; g < s.groups; ++g)
    for (int64_t k = 0; k < kg; ++k)
      for (int64_t c = 0; c < cg; ++c) {
        const float* src = w + ((g * kg + k) * cg + c) * taps;
        float* dst = flipped + ((g * cg + c) * kg + k) * taps;
        for (int64_t i = 0; i < taps; ++i) dst[taps - 1 - i] = src[i];
      }
}

}  // namespace dlcore::kernels::cpu
