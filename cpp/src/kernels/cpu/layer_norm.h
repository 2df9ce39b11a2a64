// The CPU layer-norm kernels (row-wise over [rows, cols], statistics in double), declared apart from
// kernel_list.inc because there is no CUDA counterpart yet: ops/layer_norm.cpp calls them directly
// and refuses CUDA tensors. Internal to cpp/src.
#pragma once
#include <cstdint>

namespace dlcore::kernels::cpu {

// y = (x - mean) * rstd * gamma + beta per row; gamma/beta may be null (no affine). mean and rstd
// ([rows]) are saved for the backward.
void layer_norm_forward(const float* x, const float* gamma, const float* beta, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t cols, float eps);
// gx from gy (gx may be null); ggamma = sum over rows of gy * x_hat and gbeta = sum of gy (either may
// be null; gamma may be null when there is no affine weight).
void layer_norm_backward(const float* gy, const float* x, const float* mean, const float* rstd, const float* gamma,
                         float* gx, float* ggamma, float* gbeta, int64_t rows, int64_t cols);

}  // namespace dlcore::kernels::cpu
