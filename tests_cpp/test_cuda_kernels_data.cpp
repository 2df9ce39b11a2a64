// Tests of the CUDA batch gather (uint8 images -> normalised float batch + int64 labels) against
// the CPU backend, for MNIST-like planar and CIFAR-like channels-last layouts.
#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;

TEST(CudaKernelsData, GatherNormalize) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  struct Case {
    int64_t C, H, W;
    bool channels_last;
  };
  const Case cases[] = {{1, 28, 28, false}, {3, 32, 32, true}, {3, 5, 7, false}, {2, 3, 3, true}};
  uint32_t seed = 1;
  for (const Case& c : cases) {
    const int64_t images = 50, batch = 17, image = c.C * c.H * c.W;
    const auto noise = testing::random_indices(images * image, seed++, 256);
    std::vector<uint8_t> src(noise.begin(), noise.end());
    const auto label_noise = testing::random_indices(images, seed++, 10);
    std::vector<uint8_t> labels(label_noise.begin(), label_noise.end());
    const auto index = testing::random_indices(batch, seed++, images);
    GatherShape s{batch, c.C, c.H, c.W, c.channels_last, {0.1f, 0.2f, 0.3f, 0.4f},
                  {0.3f, 0.25f, 0.5f, 1.0f}};
    DeviceBuffer<uint8_t> dsrc(src), dlabels(labels);
    DeviceBuffer<int64_t> dindex(index), dlabels_out(batch);
    DeviceBuffer<float> ddst(batch * image);
    std::vector<float> dst(batch * image);
    std::vector<int64_t> labels_out(batch);
    kernels::cuda::gather_normalize_u8(dsrc.get(), dindex.get(), ddst.get(), dlabels.get(),
                                       dlabels_out.get(), s);
    kernels::cpu::gather_normalize_u8(src.data(), index.data(), dst.data(), labels.data(),
                                      labels_out.data(), s);
    // The same two IEEE divisions on both devices.
    EXPECT_TRUE(all_close(ddst.download(), dst, 1e-6)) << "C=" << c.C;
    EXPECT_EQ(dlabels_out.download(), labels_out);
  }
}

}  // namespace
}  // namespace dlcore
