// Tests of the CPU batch gather: uint8 images picked by index, normalised per channel into float
// CHW, from both channels-first (MNIST) and channels-last (CIFAR JPEG decode) sources.
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;

TEST(KernelsCpuData, GatherNormalizeBothLayouts) {
  const int64_t N = 7, C = 3, H = 4, W = 5;
  std::vector<uint8_t> images(N * C * H * W), labels(N);
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<uint8_t>((i * 37) % 256);
  for (int64_t i = 0; i < N; ++i) labels[i] = static_cast<uint8_t>(i * 3 % 10);
  const std::vector<int64_t> index = {6, 0, 3, 3};
  for (bool channels_last : {false, true}) {
    GatherShape s{static_cast<int64_t>(index.size()), C, H, W, channels_last,
                  {0.1f, 0.5f, 0.9f, 0.0f}, {0.3f, 0.25f, 2.0f, 1.0f}};
    std::vector<float> out(index.size() * C * H * W);
    std::vector<int64_t> out_labels(index.size());
    kernels::cpu::gather_normalize_u8(images.data(), index.data(), out.data(), labels.data(),
                                      out_labels.data(), s);
    std::vector<double> expected(out.size());
    for (size_t b = 0; b < index.size(); ++b)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t w = 0; w < W; ++w) {
            const int64_t src = channels_last ? ((index[b] * H + h) * W + w) * C + c
                                              : ((index[b] * C + c) * H + h) * W + w;
            expected[((b * C + c) * H + h) * W + w] =
                (images[src] / 255.0 - s.mean[c]) / s.std[c];
          }
    EXPECT_TRUE(all_close(out, expected, 1e-6)) << "channels_last " << channels_last;
    for (size_t b = 0; b < index.size(); ++b) EXPECT_EQ(out_labels[b], labels[index[b]]);
  }
}

}  // namespace
}  // namespace dlcore
