// Python's view of advanced indexing: x[key] and x[key] = value (the key parsed into IndexItems
// with PyTorch's rules, including its legacy reading of a short list that holds slices or
// sequences as a tuple), and the indexing ops as torch spells them on torch and on Tensor:
// index_put(_), masked_fill(_), masked_select, masked_scatter(_), nonzero, argwhere,
// index_add/copy/fill(_), gather, scatter(_), scatter_add(_), take, take_along_dim.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include "bindings.h"
#include "dlcore/ops.h"

namespace dlcore::bindings {
namespace {
using namespace pybind11::literals;

bool is_numpy_bool(const py::handle& item) {
  static py::handle numpy_bool = py::object(py::module_::import("numpy").attr("bool_")).release();
  return py::isinstance(item, numpy_bool);
}

// torch (2.13) still reads x[[0, slice(None)]] as x[0, :], with a warning, when a list of fewer
// than 32 items holds a tensor, a sequence, a slice, None or an Ellipsis; other lists are index tensors.
bool list_is_a_tuple(const py::handle& key) {
  if (!py::isinstance<py::list>(key)) return false;
  const py::list items = py::reinterpret_borrow<py::list>(key);
  if (items.size() >= 32) return false;
  for (const py::handle& item : items)
    if (py::isinstance<Tensor>(item) || py::isinstance<py::list>(item) || py::isinstance<py::tuple>(item) ||
        py::isinstance<py::array>(item) || py::isinstance<py::slice>(item) || item.is_none() || item.is(py::ellipsis()))
      return true;
  return false;
}

IndexItem parse_item(const py::handle& item) {
  if (item.is_none()) return IndexItem::none();
  if (item.is(py::ellipsis())) return IndexItem::ellipsis();
  if (py::isinstance<py::bool_>(item) || is_numpy_bool(item)) return IndexItem::boolean(PyObject_IsTrue(item.ptr()) == 1);
  if (py::isinstance<py::slice>(item)) {
    Py_ssize_t start, stop, step;
    if (PySlice_Unpack(item.ptr(), &start, &stop, &step) < 0) throw py::error_already_set();
    return IndexItem::slice(start, stop, step);
  }
  if (py::isinstance<Tensor>(item)) {
    const Tensor t = item.cast<Tensor>();
    if (t.defined() && t.dtype() == DType::UInt8 &&
        PyErr_WarnEx(PyExc_UserWarning,
                     "indexing with dtype dlcore.uint8 is now deprecated, please use a dtype dlcore.bool instead.", 1) < 0)
      throw py::error_already_set();
    return IndexItem::index(t);
  }
  if (py::isinstance<py::list>(item) || py::isinstance<py::tuple>(item) || py::isinstance<py::array>(item)) {
    if (py::isinstance<py::list>(item) && py::len(item) == 0) return IndexItem::index(Tensor::empty({0}, DType::Int64));
    return IndexItem::index(tensor_from_python(item, "__getitem__"));
  }
  if (PyIndex_Check(item.ptr())) {
    const py::int_ i = py::reinterpret_steal<py::int_>(PyNumber_Index(item.ptr()));
    if (!i) throw py::error_already_set();
    return IndexItem::integer(i.cast<int64_t>());
  }
  throw IndexError("__getitem__: only integers, slices (`:`), ellipsis (`...`), None, bools and long, int, byte or bool "
                   "tensors (or lists of them) are valid indices (got " + std::string(py::str(py::type::of(item).attr("__name__"))) + ")");
}

std::vector<IndexItem> parse_key(const py::object& key) {
  std::vector<IndexItem> items;
  if (py::isinstance<py::tuple>(key) || list_is_a_tuple(key)) {
    if (!py::isinstance<py::tuple>(key) &&
        PyErr_WarnEx(PyExc_UserWarning,
                     "Using a non-tuple sequence for multidimensional indexing is deprecated (as in torch); use "
                     "x[tuple(seq)] instead of x[seq]", 1) < 0)
      throw py::error_already_set();
    for (const py::handle& item : key) items.push_back(parse_item(item));
  } else {
    items.push_back(parse_item(key));
  }
  return items;
}

// A Python value to assign: tensors as they are (index_put_ converts and moves them, with autograd),
// numbers and sequences converted by numpy to the destination's dtype where numpy knows it.
Tensor value_for(const Tensor& dst, const py::object& value) {
  if (py::isinstance<Tensor>(value)) return value.cast<Tensor>();
  if (py::isinstance<py::bool_>(value) || py::isinstance<py::int_>(value) || py::isinstance<py::float_>(value)) {
    // A number becomes a 0-d tensor of dst's dtype on its device directly (x[i] = 0 in a loop stays cheap).
    const Tensor number = tensor_operand(value, "__setitem__");
    return Tensor::full({}, number.item(), dst.dtype(), dst.device());
  }
  py::object converted = value;
  try {
    converted = py::module_::import("numpy").attr("asarray")(value, "dtype"_a = dtype_name(dst.dtype()));
  } catch (py::error_already_set&) {
    // numpy lacks this dtype (bfloat16) or cannot convert the value: index_put_ casts or reports it.
  }
  return tensor_from_python(converted, "__setitem__");
}

Tensor getitem(const Tensor& x, const py::object& key) { return ops::index(x, parse_key(key)); }

void setitem(const Tensor& x, const py::object& key, const py::object& value) {
  const std::vector<IndexItem> items = parse_key(key);
  ops::index_put_(x, items, value_for(x, value), false);
}

// A value argument: a Python number (kept exact) or a tensor.
Tensor value_operand(const py::object& value, const char* op) { return tensor_operand(value, op); }

py::object nonzero_any(const Tensor& x, bool as_tuple) {
  if (!as_tuple) return py::cast(ops::nonzero(x));
  return py::tuple(py::cast(ops::nonzero_tuple(x)));
}

// torch's scatter(dim, index, src) and scatter(dim, index, value=...): exactly one of them.
Tensor scatter_source(const py::object& src, const py::object& value, const char* op) {
  if (src.is_none() == value.is_none())
    throw py::type_error(std::string(op) + "(): expected exactly one of src (a tensor or a number) and value (a number)");
  const py::object& given = src.is_none() ? value : src;
  if (!src.is_none() && py::isinstance<Tensor>(given)) return given.cast<Tensor>();
  if (!py::isinstance<py::bool_>(given) && !py::isinstance<py::int_>(given) && !py::isinstance<py::float_>(given))
    throw py::type_error(std::string(op) + "(): value must be a number, got " +
                         std::string(py::str(py::type::of(given).attr("__name__"))));
  return tensor_operand(given, op);
}

std::string reduce_of(const py::object& reduce) { return reduce.is_none() ? std::string() : reduce.cast<std::string>(); }

Tensor gather_checked(const Tensor& x, int64_t dim, const Tensor& index, bool sparse_grad) {
  if (sparse_grad) throw ValueError("gather: sparse_grad=True is not supported (dlcore has no sparse tensors)");
  return ops::gather(x, dim, index);
}

std::optional<int64_t> optional_dim(const py::object& dim) {
  if (dim.is_none()) return std::nullopt;
  return dim.cast<int64_t>();
}

}  // namespace

void bind_indexing(py::module_& m) {
  auto t = py::reinterpret_borrow<py::class_<Tensor>>(m.attr("Tensor"));
  t.def("__getitem__", &getitem)
      .def("__setitem__", &setitem)
      .def("index_put_", [](const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate) {
        return ops::index_put_(x, indices, values, accumulate);
      }, "indices"_a, "values"_a, "accumulate"_a = false)
      .def("index_put", &ops::index_put, "indices"_a, "values"_a, "accumulate"_a = false)
      .def("masked_fill", [](const Tensor& x, const Tensor& mask, const py::object& value) {
        return ops::masked_fill(x, mask, value_operand(value, "masked_fill"));
      }, "mask"_a, "value"_a)
      .def("masked_fill_", [](const Tensor& x, const Tensor& mask, const py::object& value) {
        return ops::masked_fill_(x, mask, value_operand(value, "masked_fill_"));
      }, "mask"_a, "value"_a)
      .def("masked_select", &ops::masked_select, "mask"_a)
      .def("masked_scatter", &ops::masked_scatter, "mask"_a, "source"_a)
      .def("masked_scatter_", &ops::masked_scatter_, "mask"_a, "source"_a)
      .def("nonzero", &nonzero_any, py::kw_only(), "as_tuple"_a = false)
      .def("argwhere", &ops::nonzero)
      .def("index_add", &ops::index_add, "dim"_a, "index"_a, "source"_a, py::kw_only(), "alpha"_a = 1.0)
      .def("index_add_", &ops::index_add_, "dim"_a, "index"_a, "source"_a, py::kw_only(), "alpha"_a = 1.0)
      .def("index_copy", &ops::index_copy, "dim"_a, "index"_a, "source"_a)
      .def("index_copy_", &ops::index_copy_, "dim"_a, "index"_a, "source"_a)
      .def("index_fill", [](const Tensor& x, int64_t dim, const Tensor& index, const py::object& value) {
        return ops::index_fill(x, dim, index, value_operand(value, "index_fill"));
      }, "dim"_a, "index"_a, "value"_a)
      .def("index_fill_", [](const Tensor& x, int64_t dim, const Tensor& index, const py::object& value) {
        return ops::index_fill_(x, dim, index, value_operand(value, "index_fill_"));
      }, "dim"_a, "index"_a, "value"_a)
      .def("gather", &gather_checked, "dim"_a, "index"_a, py::kw_only(), "sparse_grad"_a = false)
      .def("scatter", [](const Tensor& x, int64_t dim, const Tensor& index, const py::object& src, const py::object& value,
                         const py::object& reduce) {
        return ops::scatter(x, dim, index, scatter_source(src, value, "scatter"), reduce_of(reduce));
      }, "dim"_a, "index"_a, "src"_a = py::none(), py::kw_only(), "value"_a = py::none(), "reduce"_a = py::none())
      .def("scatter_", [](const Tensor& x, int64_t dim, const Tensor& index, const py::object& src, const py::object& value,
                          const py::object& reduce) {
        return ops::scatter_(x, dim, index, scatter_source(src, value, "scatter_"), reduce_of(reduce));
      }, "dim"_a, "index"_a, "src"_a = py::none(), py::kw_only(), "value"_a = py::none(), "reduce"_a = py::none())
      .def("scatter_add", &ops::scatter_add, "dim"_a, "index"_a, "src"_a)
      .def("scatter_add_", &ops::scatter_add_, "dim"_a, "index"_a, "src"_a)
      .def("take", &ops::take, "index"_a)
      .def("take_along_dim", [](const Tensor& x, const Tensor& indices, const py::object& dim) {
        return ops::take_along_dim(x, indices, optional_dim(dim));
      }, "indices"_a, "dim"_a = py::none());

  m.def("index_put", &ops::index_put, "input"_a, "indices"_a, "values"_a, "accumulate"_a = false);
  m.def("masked_fill", [](const Tensor& x, const Tensor& mask, const py::object& value) {
    return ops::masked_fill(x, mask, value_operand(value, "masked_fill"));
  }, "input"_a, "mask"_a, "value"_a);
  m.def("masked_select", &ops::masked_select, "input"_a, "mask"_a);
  m.def("masked_scatter", &ops::masked_scatter, "input"_a, "mask"_a, "source"_a);
  m.def("nonzero", &nonzero_any, "input"_a, py::kw_only(), "as_tuple"_a = false);
  m.def("argwhere", &ops::nonzero, "input"_a);
  m.def("index_add", &ops::index_add, "input"_a, "dim"_a, "index"_a, "source"_a, py::kw_only(), "alpha"_a = 1.0);
  m.def("index_copy", &ops::index_copy, "input"_a, "dim"_a, "index"_a, "source"_a);
  m.def("index_fill", [](const Tensor& x, int64_t dim, const Tensor& index, const py::object& value) {
    return ops::index_fill(x, dim, index, value_operand(value, "index_fill"));
  }, "input"_a, "dim"_a, "index"_a, "value"_a);
  m.def("gather", &gather_checked, "input"_a, "dim"_a, "index"_a, py::kw_only(), "sparse_grad"_a = false);
  m.def("scatter", [](const Tensor& x, int64_t dim, const Tensor& index, const py::object& src, const py::object& value,
                      const py::object& reduce) {
    return ops::scatter(x, dim, index, scatter_source(src, value, "scatter"), reduce_of(reduce));
  }, "input"_a, "dim"_a, "index"_a, "src"_a = py::none(), py::kw_only(), "value"_a = py::none(), "reduce"_a = py::none());
  m.def("scatter_add", &ops::scatter_add, "input"_a, "dim"_a, "index"_a, "src"_a);
  m.def("take", &ops::take, "input"_a, "index"_a);
  m.def("take_along_dim", [](const Tensor& x, const Tensor& indices, const py::object& dim) {
    return ops::take_along_dim(x, indices, optional_dim(dim));
  }, "input"_a, "indices"_a, "dim"_a = py::none());
}

}  // namespace dlcore::bindings
