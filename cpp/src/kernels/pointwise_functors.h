// The math of every pointwise op in cpp/op_table.py, written once for the CPU and CUDA backends:
// one functor per row, named by the row's `functor`, in the header of its family under functors/.
// A functor has kArity inputs; forward(in, args) computes one result and, for differentiable ops,
// backward(k, gy, in, y, args) the gradient w.r.t. input k from the upstream gradient gy, the
// inputs and the result y. C is the compute type (float for float16/bfloat16: opmath_t). A row
// without its functor fails to compile in pointwise_dispatch.h, naming the missing functor.
#pragma once
#include "functors/activation.h"
#include "functors/binary.h"
#include "functors/logic.h"
#include "functors/unary.h"
