// Python's view of the strided-view ops: Tensor methods (permute, view, split, ...), dl.cat /
// dl.stack and friends, and the ShapeError exception (both a ValueError and a RuntimeError) those ops
// raise for sizes that don't fit. Subscripts and the indexing ops: index_bindings.cpp.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "dlcore/ops.h"

namespace dlcore::bindings {
namespace {
using namespace pybind11::literals;

// Sizes or dims given either as separate ints, x.permute(1, 0), or as one sequence, x.permute((1, 0)).
std::vector<int64_t> ints_from_args(const py::args& args) {
  if (args.size() == 1 && (py::isinstance<py::tuple>(args[0]) || py::isinstance<py::list>(args[0])))
    return args[0].cast<std::vector<int64_t>>();
  return args.cast<std::vector<int64_t>>();
}

std::vector<int64_t> dims_from(const py::object& dim) {
  if (py::isinstance<py::int_>(dim)) return {dim.cast<int64_t>()};
  return dim.cast<std::vector<int64_t>>();
}

py::tuple as_tuple(const std::vector<Tensor>& tensors) { return py::tuple(py::cast(tensors)); }

std::vector<Tensor> split_any(const Tensor& x, const py::object& split_size_or_sections, int64_t dim) {
  if (py::isinstance<py::int_>(split_size_or_sections)) return ops::split(x, split_size_or_sections.cast<int64_t>(), dim);
  return ops::split_with_sizes(x, split_size_or_sections.cast<std::vector<int64_t>>(), dim);
}

Tensor squeeze_any(const Tensor& x, const py::object& dim) {
  return dim.is_none() ? ops::squeeze(x) : ops::squeeze(x, dims_from(dim));
}

int64_t checked_dim(const Tensor& x, int64_t dim, const char* op) {
  const int64_t n = x.dim();
  if (dim < -n || dim >= n)
    throw IndexError(std::string(op) + ": dimension out of range (expected to be in range of [" + std::to_string(-n) +
                     ", " + std::to_string(n - 1) + "], but got " + std::to_string(dim) + ")");
  return dim < 0 ? dim + n : dim;
}

}  // namespace

void bind_views(py::module_& m) {
  // class ShapeError(ValueError, RuntimeError): what the C++ ShapeError becomes in Python.
  static py::handle shape_error = py::module_::import("builtins").attr("type")(
      "ShapeError", py::make_tuple(py::handle(PyExc_ValueError), py::handle(PyExc_RuntimeError)),
      py::dict("__module__"_a = "dlcore", "__doc__"_a = "Sizes that don't fit together; both a ValueError and a RuntimeError."))
      .release();
  m.attr("ShapeError") = shape_error;
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ShapeError& e) {
      PyErr_SetString(shape_error.ptr(), e.what());
    }
  });

  auto t = py::reinterpret_borrow<py::class_<Tensor>>(m.attr("Tensor"));
  t.def("permute", [](const Tensor& x, py::args dims) { return ops::permute(x, ints_from_args(dims)); })
      .def("transpose", &ops::transpose, "dim0"_a, "dim1"_a)
      .def("t", &ops::t)
      .def_property_readonly("T", [](const Tensor& x) {
        std::vector<int64_t> reversed;
        for (int64_t d = x.dim(); d-- > 0;) reversed.push_back(d);
        return ops::permute(x, reversed);
      })
      .def_property_readonly("mT", [](const Tensor& x) {
        if (x.dim() < 2) throw ShapeError("mT: expects a tensor with at least 2 dimensions, got shape " + shape_str(x.shape()));
        return ops::transpose(x, -2, -1);
      })
      .def("unsqueeze", &ops::unsqueeze, "dim"_a)
      .def("squeeze", &squeeze_any, "dim"_a = py::none())
      .def("expand", [](const Tensor& x, py::args sizes) { return ops::expand(x, ints_from_args(sizes)); })
      .def("expand_as", [](const Tensor& x, const Tensor& other) { return ops::expand(x, other.shape()); }, "other"_a)
      .def("narrow", &ops::narrow, "dim"_a, "start"_a, "length"_a)
      .def("select", &ops::select, "dim"_a, "index"_a)
      .def("split", [](const Tensor& x, const py::object& s, int64_t dim) { return as_tuple(split_any(x, s, dim)); },
           "split_size"_a, "dim"_a = 0)
      .def("chunk", [](const Tensor& x, int64_t chunks, int64_t dim) { return as_tuple(ops::chunk(x, chunks, dim)); },
           "chunks"_a, "dim"_a = 0)
      .def("unbind", [](const Tensor& x, int64_t dim) { return as_tuple(ops::unbind(x, dim)); }, "dim"_a = 0)
      .def("unflatten", [](const Tensor& x, int64_t dim, const Shape& sizes) { return ops::unflatten(x, dim, sizes); },
           "dim"_a, "sizes"_a)
      .def("diagonal", &ops::diagonal, "offset"_a = 0, "dim1"_a = 0, "dim2"_a = 1)
      .def("view", [](const Tensor& x, py::args shape) { return ops::view(x, ints_from_args(shape)); })
      .def("reshape", [](const Tensor& x, py::args shape) { return ops::reshape(x, ints_from_args(shape)); })
      .def("contiguous", &ops::contiguous)
      .def("is_contiguous", &Tensor::is_contiguous)
      .def("stride", [](const Tensor& x, const py::object& dim) -> py::object {
        if (dim.is_none()) return py::tuple(py::cast(x.strides()));
        return py::int_(x.strides()[checked_dim(x, dim.cast<int64_t>(), "stride")]);
      }, "dim"_a = py::none())
      .def("storage_offset", &Tensor::storage_offset)
      .def("index_select", &ops::index_select, "dim"_a, "index"_a);

  auto cat = [](const std::vector<Tensor>& tensors, int64_t dim) { return ops::cat(tensors, dim); };
  m.def("cat", cat, "tensors"_a, "dim"_a = 0);
  m.def("concat", cat, "tensors"_a, "dim"_a = 0);
  m.def("stack", &ops::stack, "tensors"_a, "dim"_a = 0);
  m.def("permute", &ops::permute, "input"_a, "dims"_a);
  m.def("transpose", &ops::transpose, "input"_a, "dim0"_a, "dim1"_a);
  m.def("unsqueeze", &ops::unsqueeze, "input"_a, "dim"_a);
  m.def("squeeze", &squeeze_any, "input"_a, "dim"_a = py::none());
  m.def("narrow", &ops::narrow, "input"_a, "dim"_a, "start"_a, "length"_a);
  m.def("select", &ops::select, "input"_a, "dim"_a, "index"_a);
  m.def("split", [](const Tensor& x, const py::object& s, int64_t dim) { return as_tuple(split_any(x, s, dim)); },
        "tensor"_a, "split_size_or_sections"_a, "dim"_a = 0);
  m.def("chunk", [](const Tensor& x, int64_t chunks, int64_t dim) { return as_tuple(ops::chunk(x, chunks, dim)); },
        "input"_a, "chunks"_a, "dim"_a = 0);
  m.def("unbind", [](const Tensor& x, int64_t dim) { return as_tuple(ops::unbind(x, dim)); }, "input"_a, "dim"_a = 0);
  m.def("index_select", &ops::index_select, "input"_a, "dim"_a, "index"_a);
}

}  // namespace dlcore::bindings
