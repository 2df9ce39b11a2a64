// Python's view of the strided-view and indexing ops: Tensor methods (permute, view, split, ...),
// x[...] and x[...] = value with PyTorch's indexing rules, dl.cat / dl.stack and friends, and the
// ShapeError exception (both a ValueError and a RuntimeError) those ops raise for sizes that don't fit.
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

// A 0-D int64 tensor indexes like the int it holds (as in torch); other tensors, lists and arrays
// are index tensors.
bool is_int_tensor_scalar(const py::handle& item) {
  if (!py::isinstance<Tensor>(item)) return false;
  const Tensor t = item.cast<Tensor>();
  return t.dim() == 0 && t.dtype() == DType::Int64;
}

bool is_index_sequence(const py::handle& item) {
  if (is_int_tensor_scalar(item)) return false;
  return py::isinstance<Tensor>(item) || py::isinstance<py::list>(item) || py::isinstance<py::array>(item);
}

// A Python value as a tensor of the destination's dtype and device: numbers and sequences are
// converted by numpy to that dtype where numpy knows it.
Tensor value_for(const Tensor& dst, const py::object& value) {
  if (py::isinstance<Tensor>(value)) return value.cast<Tensor>().to(dst.device());
  py::object converted = value;
  try {
    converted = py::module_::import("numpy").attr("asarray")(value, "dtype"_a = dtype_name(dst.dtype()));
  } catch (py::error_already_set&) {
    // numpy lacks this dtype (or cannot convert the value): let copy_ report the mismatch.
  }
  return tensor_from_python(converted, "__setitem__").to(dst.device());
}

// The result of x[key]'s basic indexing (ints, slices, None, Ellipsis), and the one index tensor
// left to apply, if any, with the dimension it applies to.
struct Indexed {
  Tensor view;
  Tensor index;
  int64_t index_dim = -1;
};

Indexed apply_basic_indexing(const Tensor& x, const py::object& key) {
  py::tuple items = py::isinstance<py::tuple>(key) ? py::reinterpret_borrow<py::tuple>(key) : py::make_tuple(key);
  int64_t consumed = 0, ellipses = 0;
  for (const py::handle& item : items) {
    if (item.is_none()) continue;
    if (item.is(py::ellipsis())) {
      ++ellipses;
    } else if (py::isinstance<py::bool_>(item)) {
      throw IndexError("__getitem__: boolean indices are not supported");
    } else if (py::isinstance<py::slice>(item) || py::isinstance<Tensor>(item) || is_index_sequence(item) ||
               PyIndex_Check(item.ptr())) {
      ++consumed;
    } else {
      throw IndexError("__getitem__: only integers, slices (`:`), ellipsis (`...`), None and int64 tensors or lists of "
                       "ints are valid indices, got " + std::string(py::str(py::type::of(item))));
    }
  }
  if (ellipses > 1) throw IndexError("__getitem__: an index can only have a single ellipsis ('...')");
  if (consumed > x.dim())
    throw IndexError("__getitem__: too many indices for tensor of dimension " + std::to_string(x.dim()) + " (shape " +
                     shape_str(x.shape()) + ")");
  Indexed result{x, Tensor(), -1};
  Tensor& out = result.view;
  int64_t d = 0;
  for (const py::handle& item : items) {
    if (item.is_none()) {
      out = ops::unsqueeze(out, d++);
    } else if (item.is(py::ellipsis())) {
      d += x.dim() - consumed;
    } else if (py::isinstance<py::slice>(item)) {
      Py_ssize_t start, stop, step;
      if (PySlice_Unpack(item.ptr(), &start, &stop, &step) < 0) throw py::error_already_set();
      if (step <= 0) throw ValueError("__getitem__: step must be greater than zero, got " + std::to_string(step));
      out = ops::slice(out, d++, start, stop, step);
    } else if (is_index_sequence(item)) {
      if (result.index.defined())
        throw IndexError("__getitem__: indexing with more than one index tensor (or list) is not supported");
      result.index = tensor_from_python(item, "__getitem__");
      result.index_dim = d++;
    } else {
      const int64_t size = out.size(d);
      const int64_t i = is_int_tensor_scalar(item) ? static_cast<int64_t>(item.cast<Tensor>().item())
                                                   : py::reinterpret_borrow<py::object>(item).cast<int64_t>();
      if (i < -size || i >= size)
        throw IndexError("__getitem__: index " + std::to_string(i) + " is out of bounds for dimension " +
                         std::to_string(d) + " with size " + std::to_string(size));
      out = ops::select(out, d, i);
    }
  }
  return result;
}

Tensor getitem(const Tensor& x, const py::object& key) {
  Indexed r = apply_basic_indexing(x, key);
  if (!r.index.defined()) return r.view;
  return ops::index(r.view, r.index_dim, r.index.to(r.view.device()));
}

void setitem(Tensor& x, const py::object& key, const py::object& value) {
  Indexed r = apply_basic_indexing(x, key);
  Tensor src = value_for(x, value);
  if (!r.index.defined()) {
    r.view.copy_(src);
    return;
  }
  // x[..., index, ...] = value: each indexed slab receives its part of value broadcast to the
  // shape of x[key]; a position given twice keeps the last write.
  if (r.index.dtype() != DType::Int64)
    throw IndexError("__setitem__: tensors used as indices must be int64, got " + r.index.describe());
  if (r.index.dim() > 1) throw IndexError("__setitem__: index tensors with more than one dimension are not supported");
  Tensor host = r.index.to(Device::cpu()).contiguous();
  const int64_t* positions = host.data<int64_t>();
  const int64_t size = r.view.size(r.index_dim);
  auto slab = [&](int64_t p) {
    if (p < -size || p >= size)
      throw IndexError("__setitem__: index " + std::to_string(p) + " is out of bounds for dimension " +
                       std::to_string(r.index_dim) + " with size " + std::to_string(size));
    return ops::select(r.view, r.index_dim, p);
  };
  if (r.index.dim() == 0) return slab(positions[0]).copy_(src);
  Shape target_shape = r.view.shape();
  target_shape[r.index_dim] = r.index.numel();
  Tensor values = ops::expand(src, target_shape);
  for (int64_t i = 0; i < r.index.numel(); ++i) slab(positions[i]).copy_(ops::select(values, r.index_dim, i));
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
      .def("index_select", &ops::index_select, "dim"_a, "index"_a)
      .def("__getitem__", &getitem)
      .def("__setitem__", &setitem);

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
