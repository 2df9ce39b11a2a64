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
// A Tensor argument of an op: a tensor, a Python number (a wrapped number, see
// Tensor::wrapped_number) or data as tensor_from_python takes it.
Tensor tensor_operand(const py::handle& value, const char* op);

// A device argument as torch takes one: a dl.device, a string ("cuda:1") or a CUDA index.
Device device_from_python(const py::handle& device);

// The op table's surfaces (generated from cpp/op_table.py: bindings_generated.cpp).
void bind_generated_ops(py::module_& m, py::module_& functional, py::class_<Tensor>& tensor);

// A Python object that C++ may copy freely and drop from any thread: the last copy releases it with
// the GIL held. Hooks and module hook state hold Python callables this way.
std::shared_ptr<py::object> keep_python_object(py::object value);

void bind_tensor(py::module_& m);
void bind_views(py::module_& m);  // after bind_tensor: adds methods to its Tensor class
void bind_indexing(py::module_& m);  // after bind_tensor: x[key], x[key] = v and the indexing ops
void bind_functional(py::module_& m);
void bind_layer_norm(py::module_& functional);  // the fused layer norm (layer_norm_bindings.cpp)
// sum, mean, prod, amax, amin, max, min, argmax, argmin on dl, dl.nn.functional and Tensor; after
// bind_generated_ops, since Tensor.max/min with another tensor fall back to maximum/minimum.
void bind_reductions(py::module_& m, py::module_& functional, py::class_<Tensor>& tensor);
// var std logsumexp norm all any sort argsort topk unique cumsum cumprod clone flip roll repeat tril
// triu mm bmm matmul addmm dot outer einsum, and grad_fn.next_functions; after bind_reductions (it
// adds to dl.return_types) and bind_tensor (it replaces Tensor.matmul, __matmul__ and clone).
void bind_tensor_surface(py::module_& m, py::class_<Tensor>& tensor);
void bind_nn(py::module_& m);
void bind_hooks(py::module_& m);  // needs Tensor bound (bind_tensor) first
void bind_optim(py::module_& m);
void bind_cuda(py::module_& m, py::class_<Tensor>& tensor);  // adds Tensor.record_stream
void bind_profiler(py::module_& m);

}  // namespace dlcore::bindings
