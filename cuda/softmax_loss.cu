// CUDA kernels for softmax, log-softmax and the fused cross-entropy loss over rows of x = [N, C].
// A warp owns a row when C is small (classifiers: C = 10 or 100) and a whole block when it is large;
// every row is max-subtracted so exp never overflows. A target outside [0, C) sets the device error
// flag (reported by the next synchronize) and makes that row's loss NaN.
#include "cuda_check.h"
#include "dlcore/kernels.h"
#include "row_groups.cuh"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::launch_rows;
using ::dlcore::cuda::MaxOp;
using ::dlcore::cuda::record_device_error;
using ::dlcore::cuda::RowGroup;
using ::dlcore::cuda::SumOp;
constexpr int kThreads = ::dlcore::cuda::kRowThreads;

// Max and log of the sum of exp(x - max) for one row, shared by every group member.
template <int G>
__device__ inline void row_log_normalizer(const RowGroup<G>& group, const float* row, int64_t C,
                                          float* scratch, float& max_value, float& log_sum) {
  float m = -INFINITY;
  for (int64_t c = group.lane; c < C; c += G) m = fmaxf(m, row[c]);
  max_value = group.reduce(m, MaxOp{}, -INFINITY, scratch);
  float sum = 0.0f;
  for (int64_t c = group.lane; c < C; c += G) sum += expf(row[c] - max_value);
  log_sum = logf(group.reduce(sum, SumOp{}, 0.0f, scratch));
}

template <int G, bool Log>
__global__ void softmax_forward_kernel(const float* x, float* y, int64_t N, int64_t C) {
  __shared__ float scratch[32];
  const RowGroup<G> group;
  for (int64_t n = group.first_row; n < N; n += group.row_step) {
    const float* row = x + n * C;
    float max_value, log_sum;
    row_log_normalizer(group, row, C, scratch, max_value, log_sum);
    for (int64_t c = group.lane; c < C; c += G) {
      const float shifted = row[c] - max_value - log_sum;
      y[n * C + c] = Log ? shifted : expf(shifted);
    }
  }
}

// Log: gx = gy - exp(y) * sum(gy).  Not log: gx = y * (gy - sum(gy * y)).
template <int G, bool Log>
__global__ void softmax_backward_kernel(const float* gy, const float* y, float* gx, int64_t N,
                                        int64_t C) {
  __shared__ float scratch[32];
  const RowGroup<G> group;
  for (int64_t n = group.first_row; n < N; n += group.row_step) {
    const float* gy_row = gy + n * C;
    const float* y_row = y + n * C;
    float partial = 0.0f;
    for (int64_t c = group.lane; c < C; c += G) partial += Log ? gy_row[c] : gy_row[c] * y_row[c];
    const float total = group.reduce(partial, SumOp{}, 0.0f, scratch);
    for (int64_t c = group.lane; c < C; c += G) {
      gx[n * C + c] = Log ? gy_row[c] - expf(y_row[c]) * total : y_row[c] * (gy_row[c] - total);
    }
  }
}

template <int G>
__global__ void cross_entropy_forward_kernel(const float* logits, const int64_t* target,
                                             float* logp, float* loss, int64_t N, int64_t C,
                                             float smoothing, int* error_flag) {
  __shared__ float scratch[32];
  const RowGroup<G> group;
  for (int64_t n = group.first_row; n < N; n += group.row_step) {
    const float* row = logits + n * C;
    float max_value, log_sum;
    row_log_normalizer(group, row, C, scratch, max_value, log_sum);
    float sum_logp = 0.0f;
    for (int64_t c = group.lane; c < C; c += G) {
      const float value = row[c] - max_value - log_sum;
      logp[n * C + c] = value;
      sum_logp += value;
    }
    sum_logp = group.reduce(sum_logp, SumOp{}, 0.0f, scratch);
    if (group.lane == 0) {
      const int64_t t = target[n];
      if (t < 0 || t >= C) {
        record_device_error(error_flag, ::dlcore::cuda::kCrossEntropyTargetOutOfRange);
        loss[n] = __int_as_float(0x7fc00000);  // NaN
      } else {
        const float target_logp = row[t] - max_value - log_sum;
        loss[n] = -(1.0f - smoothing) * target_logp - smoothing / static_cast<float>(C) * sum_logp;
      }
    }
  }
}

template <int G>
__global__ void cross_entropy_backward_kernel(const float* logp, const int64_t* target,
                                              const float* gloss, float* glogits, int64_t N,
                                              int64_t C, float smoothing, int* error_flag) {
  const RowGroup<G> group;
  const float uniform = smoothing / static_cast<float>(C);
  for (int64_t n = group.first_row; n < N; n += group.row_step) {
    const int64_t t = target[n];
    const bool valid = t >= 0 && t < C;
    if (!valid && group.lane == 0)
      record_device_error(error_flag, ::dlcore::cuda::kCrossEntropyTargetOutOfRange);
    const float g = valid ? gloss[n] : __int_as_float(0x7fc00000);
    for (int64_t c = group.lane; c < C; c += G) {
      const float hit = c == t ? 1.0f - smoothing : 0.0f;
      glogits[n * C + c] = g * (expf(logp[n * C + c]) - hit - uniform);
    }
  }
}

}  // namespace

void log_softmax_forward(const float* x, float* y, int64_t N, int64_t C) {
  launch_rows(softmax_forward_kernel<32, true>, softmax_forward_kernel<kThreads, true>,
              "log_softmax_forward", N, C, x, y, N, C);
}

void log_softmax_backward(const float* gy, const float* y, float* gx, int64_t N, int64_t C) {
  launch_rows(softmax_backward_kernel<32, true>, softmax_backward_kernel<kThreads, true>,
              "log_softmax_backward", N, C, gy, y, gx, N, C);
}

void softmax_forward(const float* x, float* y, int64_t N, int64_t C) {
  launch_rows(softmax_forward_kernel<32, false>, softmax_forward_kernel<kThreads, false>,
              "softmax_forward", N, C, x, y, N, C);
}

void softmax_backward(const float* gy, const float* y, float* gx, int64_t N, int64_t C) {
  launch_rows(softmax_backward_kernel<32, false>, softmax_backward_kernel<kThreads, false>,
              "softmax_backward", N, C, gy, y, gx, N, C);
}

void cross_entropy_forward(const float* logits, const int64_t* target, float* logp, float* loss,
                           int64_t N, int64_t C, float label_smoothing) {
  if (N <= 0 || C <= 0) return;
  launch_rows(cross_entropy_forward_kernel<32>, cross_entropy_forward_kernel<kThreads>,
              "cross_entropy_forward", N, C, logits, target, logp, loss, N, C, label_smoothing,
              ::dlcore::cuda::device_error_flag());
}

void cross_entropy_backward(const float* logp, const int64_t* target, const float* gloss,
                            float* glogits, int64_t N, int64_t C, float label_smoothing) {
  if (N <= 0 || C <= 0) return;
  launch_rows(cross_entropy_backward_kernel<32>, cross_entropy_backward_kernel<kThreads>,
              "cross_entropy_backward", N, C, logp, target, gloss, glogits, N, C,
              label_smoothing, ::dlcore::cuda::device_error_flag());
}

}  // namespace dlcore::kernels::cuda
