// Batch assembly for training on the CPU: gathers uint8 images by index, converts them to
// normalised float CHW and copies the labels, in one pass, so datasets can stay in memory as bytes.
#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {

void gather_normalize_u8(const uint8_t* src, const int64_t* index, float* dst,
                         const uint8_t* labels_src, int64_t* labels_dst, const GatherShape& s) {
  const int64_t plane = s.H * s.W;
  const int64_t image = s.C * plane;
  detail::parallel_for(s.batch, detail::grain_for(image),
                       [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const uint8_t* in = src + index[b] * image;
      float* out = dst + b * image;
      for (int64_t c = 0; c < s.C; ++c) {
        const float mean = s.mean[c], stddev = s.std[c];
        float* out_plane = out + c * plane;
        if (s.channels_last) {
          for (int64_t i = 0; i < plane; ++i)
            out_plane[i] = (static_cast<float>(in[i * s.C + c]) / 255.0f - mean) / stddev;
        } else {
          const uint8_t* in_plane = in + c * plane;
#pragma omp simd
          for (int64_t i = 0; i < plane; ++i)
            out_plane[i] = (static_cast<float>(in_plane[i]) / 255.0f - mean) / stddev;
        }
      }
    }
  });
  if (labels_src != nullptr && labels_dst != nullptr)
    for (int64_t b = 0; b < s.batch; ++b) labels_dst[b] = labels_src[index[b]];
}

}  // namespace dlcore::kernels::cpu
