// 2-D convolution of the CPU backend (NCHW, weight [K, C/groups, R, S]) as im2col + GEMM.
// Small images (LeNet, CIFAR) give small per-image GEMMs, so threads take whole images with a
// single-threaded GEMM each; only when the batch is smaller than the team does the GEMM fork.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {
namespace {

using detail::ScratchSlot;
using detail::thread_scratch;

struct Geometry {
  int64_t group_in, group_out;  // channels per group
  int64_t patch;                // rows of the column matrix: group_in * R * S
  int64_t in_plane, out_plane;  // H*W and P*Q
  bool pointwise;               // 1x1, stride 1, no padding: the input already is the column matrix

  explicit Geometry(const Conv2dShape& s)
      : group_in(s.C / s.groups),
        group_out(s.K / s.groups),
        patch(s.C / s.groups * s.R * s.S),
        in_plane(s.H * s.W),
        out_plane(s.P * s.Q),
        pointwise(s.R == 1 && s.S == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 &&
                  s.pad_w == 0 && s.P == s.H && s.Q == s.W) {}
};

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

// col[(c*R + r)*S + s][p*Q + q] = x[c][p*stride_h - pad_h + r*dilation_h][q*stride_w - ...],
// zero where the window falls in the padding.
void im2col(const float* x, float* col, const Conv2dShape& s, int64_t channels) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t r = 0; r < s.R; ++r) {
      const Span rows = valid_span(r * s.dilation_h - s.pad_h, s.stride_h, s.H, s.P);
      for (int64_t k = 0; k < s.S; ++k) {
        float* out = col + ((c * s.R + r) * s.S + k) * s.P * s.Q;
        const int64_t w_offset = k * s.dilation_w - s.pad_w;
        const Span cols = valid_span(w_offset, s.stride_w, s.W, s.Q);
        // Rows are short (LeNet: 10 to 28 floats), so plain loops beat memcpy/memset calls.
        for (int64_t i = 0; i < rows.begin * s.Q; ++i) out[i] = 0.0f;
        for (int64_t p = rows.begin; p < rows.end; ++p) {
          const float* in = x + (c * s.H + p * s.stride_h - s.pad_h + r * s.dilation_h) * s.W;
          float* dst = out + p * s.Q;
          for (int64_t q = 0; q < cols.begin; ++q) dst[q] = 0.0f;
          if (s.stride_w == 1) {
            const float* shifted = in + w_offset;
#pragma omp simd
            for (int64_t q = cols.begin; q < cols.end; ++q) dst[q] = shifted[q];
          } else {
            for (int64_t q = cols.begin; q < cols.end; ++q) dst[q] = in[q * s.stride_w + w_offset];
          }
          for (int64_t q = cols.end; q < s.Q; ++q) dst[q] = 0.0f;
        }
        for (int64_t i = rows.end * s.Q; i < s.P * s.Q; ++i) out[i] = 0.0f;
      }
    }
}

// The adjoint of im2col: x[c][h][w] += every column entry that was copied from it.
void col2im_add(const float* col, float* x, const Conv2dShape& s, int64_t channels) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t r = 0; r < s.R; ++r) {
      const Span rows = valid_span(r * s.dilation_h - s.pad_h, s.stride_h, s.H, s.P);
      for (int64_t k = 0; k < s.S; ++k) {
        const float* in = col + ((c * s.R + r) * s.S + k) * s.P * s.Q;
        const int64_t w_offset = k * s.dilation_w - s.pad_w;
        const Span cols = valid_span(w_offset, s.stride_w, s.W, s.Q);
        for (int64_t p = rows.begin; p < rows.end; ++p) {
          float* dst = x + (c * s.H + p * s.stride_h - s.pad_h + r * s.dilation_h) * s.W;
          const float* src = in + p * s.Q;
          if (s.stride_w == 1) {
#pragma omp simd
            for (int64_t q = cols.begin; q < cols.end; ++q) dst[q + w_offset] += src[q];
          } else {
            for (int64_t q = cols.begin; q < cols.end; ++q)
              dst[q * s.stride_w + w_offset] += src[q];
          }
        }
      }
    }
}

// This thread's im2col buffer (none needed for pointwise convolutions).
float* column_buffer(const Geometry& g) {
  return g.pointwise ? nullptr : thread_scratch(ScratchSlot::ConvColumns, g.patch * g.out_plane);
}

// Threads for a batch loop where each image costs `macs_per_image`; 1 means "loop on this thread
// and let the GEMM decide".
int batch_threads(const Conv2dShape& s, int64_t macs_per_image) {
  const int threads = detail::threads_for(s.N * macs_per_image, int64_t{1} << 17);
  return s.N >= threads ? threads : 1;
}

template <class ImageFn>
void for_each_image(const Conv2dShape& s, int64_t macs_per_image, ImageFn&& fn) {
  const int threads = batch_threads(s, macs_per_image);
  if (threads <= 1) {
    for (int64_t n = 0; n < s.N; ++n) fn(n);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t n = 0; n < s.N; ++n) fn(n);
}

}  // namespace

void conv2d_forward(const float* x, const float* w, float* y, const Conv2dShape& s) {
  const Geometry g(s);
  for_each_image(s, s.K * g.patch * g.out_plane, [&](int64_t n) {
    float* col = column_buffer(g);
    for (int64_t group = 0; group < s.groups; ++group) {
      const float* in = x + (n * s.C + group * g.group_in) * g.in_plane;
      if (!g.pointwise) im2col(in, col, s, g.group_in);
      gemm(false, false, g.group_out, g.out_plane, g.patch, 1.0f, w + group * g.group_out * g.patch,
           g.patch, g.pointwise ? in : col, g.out_plane, 0.0f,
           y + (n * s.K + group * g.group_out) * g.out_plane, g.out_plane);
    }
  });
}

void conv2d_backward_input(const float* gy, const float* w, float* gx, const Conv2dShape& s) {
  const Geometry g(s);
  for_each_image(s, s.K * g.patch * g.out_plane, [&](int64_t n) {
    float* col = column_buffer(g);
    for (int64_t group = 0; group < s.groups; ++group) {
      float* grad_in = gx + (n * s.C + group * g.group_in) * g.in_plane;
      gemm(true, false, g.patch, g.out_plane, g.group_out, 1.0f, w + group * g.group_out * g.patch,
           g.patch, gy + (n * s.K + group * g.group_out) * g.out_plane, g.out_plane, 0.0f,
           g.pointwise ? grad_in : col, g.out_plane);
      if (!g.pointwise) {
        std::fill(grad_in, grad_in + g.group_in * g.in_plane, 0.0f);
        col2im_add(col, grad_in, s, g.group_in);
      }
    }
  });
}

// Each thread accumulates its images' weight gradient in its own buffer (thread 0 directly in
// gw); after a barrier the threads sum the buffers slice by slice.
void conv2d_backward_weight(const float* x, const float* gy, float* gw, const Conv2dShape& s) {
  const Geometry g(s);
  const int64_t weight_size = s.K * g.patch;
  // Adds image n's contribution to `target`; `first` overwrites instead.
  auto accumulate_image = [&](int64_t n, float* target, bool first) {
    float* col = column_buffer(g);
    for (int64_t group = 0; group < s.groups; ++group) {
      const float* in = x + (n * s.C + group * g.group_in) * g.in_plane;
      if (!g.pointwise) im2col(in, col, s, g.group_in);
      gemm(false, true, g.group_out, g.patch, g.out_plane, 1.0f,
           gy + (n * s.K + group * g.group_out) * g.out_plane, g.out_plane,
           g.pointwise ? in : col, g.out_plane, first ? 0.0f : 1.0f,
           target + group * g.group_out * g.patch, g.patch);
    }
  };
  const int threads = batch_threads(s, s.K * g.patch * g.out_plane);
  if (threads <= 1) {
    if (s.N == 0) std::fill(gw, gw + weight_size, 0.0f);
    for (int64_t n = 0; n < s.N; ++n) accumulate_image(n, gw, n == 0);
    return;
  }
  thread_local std::vector<float*> partial_slots;  // grow-only: no allocation in steady state
  if (partial_slots.size() < static_cast<size_t>(threads)) partial_slots.resize(threads);
  float** partials = partial_slots.data();
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    float* mine = t == 0 ? gw : thread_scratch(ScratchSlot::ConvPartial, weight_size);
    partials[t] = mine;
    const int64_t first = s.N * t / nt, last = s.N * (t + 1) / nt;
    if (first == last) std::fill(mine, mine + weight_size, 0.0f);
    for (int64_t n = first; n < last; ++n) accumulate_image(n, mine, n == first);
#pragma omp barrier
    const int64_t begin = weight_size * t / nt, end = weight_size * (t + 1) / nt;
    for (int64_t other = 1; other < nt; ++other) {
      const float* src = partials[other];
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) gw[i] += src[i];
    }
  }
}

}  // namespace dlcore::kernels::cpu
