// 2-D convolution of the CPU backend (NCHW, weight [K, C/groups, R, S]) lowered to GEMM.
// Stride-1 convolutions (LeNet, most CNN layers) use the wide lowering of conv_lowering.h, which
// needs no im2col, and their input gradient is itself a stride-1 convolution; other strides use
// im2col. Small images give small GEMMs, so threads take whole images with a single-threaded
// GEMM each; only a batch smaller than the team keeps the image loop serial and lets gemm fork.
#include <omp.h>

#include <algorithm>
#include <vector>

#include "conv_lowering.h"
#include "cpu_parallel.h"
#include "dlcore/kernels.h"
#include "gemm_kernel.h"
#include "winograd.h"

namespace dlcore::kernels::cpu {
namespace {

using detail::ScratchSlot;
using detail::thread_scratch;

// Threads for a batch loop where each image costs `macs_per_image`; 1 means "loop on this thread
// and let the GEMM decide".
int batch_threads(const Conv2dShape& s, int64_t macs_per_image) {
  const int threads = detail::threads_for(s.N * macs_per_image, int64_t{1} << 17);
  return s.N >= threads ? threads : 1;
}

// The wide lowering runs single-threaded GEMMs, so it needs the batch to feed every thread.
bool use_wide(const Conv2dShape& s, const ConvGeometry& g) {
  return WideLowering::applies(s, g) && (omp_in_parallel() || s.N >= detail::max_threads() ||
                                         s.N * s.K * g.patch * s.P * s.W < (int64_t{1} << 20));
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

// The per-(c, r, s) row offsets of the wide lowering, kept on the calling thread and read by
// the team; grow-only so steady-state calls do not allocate.
const int64_t* wide_offsets(const WideLowering& plan, const Conv2dShape& s) {
  thread_local std::vector<int64_t> offsets;
  plan.fill_offsets(s, offsets);
  return offsets.data();
}

void forward_wide(const float* x, const float* w, float* y, const Conv2dShape& s,
                  const ConvGeometry& g) {
  const WideLowering plan(s, g);
  const int64_t* offsets = wide_offsets(plan, s);
  for_each_image(s, s.K * g.patch * plan.wide, [&](int64_t n) {
    float* padded = thread_scratch(ScratchSlot::ConvPadded, plan.buffer);
    float* wide_out = thread_scratch(ScratchSlot::ConvColumns, g.group_out * plan.wide);
    for (int64_t group = 0; group < s.groups; ++group) {
      plan.pad_input(x + (n * s.C + group * g.group_in) * g.in_plane, padded, s, g);
      detail::gemm_offset_b(g.group_out, plan.wide, g.patch, w + group * g.group_out * g.patch,
                            g.patch, padded, offsets, 0.0f, wide_out, plan.wide);
      plan.crop_output(wide_out, y + (n * s.K + group * g.group_out) * g.out_plane, s, g);
    }
  });
}

void forward_im2col(const float* x, const float* w, float* y, const Conv2dShape& s,
                    const ConvGeometry& g) {
  for_each_image(s, s.K * g.patch * g.out_plane, [&](int64_t n) {
    float* col = g.pointwise ? nullptr
                             : thread_scratch(ScratchSlot::ConvColumns, g.patch * g.out_plane);
    for (int64_t group = 0; group < s.groups; ++group) {
      const float* in = x + (n * s.C + group * g.group_in) * g.in_plane;
      if (!g.pointwise) im2col(in, col, s, g.group_in, g.out_plane);
      gemm(false, false, g.group_out, g.out_plane, g.patch, 1.0f,
           w + group * g.group_out * g.patch, g.patch, g.pointwise ? in : col, g.out_plane, 0.0f,
           y + (n * s.K + group * g.group_out) * g.out_plane, g.out_plane);
    }
  });
}

void backward_input_im2col(const float* gy, const float* w, float* gx, const Conv2dShape& s,
                           const ConvGeometry& g) {
  for_each_image(s, s.K * g.patch * g.out_plane, [&](int64_t n) {
    float* col = g.pointwise ? nullptr
                             : thread_scratch(ScratchSlot::ConvColumns, g.patch * g.out_plane);
    for (int64_t group = 0; group < s.groups; ++group) {
      float* grad_in = gx + (n * s.C + group * g.group_in) * g.in_plane;
      gemm(true, false, g.patch, g.out_plane, g.group_out, 1.0f,
           w + group * g.group_out * g.patch, g.patch,
           gy + (n * s.K + group * g.group_out) * g.out_plane, g.out_plane, 0.0f,
           g.pointwise ? grad_in : col, g.out_plane);
      if (!g.pointwise) {
        std::fill(grad_in, grad_in + g.group_in * g.in_plane, 0.0f);
        col2im_add(col, grad_in, s, g.group_in, g.out_plane);
      }
    }
  });
}

// ---- several images per GEMM --------------------------------------------------------------
// Deep layers have small output planes (ResNet's 4x4 to 8x8): one image's GEMM has fewer
// columns than two micro-tiles and the kernel idles. Lowering a batch of images side by side,
// col[patch][image * P*Q + pq], gives one GEMM at least kBatchedColumns wide, which gemm() then
// threads itself.
constexpr int64_t kBatchedColumns = 512;

bool batches_images(const Conv2dShape& s, const ConvGeometry& g) {
  return s.groups == 1 && s.N > 1 && g.out_plane < kBatchedColumns;
}

struct ImageBatch {
  int64_t per_gemm;  // images per GEMM
  int64_t stride;    // floats between rows of the lowered matrices: per_gemm * P*Q

  ImageBatch(const Conv2dShape& s, const ConvGeometry& g)
      : per_gemm(std::min(s.N, (kBatchedColumns + g.out_plane - 1) / g.out_plane)),
        stride(per_gemm * g.out_plane) {}

  // fn(first image, images) for each GEMM's share of the batch.
  template <class Fn>
  void for_each(const Conv2dShape& s, Fn&& fn) const {
    for (int64_t first = 0; first < s.N; first += per_gemm) fn(first, std::min(per_gemm, s.N - first));
  }
};

// Runs fn(i) for the `count` images of one GEMM on the team: copying them costs ~patch * P*Q.
template <class Fn>
void for_images(int64_t count, int64_t floats_per_image, Fn&& fn) {
  detail::parallel_for(count, detail::grain_for(floats_per_image), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) fn(i);
  });
}

// between[k][i * P*Q + pq] <-> nchw[first + i][k][pq] for count images of `channels` planes.
void gather_planes(const float* nchw, float* between, int64_t first, int64_t count,
                   int64_t channels, int64_t plane, int64_t stride) {
  for_images(count, channels * plane, [&](int64_t i) {
    for (int64_t k = 0; k < channels; ++k)
      std::copy_n(nchw + ((first + i) * channels + k) * plane, plane, between + k * stride + i * plane);
  });
}
void scatter_planes(const float* between, float* nchw, int64_t first, int64_t count,
                    int64_t channels, int64_t plane, int64_t stride) {
  for_images(count, channels * plane, [&](int64_t i) {
    for (int64_t k = 0; k < channels; ++k)
      std::copy_n(between + k * stride + i * plane, plane, nchw + ((first + i) * channels + k) * plane);
  });
}

void lower_images(const float* x, float* col, int64_t first, int64_t count, const Conv2dShape& s,
                  const ConvGeometry& g, const ImageBatch& batch) {
  for_images(count, g.patch * g.out_plane, [&](int64_t i) {
    im2col(x + (first + i) * s.C * g.in_plane, col + i * g.out_plane, s, s.C, batch.stride);
  });
}

void forward_batched(const float* x, const float* w, float* y, const Conv2dShape& s,
                     const ConvGeometry& g) {
  const ImageBatch batch(s, g);
  float* col = thread_scratch(ScratchSlot::ConvColumns, g.patch * batch.stride);
  float* out = thread_scratch(ScratchSlot::ConvGradWide, s.K * batch.stride);
  batch.for_each(s, [&](int64_t first, int64_t count) {
    lower_images(x, col, first, count, s, g, batch);
    gemm(false, false, s.K, count * g.out_plane, g.patch, 1.0f, w, g.patch, col, batch.stride, 0.0f,
         out, batch.stride);
    scatter_planes(out, y, first, count, s.K, g.out_plane, batch.stride);
  });
}

void backward_input_batched(const float* gy, const float* w, float* gx, const Conv2dShape& s,
                            const ConvGeometry& g) {
  const ImageBatch batch(s, g);
  float* col = thread_scratch(ScratchSlot::ConvColumns, g.patch * batch.stride);
  float* gy_rows = thread_scratch(ScratchSlot::ConvGradWide, s.K * batch.stride);
  batch.for_each(s, [&](int64_t first, int64_t count) {
    gather_planes(gy, gy_rows, first, count, s.K, g.out_plane, batch.stride);
    gemm(true, false, g.patch, count * g.out_plane, s.K, 1.0f, w, g.patch, gy_rows, batch.stride,
         0.0f, col, batch.stride);
    for_images(count, g.patch * g.out_plane, [&](int64_t i) {
      float* image = gx + (first + i) * s.C * g.in_plane;
      std::fill(image, image + s.C * g.in_plane, 0.0f);
      col2im_add(col + i * g.out_plane, image, s, s.C, batch.stride);
    });
  });
}

void backward_weight_batched(const float* x, const float* gy, float* gw, const Conv2dShape& s,
                             const ConvGeometry& g) {
  const ImageBatch batch(s, g);
  float* col = thread_scratch(ScratchSlot::ConvColumns, g.patch * batch.stride);
  float* gy_rows = thread_scratch(ScratchSlot::ConvGradWide, s.K * batch.stride);
  batch.for_each(s, [&](int64_t first, int64_t count) {
    lower_images(x, col, first, count, s, g, batch);
    gather_planes(gy, gy_rows, first, count, s.K, g.out_plane, batch.stride);
    gemm(false, true, s.K, g.patch, count * g.out_plane, 1.0f, gy_rows, batch.stride, col,
         batch.stride, first == 0 ? 0.0f : 1.0f, gw, g.patch);
  });
}

}  // namespace

void conv2d_forward(const float* x, const float* w, float* y, const Conv2dShape& s) {
  if (winograd_applies(s)) {
    winograd_conv2d_forward(x, w, y, s);
    return;
  }
  const ConvGeometry g(s);
  if (use_wide(s, g))
    forward_wide(x, w, y, s, g);
  else if (batches_images(s, g))
    forward_batched(x, w, y, s, g);
  else
    forward_im2col(x, w, y, s, g);
}

// With stride 1 the input gradient is itself a stride-1 convolution of gy (see
// transposed_as_forward), which the wide lowering computes without any col2im scatter.
void conv2d_backward_input(const float* gy, const float* w, float* gx, const Conv2dShape& s) {
  const ConvGeometry g(s);
  Conv2dShape flipped;
  if (transposed_as_forward(s, flipped)) {
    if (winograd_applies(flipped)) {
      float* flipped_w = thread_scratch(ScratchSlot::ConvWeights, s.K * g.patch);
      flip_weights(w, flipped_w, s);
      winograd_conv2d_forward(gy, flipped_w, gx, flipped);
      return;
    }
    const ConvGeometry flipped_geometry(flipped);
    if (use_wide(flipped, flipped_geometry)) {
      float* flipped_w = thread_scratch(ScratchSlot::ConvWeights, s.K * g.patch);
      flip_weights(w, flipped_w, s);
      forward_wide(gy, flipped_w, gx, flipped, flipped_geometry);
      return;
    }
  }
  if (batches_images(s, g))
    backward_input_batched(gy, w, gx, s, g);
  else
    backward_input_im2col(gy, w, gx, s, g);
}

// Each thread accumulates its images' weight gradient in its own buffer, then after a barrier
// the threads sum the buffers slice by slice into gw. The wide lowering's transposed product
// leaves the gradient as [groups][patch][K/groups]; the sum transposes it back.
void conv2d_backward_weight(const float* x, const float* gy, float* gw, const Conv2dShape& s) {
  if (winograd_applies(s)) {
    winograd_conv2d_backward_weight(x, gy, gw, s);
    return;
  }
  const ConvGeometry g(s);
  const bool wide = use_wide(s, g);
  if (!wide && batches_images(s, g)) {
    backward_weight_batched(x, gy, gw, s, g);
    return;
  }
  const int64_t weight_size = s.K * g.patch;
  const WideLowering plan(s, g);
  const int64_t* offsets = wide ? wide_offsets(plan, s) : nullptr;
  // The transposed product puts output channels in the vector lanes: worth it when they fill
  // the lanes; otherwise the patch goes in the lanes and the padded image is transposed.
  const int64_t lane_groups = (g.group_out + detail::kLanes - 1) / detail::kLanes;
  const bool transposed = wide && 4 * g.group_out >= 3 * lane_groups * detail::kLanes;

  // Adds image n's contribution to `target`; `first` overwrites instead.
  auto accumulate_image = [&](int64_t n, float* target, bool first) {
    const float beta = first ? 0.0f : 1.0f;
    if (wide) {
      float* padded = thread_scratch(ScratchSlot::ConvPadded, plan.buffer);
      float* gy_wide = thread_scratch(ScratchSlot::ConvGradWide, g.group_out * plan.wide);
      for (int64_t group = 0; group < s.groups; ++group) {
        plan.pad_input(x + (n * s.C + group * g.group_in) * g.in_plane, padded, s, g);
        plan.spread_gradient(gy + (n * s.K + group * g.group_out) * g.out_plane, gy_wide, s, g);
        if (transposed)
          detail::gemm_offset_a_bt(g.patch, g.group_out, plan.wide, padded, offsets, gy_wide,
                                   plan.wide, beta, target + group * g.patch * g.group_out,
                                   g.group_out);
        else
          detail::gemm_offset_columns(g.group_out, g.patch, plan.wide, gy_wide, plan.wide, padded,
                                      offsets, beta, target + group * g.group_out * g.patch,
                                      g.patch);
      }
      return;
    }
    float* col = g.pointwise ? nullptr
                             : thread_scratch(ScratchSlot::ConvColumns, g.patch * g.out_plane);
    for (int64_t group = 0; group < s.groups; ++group) {
      const float* in = x + (n * s.C + group * g.group_in) * g.in_plane;
      if (!g.pointwise) im2col(in, col, s, g.group_in, g.out_plane);
      gemm(false, true, g.group_out, g.patch, g.out_plane, 1.0f,
           gy + (n * s.K + group * g.group_out) * g.out_plane, g.out_plane,
           g.pointwise ? in : col, g.out_plane, beta, target + group * g.group_out * g.patch,
           g.patch);
    }
  };
  // gw[i] from the partials, undoing the wide lowering's transposition.
  auto source_index = [&](int64_t i) {
    if (!transposed) return i;
    const int64_t kg = i / g.patch, tap = i % g.patch;
    const int64_t group = kg / g.group_out, k = kg % g.group_out;
    return (group * g.patch + tap) * g.group_out + k;
  };

  const int threads = batch_threads(s, s.K * g.patch * g.out_plane);
  thread_local std::vector<float*> partial_slots;  // grow-only: no allocation in steady state
  if (partial_slots.size() < static_cast<size_t>(threads)) partial_slots.resize(threads);
  float** partials = partial_slots.data();
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    float* mine = thread_scratch(ScratchSlot::ConvPartial, weight_size);
    partials[t] = mine;
    const int64_t first = s.N * t / nt, last = s.N * (t + 1) / nt;
    if (first == last) std::fill(mine, mine + weight_size, 0.0f);
    for (int64_t n = first; n < last; ++n) accumulate_image(n, mine, n == first);
#pragma omp barrier
    const int64_t begin = weight_size * t / nt, end = weight_size * (t + 1) / nt;
    for (int64_t i = begin; i < end; ++i) {
      const int64_t from = source_index(i);
      float total = 0.0f;
      for (int64_t other = 0; other < nt; ++other) total += partials[other][from];
      gw[i] = total;
    }
  }
}

}  // namespace dlcore::kernels::cpu
