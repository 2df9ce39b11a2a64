// Declarations shared by the pybind11 binding files: one bind_* function per area, and the
// Parameter type (a Tensor that Module.__setattr__ registers as a parameter).
#pragma once
#include <pybind11/pybind11.h>

#include "dlcore/tensor.h"

namespace dlcore::bindings {

namespace py = pybind11;

// A Tensor handle whose Python type says "register me as a parameter", like torch.nn.Parameter.
struct Parameter : Tensor {
  explicit Parameter(const Tensor& t) : Tensor(t.impl()) {}
};

// Tensor from a Python value: a dlcore Tensor, or anything numpy can convert (lists, arrays, torch
// CPU tensors), copied into new storage. Floats become float32, integers int64, uint8 stays uint8.
Tensor tensor_from_python(const py::handle& value, const char* op);

void bind_tensor(py::module_& m);
void bind_views(py::module_& m);  // after bind_tensor: adds methods to its Tensor class
void bind_functional(py::module_& m);
void bind_nn(py::module_& m);
void bind_optim(py::module_& m);
void bind_cuda(py::module_& m);

}  // namespace dlcore::bindings
