// The ReLU epilogue of conv2d/linear without bias, on CUDA (with a bias it is fused into bias_add).
// Backward reads the saved forward output y, as on the CPU. (ReLU as an op: pointwise.cu.)
#include "cuda_check.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::grid_stride_begin;
using ::dlcore::cuda::grid_stride_blocks;
using ::dlcore::cuda::grid_stride_step;
using ::dlcore::cuda::stream;

constexpr int kThreads = 256;

struct Relu {
  __device__ static float forward(float x) { return x > 0.0f ? x : 0.0f; }
  __device__ static float backward(float gy, float y) { return y > 0.0f ? gy : 0.0f; }
};
template <class Activation>
__global__ void activation_forward_kernel(const float* x, float* y, int64_t n) {
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step())
    y[i] = Activation::forward(x[i]);
}

template <class Activation>
__global__ void activation_backward_kernel(const float* gy, const float* y, float* gx, int64_t n) {
  for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step())
    gx[i] = Activation::backward(gy[i], y[i]);
}

template <class Activation>
void launch_forward(const float* x, float* y, int64_t n, const char* op_name) {
  if (n <= 0) return;
  activation_forward_kernel<Activation>
      <<<grid_stride_blocks(n, kThreads), kThreads, 0, stream()>>>(x, y, n);
  DLCORE_CUDA_CHECK_LAUNCH(op_name);
}

template <class Activation>
void launch_backward(const float* gy, const float* y, float* gx, int64_t n, const char* op_name) {
  if (n <= 0) return;
  activation_backward_kernel<Activation>
      <<<grid_stride_blocks(n, kThreads), kThreads, 0, stream()>>>(gy, y, gx, n);
  DLCORE_CUDA_CHECK_LAUNCH(op_name);
}

}  // namespace

void relu_forward(const float* x, float* y, int64_t n) {
  launch_forward<Relu>(x, y, n, "relu_forward");
}
void relu_backward(const float* gy, const float* y, float* gx, int64_t n) {
  launch_backward<Relu>(gy, y, gx, n, "relu_backward");
}
}  // namespace dlcore::kernels::cuda
