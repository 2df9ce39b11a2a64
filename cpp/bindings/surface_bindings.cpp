// Python surfaces, with torch's signatures, of the statistics, sorting/scan, rearranging and
// matmul-family ops (cpp/src/ops/statistics.cpp, sorting.cpp, rearrange.cpp, matmul.cpp,
// einsum.cpp) on dl and Tensor; Tensor.detach_ and grad_fn.next_functions. Argument parsing only: no math here.
#include <pybind11/stl.h>

#include <cmath>

#include "bindings.h"
#include "dlcore/autograd.h"
#include "dlcore/ops.h"

namespace dlcore::bindings {
namespace {

using namespace pybind11::literals;

std::string type_name(const py::handle& v) { return py::str(py::type::of(v).attr("__name__")); }

// None (every dimension), an int, or a tuple/list of ints.
std::vector<int64_t> dims_arg(const py::object& dim, const char* op) {
  if (dim.is_none()) return {};
  if (py::isinstance<py::int_>(dim) && !py::isinstance<py::bool_>(dim)) return {dim.cast<int64_t>()};
  if (py::isinstance<py::tuple>(dim) || py::isinstance<py::list>(dim)) return dim.cast<std::vector<int64_t>>();
  throw py::type_error(std::string(op) + "(): dim must be None, an int or a tuple of ints, got " + type_name(dim));
}

// Sizes given as varargs (x.repeat(2, 3)) or as one sequence (x.repeat((2, 3))).
std::vector<int64_t> int_list_args(const py::args& args, const char* op) {
  if (args.size() == 1 && !py::isinstance<py::int_>(args[0])) {
    try {
      return args[0].cast<std::vector<int64_t>>();
    } catch (const py::cast_error&) {
      throw py::type_error(std::string(op) + "(): expected ints or one sequence of ints, got " + type_name(args[0]));
    }
  }
  std::vector<int64_t> out;
  for (const py::handle& a : args) {
    if (!py::isinstance<py::int_>(a) || py::isinstance<py::bool_>(a))
      throw py::type_error(std::string(op) + "(): expected ints, got " + type_name(a));
    out.push_back(a.cast<int64_t>());
  }
  return out;
}

std::optional<DType> dtype_arg(const py::object& dtype) {
  if (dtype.is_none()) return std::nullopt;
  return dtype.cast<DType>();
}

// torch's var/std arguments: (dim, unbiased, keepdim, *, correction), where a bool in dim's place is
// `unbiased` (torch.var(x, False)); correction defaults to 1 and unbiased=False means 0.
struct Spread {
  std::vector<int64_t> dims;
  double correction = 1;
};
Spread spread_args(const py::object& dim, const py::object& unbiased, const py::object& correction, const char* op) {
  py::object dim_value = dim, unbiased_value = unbiased;
  if (py::isinstance<py::bool_>(dim)) {
    unbiased_value = dim;
    dim_value = py::none();
  }
  if (!unbiased_value.is_none() && !correction.is_none())
    throw std::runtime_error(std::string(op) + "(): cannot specify both unbiased and correction");
  Spread s;
  s.dims = dims_arg(dim_value, op);
  if (!correction.is_none()) s.correction = correction.cast<double>();
  else if (!unbiased_value.is_none()) s.correction = unbiased_value.cast<bool>() ? 1 : 0;
  return s;
}

// norm's p: a number, None or 'fro' (2); 'nuc' (a matrix norm) is not provided.
double norm_order(const py::object& p) {
  if (p.is_none()) return 2;
  if (py::isinstance<py::str>(p)) {
    const std::string name = p.cast<std::string>();
    if (name == "fro") return 2;
    if (name == "nuc") throw NotImplementedError("norm(): p='nuc' (the nuclear matrix norm) is not supported by dlcore");
    throw std::runtime_error("norm(): unknown p '" + name + "'; expected a number, 'fro' or 'nuc'");
  }
  return p.cast<double>();
}

py::object unique_result(const Tensor& x, bool return_inverse, bool return_counts, const py::object& dim) {
  const ops::UniqueResult u = dim.is_none() ? ops::unique(x) : ops::unique_dim(x, dim.cast<int64_t>());
  if (!return_inverse && !return_counts) return py::cast(u.values);
  py::list out;
  out.append(u.values);
  if (return_inverse) out.append(u.inverse);
  if (return_counts) out.append(u.counts);
  return py::tuple(out);
}

std::vector<Tensor> einsum_operands(const py::args& args) {
  if (args.size() == 1 && (py::isinstance<py::list>(args[0]) || py::isinstance<py::tuple>(args[0])))
    return args[0].cast<std::vector<Tensor>>();
  return args.cast<std::vector<Tensor>>();
}

std::vector<int64_t> shifts_arg(const py::object& v, const char* what) {
  if (py::isinstance<py::int_>(v)) return {v.cast<int64_t>()};
  try {
    return v.cast<std::vector<int64_t>>();
  } catch (const py::cast_error&) {
    throw py::type_error(std::string("roll(): ") + what + " must be an int or a tuple of ints, got " + type_name(v));
  }
}

// grad_fn.next_functions: one (node or None, 0) pair per input, as torch lists them.
py::tuple next_functions(const Node& node) {
  py::list out;
  for (const Edge& e : node.next_edges) out.append(py::make_tuple(e.fn ? py::cast(e.fn) : py::none(), 0));
  return py::tuple(out);
}

// Replaces a method of Tensor (a newer, torch-complete version of an existing binding).
template <typename Fn, typename... Extra>
void replace_method(py::class_<Tensor>& tensor, const char* name, Fn&& fn, const Extra&... extra) {
  tensor.attr(name) = py::cpp_function(std::forward<Fn>(fn), py::name(name), py::is_method(tensor), extra...);
}

}  // namespace

void bind_tensor_surface(py::module_& m, py::class_<Tensor>& tensor) {
  py::object return_types = m.attr("return_types");
  const py::object namedtuple = py::module_::import("collections").attr("namedtuple");
  const py::object sort_type = namedtuple("sort", py::make_tuple("values", "indices"), "module"_a = "dlcore.return_types");
  const py::object topk_type = namedtuple("topk", py::make_tuple("values", "indices"), "module"_a = "dlcore.return_types");
  return_types.attr("sort") = sort_type;
  return_types.attr("topk") = topk_type;

  // ---- statistics ----
  auto var = [](const Tensor& x, const py::object& dim, const py::object& unbiased, bool keepdim, const py::object& correction) {
    const Spread s = spread_args(dim, unbiased, correction, "var");
    return ops::var(x, s.dims, s.correction, keepdim);
  };
  auto std_dev = [](const Tensor& x, const py::object& dim, const py::object& unbiased, bool keepdim, const py::object& correction) {
    const Spread s = spread_args(dim, unbiased, correction, "std");
    return ops::std_dev(x, s.dims, s.correction, keepdim);
  };
  auto var_mean = [](const Tensor& x, const py::object& dim, const py::object& unbiased, bool keepdim, const py::object& correction) {
    const Spread s = spread_args(dim, unbiased, correction, "var_mean");
    return ops::var_mean(x, s.dims, s.correction, keepdim);
  };
  auto std_mean = [](const Tensor& x, const py::object& dim, const py::object& unbiased, bool keepdim, const py::object& correction) {
    const Spread s = spread_args(dim, unbiased, correction, "std_mean");
    return ops::std_dev_mean(x, s.dims, s.correction, keepdim);
  };
  auto logsumexp = [](const Tensor& x, const py::object& dim, bool keepdim) {
    return ops::logsumexp(x, dims_arg(dim, "logsumexp"), keepdim);
  };
  auto norm = [](const Tensor& x, const py::object& p, const py::object& dim, bool keepdim, const py::object& dtype) {
    return ops::norm(x, norm_order(p), dims_arg(dim, "norm"), keepdim, dtype_arg(dtype));
  };
  auto all = [](const Tensor& x, const py::object& dim, bool keepdim) { return ops::all(x, dims_arg(dim, "all"), keepdim); };
  auto any = [](const Tensor& x, const py::object& dim, bool keepdim) { return ops::any(x, dims_arg(dim, "any"), keepdim); };
  for (auto [name, fn] : {std::pair{"var", +var}, std::pair{"std", +std_dev}}) {
    m.def(name, fn, "input"_a, "dim"_a = py::none(), "unbiased"_a = py::none(), "keepdim"_a = false, py::kw_only(),
          "correction"_a = py::none());
    tensor.def(name, fn, "dim"_a = py::none(), "unbiased"_a = py::none(), "keepdim"_a = false, py::kw_only(),
               "correction"_a = py::none());
  }
  for (auto [name, fn] : {std::pair{"var_mean", +var_mean}, std::pair{"std_mean", +std_mean}})
    m.def(name, fn, "input"_a, "dim"_a = py::none(), "unbiased"_a = py::none(), "keepdim"_a = false, py::kw_only(),
          "correction"_a = py::none());
  m.def("logsumexp", logsumexp, "input"_a, "dim"_a, "keepdim"_a = false);
  tensor.def("logsumexp", logsumexp, "dim"_a, "keepdim"_a = false);
  m.def("norm", norm, "input"_a, "p"_a = "fro", "dim"_a = py::none(), "keepdim"_a = false, "dtype"_a = py::none());
  tensor.def("norm", norm, "p"_a = "fro", "dim"_a = py::none(), "keepdim"_a = false, "dtype"_a = py::none());
  for (auto [name, fn] : {std::pair{"all", +all}, std::pair{"any", +any}}) {
    m.def(name, fn, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
    tensor.def(name, fn, "dim"_a = py::none(), "keepdim"_a = false);
  }

  // ---- sorting and scans (stable is accepted: every dlcore sort is stable) ----
  auto sort = [sort_type](const Tensor& x, int64_t dim, bool descending, bool) {
    const ops::ValuesIndices r = ops::sort(x, dim, descending);
    return sort_type(r.values, r.indices);
  };
  auto argsort = [](const Tensor& x, int64_t dim, bool descending, bool) { return ops::argsort(x, dim, descending); };
  auto topk = [topk_type](const Tensor& x, int64_t k, int64_t dim, bool largest, bool) {
    const ops::ValuesIndices r = ops::topk(x, k, dim, largest);
    return topk_type(r.values, r.indices);
  };
  auto unique = [](const Tensor& x, bool, bool return_inverse, bool return_counts, const py::object& dim) {
    return unique_result(x, return_inverse, return_counts, dim);
  };
  auto cumsum = [](const Tensor& x, int64_t dim, const py::object& dtype) { return ops::cumsum(x, dim, dtype_arg(dtype)); };
  auto cumprod = [](const Tensor& x, int64_t dim, const py::object& dtype) { return ops::cumprod(x, dim, dtype_arg(dtype)); };
  m.def("sort", sort, "input"_a, "dim"_a = -1, "descending"_a = false, py::kw_only(), "stable"_a = false);
  tensor.def("sort", sort, "dim"_a = -1, "descending"_a = false, py::kw_only(), "stable"_a = false);
  m.def("argsort", argsort, "input"_a, "dim"_a = -1, "descending"_a = false, py::kw_only(), "stable"_a = false);
  tensor.def("argsort", argsort, "dim"_a = -1, "descending"_a = false, py::kw_only(), "stable"_a = false);
  m.def("topk", topk, "input"_a, "k"_a, "dim"_a = -1, "largest"_a = true, "sorted"_a = true);
  tensor.def("topk", topk, "k"_a, "dim"_a = -1, "largest"_a = true, "sorted"_a = true);
  m.def("unique", unique, "input"_a, "sorted"_a = true, "return_inverse"_a = false, "return_counts"_a = false,
        "dim"_a = py::none());
  tensor.def("unique", unique, "sorted"_a = true, "return_inverse"_a = false, "return_counts"_a = false,
             "dim"_a = py::none());
  for (auto [name, fn] : {std::pair{"cumsum", +cumsum}, std::pair{"cumprod", +cumprod}}) {
    m.def(name, fn, "input"_a, "dim"_a, py::kw_only(), "dtype"_a = py::none());
    tensor.def(name, fn, "dim"_a, py::kw_only(), "dtype"_a = py::none());
  }

  // ---- rearranging ----
  m.def("clone", [](const Tensor& x, const py::object&) { return ops::clone(x); }, "input"_a, py::kw_only(),
        "memory_format"_a = py::none());
  replace_method(tensor, "clone", [](const Tensor& x, const py::object&) { return ops::clone(x); }, py::kw_only(),
                 py::arg("memory_format") = py::none());
  m.def("flip", [](const Tensor& x, const py::object& dims) { return ops::flip(x, shifts_arg(dims, "dims")); }, "input"_a, "dims"_a);
  tensor.def("flip", [](const Tensor& x, const py::args& dims, const py::kwargs& kwargs) {  // flip(0, 1) or flip(dims=...)
    if (kwargs.contains("dims") && dims.size() == 0) return ops::flip(x, shifts_arg(kwargs["dims"], "dims"));
    if (kwargs.size() > 0) throw py::type_error("flip() takes the dims positionally or as dims=, got " + std::string(py::str(kwargs)));
    return ops::flip(x, int_list_args(dims, "flip"));
  });
  auto roll = [](const Tensor& x, const py::object& shifts, const py::object& dims) {
    return ops::roll(x, shifts_arg(shifts, "shifts"), dims.is_none() ? std::vector<int64_t>{} : shifts_arg(dims, "dims"));
  };
  m.def("roll", roll, "input"_a, "shifts"_a, "dims"_a = py::none());
  tensor.def("roll", roll, "shifts"_a, "dims"_a = py::none());
  tensor.def("repeat", [](const Tensor& x, const py::args& sizes) { return ops::repeat(x, int_list_args(sizes, "repeat")); });
  m.def("tril", &ops::tril, "input"_a, "diagonal"_a = 0);
  m.def("triu", &ops::triu, "input"_a, "diagonal"_a = 0);
  tensor.def("tril", &ops::tril, "diagonal"_a = 0).def("triu", &ops::triu, "diagonal"_a = 0);

  // ---- the matmul family ----
  m.def("mm", &ops::mm, "input"_a, "mat2"_a);
  m.def("bmm", &ops::bmm, "input"_a, "mat2"_a);
  m.def("matmul", &ops::general_matmul, "input"_a, "other"_a);
  m.def("dot", &ops::dot, "input"_a, "tensor"_a);
  m.def("outer", &ops::outer, "input"_a, "vec2"_a);
  m.def("addmm", &ops::addmm, "input"_a, "mat1"_a, "mat2"_a, py::kw_only(), "beta"_a = 1.0, "alpha"_a = 1.0);
  m.def("einsum", [](const std::string& equation, const py::args& operands) {
    return ops::einsum(equation, einsum_operands(operands));
  }, "equation"_a);
  tensor.def("mm", &ops::mm, "mat2"_a).def("bmm", &ops::bmm, "mat2"_a).def("dot", &ops::dot, "tensor"_a)
      .def("outer", &ops::outer, "vec2"_a)
      .def("addmm", &ops::addmm, "mat1"_a, "mat2"_a, py::kw_only(), "beta"_a = 1.0, "alpha"_a = 1.0);
  replace_method(tensor, "matmul", &ops::general_matmul, py::arg("other"));
  replace_method(tensor, "__matmul__", [](const Tensor& a, const py::object& b) -> py::object {
    if (!py::isinstance<Tensor>(b)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    return py::cast(ops::general_matmul(a, b.cast<Tensor>()));
  });
  replace_method(tensor, "__rmatmul__", [](const Tensor& b, const py::object& a) -> py::object {
    if (!py::isinstance<Tensor>(a)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    return py::cast(ops::general_matmul(a.cast<Tensor>(), b));
  });

  // ---- autograd graph ----
  // detach_(): this tensor leaves the graph in place (a leaf that no longer requires grad).
  tensor.def("detach_", [](const Tensor& x) {
    x.impl()->grad_fn = nullptr;
    x.impl()->requires_grad = false;
    return x;
  });
  auto node = py::reinterpret_borrow<py::class_<Node, std::shared_ptr<Node>>>(m.attr("Node"));
  node.def_property_readonly("next_functions", &next_functions);
  node.def_property_readonly("variable", [](const Node& n) -> py::object {  // AccumulateGrad's leaf, as torch
    const auto* sink = dynamic_cast<const AccumulateGrad*>(&n);
    if (!sink) throw py::attribute_error("'" + n.name() + "' object has no attribute 'variable'");
    const auto leaf = sink->leaf.lock();
    return leaf ? py::cast(Tensor(leaf)) : py::none();
  });
}

}  // namespace dlcore::bindings
