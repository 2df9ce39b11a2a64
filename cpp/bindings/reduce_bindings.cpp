// Python surfaces of the reductions with torch's signatures: dim as None, an int or a tuple/list,
// keepdim, keyword-only dtype, and max/min's three forms (all elements, along a dim as a
// (values, indices) named tuple, or elementwise against another tensor).
#include <pybind11/stl.h>

#include "bindings.h"
#include "dlcore/ops.h"

namespace dlcore::bindings {
namespace {

using namespace pybind11::literals;

// None, an int, or a sequence of ints; empty means every dimension (torch's dim=None and dim=()).
std::vector<int64_t> dims_of(const py::object& dim) {
  if (dim.is_none()) return {};
  if (py::isinstance<py::int_>(dim)) return {dim.cast<int64_t>()};
  if (py::isinstance<py::tuple>(dim) || py::isinstance<py::list>(dim)) return dim.cast<std::vector<int64_t>>();
  throw py::type_error("dim must be None, an int or a tuple of ints, got " + std::string(py::str(py::type::of(dim))));
}

std::optional<DType> dtype_of(const py::object& dtype) {
  if (dtype.is_none()) return std::nullopt;
  return dtype.cast<DType>();
}

// Tensor.max(), Tensor.max(dim, keepdim) and Tensor.max(other).
py::object max_or_min(bool is_max, const Tensor& x, const py::object& dim, bool keepdim, const py::object& result_type) {
  if (dim.is_none()) return py::cast(is_max ? ops::max(x) : ops::min(x));
  if (py::isinstance<Tensor>(dim)) {
    const Tensor other = dim.cast<Tensor>();
    return py::cast(is_max ? ops::maximum(x, other) : ops::minimum(x, other));
  }
  if (!py::isinstance<py::int_>(dim))
    throw py::type_error(std::string(is_max ? "max" : "min") + "(): dim must be an int or the other tensor, got " +
                         std::string(py::str(py::type::of(dim))));
  const ops::ValuesIndices r = is_max ? ops::max(x, dim.cast<int64_t>(), keepdim) : ops::min(x, dim.cast<int64_t>(), keepdim);
  return result_type(r.values, r.indices);
}

}  // namespace

void bind_reductions(py::module_& m, py::module_& functional, py::class_<Tensor>& tensor) {
  // torch.return_types.max / min: named tuples with .values and .indices.
  auto return_types = m.def_submodule("return_types", "Named tuples returned by max(dim) and min(dim)");
  const py::object namedtuple = py::module_::import("collections").attr("namedtuple");
  const py::object max_type = namedtuple("max", py::make_tuple("values", "indices"), "module"_a = "dlcore.return_types");
  const py::object min_type = namedtuple("min", py::make_tuple("values", "indices"), "module"_a = "dlcore.return_types");
  return_types.attr("max") = max_type;
  return_types.attr("min") = min_type;

  auto sum = [](const Tensor& x, const py::object& dim, bool keepdim, const py::object& dtype) {
    return ops::sum(x, dims_of(dim), keepdim, dtype_of(dtype));
  };
  auto mean = [](const Tensor& x, const py::object& dim, bool keepdim, const py::object& dtype) {
    return ops::mean(x, dims_of(dim), keepdim, dtype_of(dtype));
  };
  auto prod = [](const Tensor& x, std::optional<int64_t> dim, bool keepdim, const py::object& dtype) {
    return ops::prod(x, dim, keepdim, dtype_of(dtype));
  };
  auto amax = [](const Tensor& x, const py::object& dim, bool keepdim) { return ops::amax(x, dims_of(dim), keepdim); };
  auto amin = [](const Tensor& x, const py::object& dim, bool keepdim) { return ops::amin(x, dims_of(dim), keepdim); };
  auto max = [max_type](const Tensor& x, const py::object& dim, bool keepdim) { return max_or_min(true, x, dim, keepdim, max_type); };
  auto min = [min_type](const Tensor& x, const py::object& dim, bool keepdim) { return max_or_min(false, x, dim, keepdim, min_type); };
  auto argmax = [](const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return ops::argmax(x, dim, keepdim); };
  auto argmin = [](const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return ops::argmin(x, dim, keepdim); };

  for (py::module_* module : {&m, &functional}) {
    module->def("sum", sum, "input"_a, "dim"_a = py::none(), "keepdim"_a = false, py::kw_only(), "dtype"_a = py::none());
    module->def("mean", mean, "input"_a, "dim"_a = py::none(), "keepdim"_a = false, py::kw_only(), "dtype"_a = py::none());
    module->def("argmax", argmax, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  }
  m.def("prod", prod, "input"_a, "dim"_a = py::none(), "keepdim"_a = false, py::kw_only(), "dtype"_a = py::none());
  m.def("amax", amax, "input"_a, "dim"_a = py::tuple(), "keepdim"_a = false);
  m.def("amin", amin, "input"_a, "dim"_a = py::tuple(), "keepdim"_a = false);
  m.def("max", max, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  m.def("min", min, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  m.def("argmin", argmin, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);

  tensor.def("sum", sum, "dim"_a = py::none(), "keepdim"_a = false, py::kw_only(), "dtype"_a = py::none())
      .def("mean", mean, "dim"_a = py::none(), "keepdim"_a = false, py::kw_only(), "dtype"_a = py::none())
      .def("prod", prod, "dim"_a = py::none(), "keepdim"_a = false, py::kw_only(), "dtype"_a = py::none())
      .def("amax", amax, "dim"_a = py::tuple(), "keepdim"_a = false)
      .def("amin", amin, "dim"_a = py::tuple(), "keepdim"_a = false)
      .def("max", max, "dim"_a = py::none(), "keepdim"_a = false)
      .def("min", min, "dim"_a = py::none(), "keepdim"_a = false)
      .def("argmax", argmax, "dim"_a = py::none(), "keepdim"_a = false)
      .def("argmin", argmin, "dim"_a = py::none(), "keepdim"_a = false);
}

}  // namespace dlcore::bindings
