// Shared argument checks and helpers for the op layer: every error names the op and the tensors
// at fault, and broadcasting is computed once here for every elementwise op.
#pragma once
#include <optional>
#include <string>

#include "../dispatch.h"
#include "dlcore/autograd.h"
#include "dlcore/ops.h"

namespace dlcore::ops {

void check_defined(const Tensor& t, const char* op, const char* name);
void check_float(const Tensor& t, const char* op, const char* name);   // defined float32
// The dtype that float16/bfloat16 operands of a float32 kernel (GEMM, convolution) share, or
// nullopt when none is 16-bit: such ops convert them to float32, compute (accumulating in float32,
// as PyTorch does) and round the result once back, with gradients through the conversions.
std::optional<DType> sixteen_bit_dtype(std::initializer_list<const Tensor*> operands, const char* op);
Tensor as_float32(const Tensor& t);  // undefined stays undefined
void check_dim(const Tensor& t, int64_t dim, const char* op, const char* name);
void check_same_device(const Tensor& a, const Tensor& b, const char* op);
int64_t normalize_dim(int64_t dim, int64_t ndim, const char* op);
// The same for the view and indexing ops, which raise IndexError like torch; a 0-D tensor accepts
// dim 0 and -1.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

// The shape a and b broadcast to (torch's rules); ValueError naming op and both shapes otherwise.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// Sum of grad (shape `from`) down to shape `to` (broadcast rules), or grad itself when equal: the
// reduction kernel over the broadcast dimensions, recorded like any sum (so double backward works).
Tensor sum_to_shape(const Tensor& grad, const Shape& to);

// A tensor of `shape` filled with scale * scalar, where scalar is a one-element tensor on the device:
// the gradient of a reduction, spread without reading the scalar on the host.
Tensor spread_scalar(const Tensor& scalar, const Shape& shape, float scale);

// The epilogue of conv2d / linear on their output y [N, C, inner]: y += bias (when defined) and,
// when relu, y = max(0, y), in one kernel; relu_grad is the gradient back through that ReLU, from
// the output it saved: g * (y > 0).
void bias_relu_epilogue(const Tensor& y, const Tensor& bias, int64_t N, int64_t C, int64_t inner, bool relu);
Tensor relu_grad(const Tensor& g, const Tensor& y);

}  // namespace dlcore::ops
