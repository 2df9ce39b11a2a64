// Tests of the CUDA float fills and scale_shift (in place too) against the CPU backend, and of
// copies between views on the GPU (contiguous(), copy_ into strided and broadcast views, every
// dtype) against the same copies on the CPU. Results must match exactly or to rounding.
#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "dlcore/ops.h"
#include "dlcore/view_ops.h"
#include "kernel_test_util.h"
#include "copy_test_cases.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_vector;

TEST(CudaKernelsElementwise, FillScaleShift) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (int64_t n : {1, 1000, 100003}) {
    const auto x = random_vector(n, 1);
    DeviceBuffer<float> dx(x), dz(n);
    kernels::cuda::fill(dz.get(), 2.5f, n);
    EXPECT_EQ(dz.download(), std::vector<float>(n, 2.5f));

    std::vector<float> z(n);
    kernels::cuda::scale_shift(dz.get(), dx.get(), 1.5f, -0.25f, n);
    kernels::cpu::scale_shift(z.data(), x.data(), 1.5f, -0.25f, n);
    EXPECT_TRUE(all_close(dz.download(), z, 1e-6));
    kernels::cuda::scale_shift(dz.get(), dz.get(), 2.0f, 1.0f, n);  // in place
    kernels::cpu::scale_shift(z.data(), z.data(), 2.0f, 1.0f, n);
    EXPECT_TRUE(all_close(dz.download(), z, 1e-6));
  }
}

TEST(CudaKernelsElementwise, CopiesBetweenViewsMatchTheCpu) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (DType dtype : testing::kAllDTypes)
    for (const testing::CopyCase& c : testing::copy_cases()) {
      const Tensor on_cpu = testing::run_copy_case(c, dtype, Device::cpu());
      const Tensor on_gpu = testing::run_copy_case(c, dtype, Device::cuda());
      EXPECT_EQ(testing::bytes_of(on_gpu.to(Device::cpu())), testing::bytes_of(on_cpu)) << c.name << " " << dtype_name(dtype);
    }
}

}  // namespace
}  // namespace dlcore
