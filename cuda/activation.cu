// CUDA kernels for ReLU, sigmoid and tanh. Backward passes read the saved forward output y (not x),
// matching the CPU backend, so autograd only has to keep one tensor per activation.
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
struct Sigmoid {
  __device__ static float forward(float x) { return 1.0f / (1.0f + expf(-x)); }
  __device__ static float backward(float gy, float y) { return gy * y * (1.0f - y); }
};
// Not tanhf: under --use_fast_math it becomes tanh.approx (about 5e-4 relative error). expm1f
// keeps full accuracy near 0, and |x| > 9 already rounds to +-1 in float.
struct Tanh {
  __device__ static float forward(float x) {
    const float a = fabsf(x);
    if (a > 9.0f) return copysignf(1.0f, x);
    const float e = expm1f(2.0f * a);
    return copysignf(__fdiv_rn(e, e + 2.0f), x);
  }
  __device__ static float backward(float gy, float y) { return gy * (1.0f - y * y); }
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
void sigmoid_forward(const float* x, float* y, int64_t n) {
  launch_forward<Sigmoid>(x, y, n, "sigmoid_forward");
}
void sigmoid_backward(const float* gy, const float* y, float* gx, int64_t n) {
  launch_backward<Sigmoid>(gy, y, gx, n, "sigmoid_backward");
}
void tanh_forward(const float* x, float* y, int64_t n) {
  launch_forward<Tanh>(x, y, n, "tanh_forward");
}
void tanh_backward(const float* gy, const float* y, float* gx, int64_t n) {
  launch_backward<Tanh>(gy, y, gx, n, "tanh_backward");
}

}  // namespace dlcore::kernels::cuda
