// Winograd F(4x4, 3x3) convolution for the CPU backend: 3x3 stride-1 convolutions (most of a
// ResNet or VGG) computed with 36 multiplications per 4x4 output tile instead of 144. conv.cpp
// routes the shapes where it applies here; everything else keeps the GEMM lowerings. Internal to
// cpp/src/kernels/cpu.
#pragma once
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {

// Whether the Winograd kernels handle `s`: 3x3, stride 1, no dilation, one group, padding 0..2,
// and channel counts that fill whole vectors (the transforms keep channels in the vector lanes)
// with enough of them that the GEMMs, not the transforms, dominate.
bool winograd_applies(const Conv2dShape& s);

// y = conv(x, w) for a shape winograd_applies() accepts (NCHW, weight [K, C, 3, 3]).
void winograd_conv2d_forward(const float* x, const float* w, float* y, const Conv2dShape& s);

// gw = dL/dw from x and gy = dL/dy, for a shape winograd_applies() accepts.
void winograd_conv2d_backward_weight(const float* x, const float* gy, float* gw,
                                     const Conv2dShape& s);

}  // namespace dlcore::kernels::cpu
