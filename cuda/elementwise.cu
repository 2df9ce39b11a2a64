// CUDA layout kernels: fills, scale_shift and strided copies between views. Shapes are first
// simplified on the host (size-1 dims dropped, contiguous dims merged) so the common cases run
// with little index arithmetic. (The op table's pointwise ops have their own loop: pointwise.cu.)
#include <climits>

#include "cuda_check.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::grid_stride_begin;
using ::dlcore::cuda::grid_stride_blocks;
using ::dlcore::cuda::grid_stride_step;
using ::dlcore::cuda::stream;

constexpr int kThreads = 256;

__global__ void fill_kernel(float* y, float value, int64_t n) {
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step()) y[i] = value;
}

__global__ void scale_shift_kernel(float* y, const float* x, float scale, float shift, int64_t n) {
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step()) y[i] = x[i] * scale + shift;
}

// y[offset under b_strides] = x[offset under a_strides] for every linear index of s.sizes.
template <typename Element, typename Index>
__global__ void strided_copy_kernel(const Element* x, Element* y, BroadcastShape s, Index n) {
  const Index step = static_cast<Index>(gridDim.x) * blockDim.x;
  for (Index i = static_cast<Index>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    Index rest = i, x_offset = 0, y_offset = 0;
    for (int d = s.ndim - 1; d >= 0; --d) {
      const Index size = static_cast<Index>(s.sizes[d]);
      const Index index = rest % size;
      rest /= size;
      x_offset += index * static_cast<Index>(s.a_strides[d]);
      y_offset += index * static_cast<Index>(s.b_strides[d]);
    }
    y[y_offset] = x[x_offset];
  }
}

// Element sizes other than 1, 2, 4, 8 bytes: copied byte by byte.
__global__ void strided_copy_bytes_kernel(const unsigned char* x, unsigned char* y,
                                          BroadcastShape s, int64_t n, int64_t elem_size) {
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step()) {
    int64_t rest = i, x_offset = 0, y_offset = 0;
    for (int d = s.ndim - 1; d >= 0; --d) {
      const int64_t index = rest % s.sizes[d];
      rest /= s.sizes[d];
      x_offset += index * s.a_strides[d];
      y_offset += index * s.b_strides[d];
    }
    for (int64_t byte = 0; byte < elem_size; ++byte)
      y[y_offset * elem_size + byte] = x[x_offset * elem_size + byte];
  }
}

// Drops size-1 dimensions and merges neighbours that are contiguous in both operands (strided_copy's
// source and destination). Empty shapes become one dimension of size 0.
BroadcastShape simplify(const BroadcastShape& s) {
  BroadcastShape out;
  for (int d = 0; d < s.ndim; ++d) {
    if (s.sizes[d] == 1) continue;
    if (out.ndim > 0) {
      const int last = out.ndim - 1;
      const bool merge_a = out.a_strides[last] == s.a_strides[d] * s.sizes[d];
      const bool merge_b = out.b_strides[last] == s.b_strides[d] * s.sizes[d];
      if (merge_a && merge_b) {
        out.sizes[last] *= s.sizes[d];
        out.a_strides[last] = s.a_strides[d];
        out.b_strides[last] = s.b_strides[d];
        continue;
      }
    }
    out.sizes[out.ndim] = s.sizes[d];
    out.a_strides[out.ndim] = s.a_strides[d];
    out.b_strides[out.ndim] = s.b_strides[d];
    ++out.ndim;
  }
  if (out.ndim == 0) {
    out.ndim = 1;
    out.sizes[0] = s.numel() == 0 ? 0 : 1;
  }
  return out;
}

// True when n plus a grid stride and every offset reachable through the strides fit in int32.
bool fits_int32(const BroadcastShape& s, int64_t n) {
  if (n > INT_MAX / 2) return false;
  int64_t a_extent = 0, b_extent = 0;
  for (int d = 0; d < s.ndim; ++d) {
    a_extent += (s.sizes[d] - 1) * (s.a_strides[d] < 0 ? -s.a_strides[d] : s.a_strides[d]);
    b_extent += (s.sizes[d] - 1) * (s.b_strides[d] < 0 ? -s.b_strides[d] : s.b_strides[d]);
  }
  return a_extent <= INT_MAX && b_extent <= INT_MAX;
}

template <typename Element>
void launch_strided_copy(const void* x, void* y, const BroadcastShape& s, int64_t n) {
  const unsigned int blocks = grid_stride_blocks(n, kThreads);
  const auto* src = static_cast<const Element*>(x);
  auto* dst = static_cast<Element*>(y);
  if (fits_int32(s, n)) {
    strided_copy_kernel<Element, int32_t>
        <<<blocks, kThreads, 0, stream()>>>(src, dst, s, static_cast<int32_t>(n));
  } else {
    strided_copy_kernel<Element, int64_t><<<blocks, kThreads, 0, stream()>>>(src, dst, s, n);
  }
  DLCORE_CUDA_CHECK_LAUNCH("strided_copy");
}

}  // namespace

void fill(float* y, float value, int64_t n) {
  if (n <= 0) return;
  fill_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream()>>>(y, value, n);
  DLCORE_CUDA_CHECK_LAUNCH("fill");
}

void scale_shift(float* y, const float* x, float scale, float shift, int64_t n) {
  if (n <= 0) return;
  scale_shift_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream()>>>(y, x, scale,
                                                                                  shift, n);
  DLCORE_CUDA_CHECK_LAUNCH("scale_shift");
}

void strided_copy(const void* x, void* y, const BroadcastShape& s, int64_t elem_size) {
  const int64_t n = s.numel();
  if (n <= 0) return;
  const BroadcastShape simple = simplify(s);
  if (simple.ndim == 1 && simple.a_strides[0] == 1 && simple.b_strides[0] == 1) {
    ::dlcore::cuda::copy_device_to_device(y, x, static_cast<size_t>(n * elem_size));
    return;
  }
  switch (elem_size) {
    case 1: return launch_strided_copy<uint8_t>(x, y, simple, n);
    case 2: return launch_strided_copy<uint16_t>(x, y, simple, n);
    case 4: return launch_strided_copy<uint32_t>(x, y, simple, n);
    case 8: return launch_strided_copy<uint64_t>(x, y, simple, n);
    default:
      strided_copy_bytes_kernel<<<grid_stride_blocks(n, kThreads), kThreads, 0, stream()>>>(
          static_cast<const unsigned char*>(x), static_cast<unsigned char*>(y), simple, n,
          elem_size);
      DLCORE_CUDA_CHECK_LAUNCH("strided_copy");
  }
}

}  // namespace dlcore::kernels::cuda
