// The op layer of the op table's pointwise ops: the generated definitions (ops_generated.cpp) call
// compute / compute_into, which check the inputs, apply PyTorch's type promotion and broadcasting,
// build the strided iteration (coalesced here, once), run the device's kernel and record the
// backward node. Python numbers arrive as wrapped-number tensors and reach kernels by value.
#pragma once
#include <initializer_list>
#include <vector>

#include "dlcore/kernels.h"
#include "dlcore/tensor.h"

namespace dlcore::ops::pointwise {

Tensor compute(PointwiseOp op, std::initializer_list<Tensor> inputs, const PointwiseArgs& args);
// In place: the result is written into `self` (the first input), which keeps its dtype and shape.
Tensor compute_into(const Tensor& self, PointwiseOp op, std::initializer_list<Tensor> inputs,
                    const PointwiseArgs& args);

// Operand k of an iteration: a tensor broadcast to the iteration's shape, or a wrapped number.
struct Operand {
  Tensor tensor;
  DType dtype;  // the element type the kernel reads or writes for this operand
};
// The coalesced iteration over `shape` of the operands (operand 0 is written). Wrapped numbers
// become by-value scalars converted to their operand's dtype.
PointwiseIter make_iter(const Shape& shape, const std::vector<Operand>& operands);

// dst[...] = src[...] converted to dst's dtype, element by element through both tensors' strides
// (src broadcast to dst's shape; the two may be on one device only, and must not overlap). The
// copies behind contiguous(), clone(), copy_ and to(dtype) all go through here.
void copy_elements(const Tensor& dst, const Tensor& src);

}  // namespace dlcore::ops::pointwise
