// Batch assembly on the GPU: the whole uint8 dataset lives in device memory, and one kernel gathers
// the batch's images by index, converts them to normalised float [C, H, W] and copies the labels,
// so a training step needs no host-to-device transfer beyond the index vector.
#include "cuda_check.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::grid_stride_begin;
using ::dlcore::cuda::grid_stride_blocks;
using ::dlcore::cuda::grid_stride_step;
using ::dlcore::cuda::stream;

constexpr int kThreads = 256;

// One thread per output value; the first thread of each image also copies its label.
__global__ void gather_normalize_u8_kernel(const uint8_t* src, const int64_t* index, float* dst,
                                           const uint8_t* labels_src, int64_t* labels_dst,
                                           GatherShape s, int64_t total) {
  const int64_t plane = s.H * s.W;
  const int64_t image = s.C * plane;
  for (int64_t i = grid_stride_begin(); i < total; i += grid_stride_step()) {
    const int64_t b = i / image;
    const int64_t within = i - b * image;  // c * plane + position
    const int64_t c = within / plane;
    const int64_t position = within - c * plane;
    const int64_t source = index[b];
    const uint8_t* in = src + source * image;
    const uint8_t raw = s.channels_last ? in[position * s.C + c] : in[within];
    // Same operations as the CPU backend, IEEE division included, so both give identical batches.
    dst[i] = __fdiv_rn(__fdiv_rn(static_cast<float>(raw), 255.0f) - s.mean[c], s.std[c]);
    if (within == 0 && labels_src != nullptr && labels_dst != nullptr)
      labels_dst[b] = labels_src[source];
  }
}

}  // namespace

void gather_normalize_u8(const uint8_t* src, const int64_t* index, float* dst,
                         const uint8_t* labels_src, int64_t* labels_dst, const GatherShape& s) {
  const int64_t total = s.batch * s.C * s.H * s.W;
  if (total <= 0) return;
  gather_normalize_u8_kernel<<<grid_stride_blocks(total, kThreads), kThreads, 0, stream()>>>(
      src, index, dst, labels_src, labels_dst, s, total);
  DLCORE_CUDA_CHECK_LAUNCH("gather_normalize_u8");
}

}  // namespace dlcore::kernels::cuda
