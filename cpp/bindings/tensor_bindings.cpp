// Python's view of Tensor: creation from numpy, zero-copy export to numpy on the CPU, metadata,
// arithmetic operators, autograd entry points and device moves. No math lives here.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>
#include <sstream>

#include "bindings.h"
#include "dlcore/autograd.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/ops.h"

namespace dlcore::bindings {
using namespace pybind11::literals;

Device device_from_python(const py::handle& d) {
  if (py::isinstance<Device>(d)) return d.cast<Device>();
  if (py::isinstance<py::bool_>(d)) throw py::type_error("device: expected a device, a string or an index, got a bool");
  if (py::isinstance<py::int_>(d)) {
    const int64_t index = d.cast<int64_t>();
    if (index < 0) throw std::runtime_error("Device index must not be negative, got " + std::to_string(index));
    return Device::cuda(static_cast<int>(std::min<int64_t>(index, 100)));
  }
  if (!py::isinstance<py::str>(d))
    throw py::type_error("device: expected a dl.device, a string or an index, got " +
                         std::string(py::str(py::type::of(d).attr("__name__"))));
  return Device::parse(d.cast<std::string>());
}

namespace {

// The dtype of a numpy array, as torch.from_numpy maps it.
DType dtype_of_numpy(const py::dtype& dt) {
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (kind == 'f' && size == 2) return DType::Float16;
  if (kind == 'f' && size == 4) return DType::Float32;
  if (kind == 'f' && size == 8) return DType::Float64;
  if (kind == 'i' && size == 4) return DType::Int32;
  if (kind == 'i' && size == 8) return DType::Int64;
  if (kind == 'u' && size == 1) return DType::UInt8;
  if (kind == 'b') return DType::Bool;
  throw py::type_error("can't convert a numpy array of type " + std::string(py::str(dt)) +
                       "; the supported types are float64, float32, float16, int64, int32, uint8 and bool");
}

py::dtype numpy_dtype(DType dtype) {
  switch (dtype) {
    case DType::Bool: return py::dtype::of<bool>();
    case DType::UInt8: return py::dtype::of<uint8_t>();
    case DType::Int32: return py::dtype::of<int32_t>();
    case DType::Int64: return py::dtype::of<int64_t>();
    case DType::Float16: return py::dtype("float16");
    case DType::Float32: return py::dtype::of<float>();
    case DType::Float64: return py::dtype::of<double>();
    case DType::BFloat16: break;
  }
  throw py::type_error("numpy: numpy has no bfloat16; convert with .float() first");
}

// A copy of a numpy array in a new CPU tensor of the array's dtype (or `dtype`).
Tensor from_numpy_as(py::array array, DType dtype) {
  // One conversion to a C-contiguous array of the target type handles strides, byte order and casts.
  py::module_ np = py::module_::import("numpy");
  py::array c = dtype == DType::BFloat16
                    ? py::array(np.attr("asarray")(array, py::dtype::of<float>(), "order"_a = "C"))
                    : py::array(np.attr("asarray")(array, numpy_dtype(dtype), "order"_a = "C"));  // keeps 0-d arrays 0-d
  Shape shape(c.shape(), c.shape() + c.ndim());
  if (dtype == DType::BFloat16) return ops::to_dtype(from_numpy_as(c, DType::Float32), DType::BFloat16);
  Tensor t = Tensor::empty(shape, dtype);
  if (t.numel() > 0) std::memcpy(t.raw_data(), c.data(), t.numel() * dtype_size(dtype));
  return t;
}

Tensor from_numpy(py::array array) { return from_numpy_as(array, dtype_of_numpy(array.dtype())); }

py::array to_numpy(const Tensor& t) {
  if (t.is_cuda())
    throw py::type_error("numpy: can't convert a cuda tensor to numpy; use Tensor.cpu() to copy it to host memory first");
  if (t.requires_grad())
    throw std::runtime_error("numpy: can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()");
  py::dtype dt = numpy_dtype(t.dtype());
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides;
  for (int64_t s : t.strides()) strides.push_back(s * static_cast<int64_t>(dtype_size(t.dtype())));
  // The capsule owns a reference to the storage, so the array keeps the memory alive: zero copy.
  auto* owner = new std::shared_ptr<Storage>(t.storage());
  py::capsule base(owner, [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  return py::array(dt, shape, strides, t.raw_data(), base);
}

// A size given as varargs (ones(2, 3)), one sequence (ones((2, 3))) or size=; each element an int
// or a one-element integer tensor. Anything else is torch's TypeError naming the op and position.
Shape shape_from_args(const py::args& args, const py::object& size, const char* op) {
  if (!size.is_none() && args.size() > 0)
    throw py::type_error(std::string(op) + "(): got the size both positionally and as size=");
  py::sequence items = !size.is_none() ? py::sequence(py::tuple(py::isinstance<py::int_>(size) ? py::make_tuple(size) : size))
                       : args.size() == 1 && (py::isinstance<py::tuple>(args[0]) || py::isinstance<py::list>(args[0]))
                           ? py::sequence(args[0])
                           : py::sequence(args);
  Shape shape;
  for (size_t i = 0; i < items.size(); ++i) {
    py::object item = items[i];
    const bool integer_tensor = py::isinstance<Tensor>(item) && item.cast<Tensor>().numel() == 1 &&
                                is_integral(item.cast<Tensor>().dtype());
    if (integer_tensor) item = py::int_(item.cast<Tensor>().item().to_int64());
    if (!py::isinstance<py::int_>(item) || py::isinstance<py::bool_>(item))
      throw py::type_error(std::string(op) + "(): argument 'size' must be a tuple of ints, but found element of type " +
                           std::string(py::str(py::type::of(item).attr("__name__"))) + " at pos " + std::to_string(i));
    shape.push_back(item.cast<int64_t>());
  }
  return shape;
}


// A Python number (or one-element tensor) as a Scalar, exact for bool, int64 and float.
Scalar scalar_of(const py::handle& v, const char* op) {
  if (py::isinstance<Tensor>(v)) return v.cast<Tensor>().item();
  if (py::isinstance<py::bool_>(v)) return Scalar(v.cast<bool>());
  if (py::isinstance<py::int_>(v)) {
    try {
      return Scalar(v.cast<int64_t>());
    } catch (const py::cast_error&) {
      throw std::overflow_error(std::string(op) + ": Python integer " + std::string(py::str(v)) + " does not fit in int64");
    }
  }
  try {
    return Scalar(v.cast<double>());
  } catch (const py::cast_error&) {
    throw py::type_error(std::string(op) + ": expected a number, got " + std::string(py::str(py::type::of(v))));
  }
}

// .item(): a Python int for integer tensors (exact), bool for bool, float for floating point.
py::object item_object(const Tensor& x) {
  Scalar v = x.item();
  if (v.dtype() == DType::Bool) return py::bool_(v.to_int64() != 0);
  if (v.dtype() == DType::Int64) return py::int_(v.to_int64());
  return py::float_(v.to_double());
}

// Tensor.to(...) in torch's forms: to(device), to(dtype), to(device, dtype), to(other), with
// device=/dtype=/copy= keywords; non_blocking is accepted (copies here are ordered on the stream).
Tensor to_any(const Tensor& x, const py::args& args, const py::kwargs& kwargs) {
  std::optional<Device> device;
  std::optional<DType> dtype;
  bool copy = false;
  auto take = [&](const py::handle& a) {
    if (py::isinstance<DType>(a)) dtype = a.cast<DType>();
    else if (py::isinstance<Tensor>(a)) { device = a.cast<Tensor>().device(); dtype = a.cast<Tensor>().dtype(); }
    else if (!a.is_none()) device = device_from_python(a);
  };
  for (const py::handle& a : args) take(a);
  for (auto item : kwargs) {
    const std::string key = py::str(item.first);
    if (key == "device" || key == "dtype" || key == "other") take(item.second);
    else if (key == "copy") copy = item.second.cast<bool>();
    else if (key != "non_blocking" && key != "memory_format")
      throw py::type_error("to() got an unexpected keyword argument '" + key + "'");
  }
  Tensor out = x;
  if (dtype) out = ops::to_dtype(out, *dtype);
  if (device) out = out.to(*device);
  if (copy && out.same(x)) out = x.clone();
  return out;
}

// Range check of torch.tensor(data, dtype=<integer type>) from Python integers: a value that
// does not fit is refused instead of wrapping around.
void check_integer_range(const py::object& arr, DType dtype, const char* op) {
  if (!is_integral(dtype) || arr.attr("size").cast<int64_t>() == 0) return;
  const std::string kind = py::str(arr.attr("dtype").attr("kind"));
  if (kind != "i" && kind != "u") return;
  py::module_ np = py::module_::import("numpy");
  py::object info = np.attr("iinfo")(py::str(numpy_dtype(dtype)));
  const py::object lo = arr.attr("min")(), hi = arr.attr("max")();
  if (lo < info.attr("min") || hi > info.attr("max"))
    throw std::runtime_error(std::string(op) + ": value cannot be converted to type " + dtype_name(dtype) +
                             " without overflow (data range " + std::string(py::str(lo)) + " .. " +
                             std::string(py::str(hi)) + ")");
}

// Python's binary operators: self op other, and the reflected other op self (2 * x), where other
// is a tensor or a Python number (None gives NotImplemented, so x == None is False).
template <typename Fn>
auto binary_operator(Fn fn, const char* op) {
  return [fn, op](const Tensor& self, const py::object& other) -> py::object {
    if (other.is_none()) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    return py::cast(fn(self, tensor_operand(other, op)));
  };
}
template <typename Fn>
auto reflected_operator(Fn fn, const char* op) {
  return [fn, op](const Tensor& self, const py::object& other) -> py::object {
    if (other.is_none()) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    return py::cast(fn(tensor_operand(other, op), self));
  };
}

std::string repr(const Tensor& t) {
  std::ostringstream out;
  out << "tensor(";
  if (t.is_cuda() || t.numel() > 1000) {
    out << "<" << t.numel() << " elements>";
  } else {
    py::object arr = to_numpy(t.detach().contiguous());
    out << std::string(py::str(py::module_::import("numpy").attr("array2string")(arr, "separator"_a = ", ", "prefix"_a = "tensor(")));
  }
  out << ", shape=" << shape_str(t.shape()) << ", dtype=" << dtype_name(t.dtype());
  if (t.is_cuda()) out << ", device='" << t.device().str() << "'";
  if (t.grad_fn()) out << ", grad_fn=<" << t.grad_fn()->name() << ">";
  else if (t.requires_grad()) out << ", requires_grad=True";
  out << ")";
  return out.str();
}

}  // namespace

Tensor tensor_from_python(const py::handle& value, const char* op) {
  if (py::isinstance<Tensor>(value)) return value.cast<Tensor>();
  py::module_ np = py::module_::import("numpy");
  const bool numpy_data = py::isinstance<py::array>(value) || py::hasattr(value, "dtype");
  py::object arr;
  try {
    arr = np.attr("asarray")(value);
  } catch (py::error_already_set& e) {
    throw ValueError(std::string(op) + ": cannot convert " + std::string(py::str(py::type::of(value))) + " to a tensor: " + e.what());
  }
  const std::string kind = py::str(arr.attr("dtype").attr("kind"));
  if (kind == "O")
    throw ValueError(std::string(op) + ": cannot convert " + std::string(py::str(py::type::of(value))) +
                     " to a tensor (ragged, non-numeric or out-of-range data)");
  if (!numpy_data) {
    // Python numbers: floats are the default dtype (float32), integers int64 (torch.tensor's rule);
    // an integer beyond int64 arrives from numpy as uint64 and is refused, as torch does.
    if (kind == "f") return from_numpy_as(arr.cast<py::array>(), DType::Float32);
    if (kind == "u" && arr.attr("dtype").attr("itemsize").cast<int>() == 8)
      throw std::overflow_error(std::string(op) + ": Overflow when unpacking long: a value does not fit in int64");
    if (kind == "i" || kind == "u") return from_numpy_as(arr.cast<py::array>(), DType::Int64);
  }
  return from_numpy(arr.cast<py::array>());
}

// Tensor arguments of ops: a tensor, a Python number (a wrapped number), or array-like data.
Tensor tensor_operand(const py::handle& value, const char* op) {
  if (py::isinstance<Tensor>(value)) return value.cast<Tensor>();
  if (py::isinstance<py::bool_>(value)) return Tensor::wrapped_number(Scalar(value.cast<bool>()));
  if (py::isinstance<py::int_>(value)) {
    try {
      return Tensor::wrapped_number(Scalar(value.cast<int64_t>()));
    } catch (const py::cast_error&) {
      throw std::overflow_error(std::string(op) + ": Python integer " + std::string(py::str(value)) + " does not fit in int64");
    }
  }
  if (py::isinstance<py::float_>(value)) return Tensor::wrapped_number(Scalar(value.cast<double>()));
  if (value.is_none()) throw py::type_error(std::string(op) + ": expected a Tensor or a number, got None");
  return tensor_from_python(value, op);
}

void bind_tensor(py::module_& m) {
  // dlcore::NotImplementedError (an op without a kernel for a dtype) is Python's NotImplementedError,
  // as in PyTorch; pybind11 would make a RuntimeError of it.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const NotImplementedError& e) {
      PyErr_SetString(PyExc_NotImplementedError, e.what());
    }
  });
  auto dtype_class = py::enum_<DType>(m, "dtype", "A tensor element type (dlcore.float32, dlcore.int64, ...).")
      .value("bool", DType::Bool)
      .value("uint8", DType::UInt8)
      .value("int32", DType::Int32)
      .value("int64", DType::Int64)
      .value("float16", DType::Float16)
      .value("bfloat16", DType::BFloat16)
      .value("float32", DType::Float32)
      .value("float64", DType::Float64)
      .def_property_readonly("is_floating_point", [](DType d) { return is_floating(d); })
      .def_property_readonly("itemsize", [](DType d) { return dtype_size(d); });
  // Replaced, not overloaded: pybind11 would keep calling enum_'s own repr/str first.
  for (const char* name : {"__repr__", "__str__"})
    dtype_class.attr(name) = py::cpp_function([](DType d) { return "dlcore." + dtype_name(d); }, py::is_method(dtype_class));
  m.def("promote_types", &promote_types, "type1"_a, "type2"_a);
  // dl.set_default_dtype / get_default_dtype (python/dlcore/_default_dtype.py) keep the default here.
  m.def("_set_default_dtype", &set_default_dtype, "d"_a);
  m.def("_get_default_dtype", &default_dtype);
  m.def("result_type", [](const py::object& a, const py::object& b) {
    ResultType r;
    for (const py::object& v : {a, b}) {
      Tensor t = tensor_operand(v, "result_type");
      r.add(t.dtype(), t.is_wrapped_number() ? OperandKind::Number : t.dim() == 0 ? OperandKind::ZeroDimTensor : OperandKind::Tensor);
    }
    return r.result();
  }, "tensor1"_a, "tensor2"_a);

  py::class_<Device>(m, "device", "A device type and optional index, as torch.device: dl.device('cuda:1'), "
                                  "dl.device('cuda', 1), dl.device(1).")
      .def(py::init([](const py::object& type, const py::object& index) {
        Device d = device_from_python(type);
        if (index.is_none()) return d;
        if (!py::isinstance<py::str>(type))
          throw py::type_error("device(): an index may only follow a device type string, got " + std::string(py::repr(type)));
        if (d.index >= 0)
          throw std::runtime_error("device(): type (string) must not include an index because index was passed "
                                   "explicitly: " + std::string(py::str(type)));
        const int64_t i = index.cast<int64_t>();
        if (i < 0) throw std::runtime_error("Device index must not be negative, got " + std::to_string(i));
        return d.is_cuda() ? Device::cuda(static_cast<int>(std::min<int64_t>(i, 100)))
                           : Device{DeviceType::CPU, static_cast<int8_t>(std::min<int64_t>(i, 99))};
      }), "type"_a, "index"_a = py::none())
      .def_property_readonly("type", [](const Device& d) { return d.is_cuda() ? "cuda" : "cpu"; })
      .def_property_readonly("index", [](const Device& d) -> py::object {
        return d.index < 0 ? py::object(py::none()) : py::object(py::int_(static_cast<int>(d.index)));
      })
      .def("__str__", &Device::str)
      .def("__repr__", [](const Device& d) {
        const std::string type = d.is_cuda() ? "cuda" : "cpu";
        return "device(type='" + type + "'" + (d.index < 0 ? "" : ", index=" + std::to_string(d.index)) + ")";
      })
      .def("__eq__", [](const Device& a, const py::object& b) {
        if (py::isinstance<Device>(b)) return a == b.cast<Device>();
        if (py::isinstance<py::str>(b)) return a == Device::parse(b.cast<std::string>());
        return false;
      })
      .def("__hash__", [](const Device& d) { return static_cast<int>(d.type) * 128 + d.index + 1; })
      .def(py::pickle([](const Device& d) { return py::make_tuple(d.str()); },
                      [](const py::tuple& state) { return Device::parse(state[0].cast<std::string>()); }));

  py::class_<Node, std::shared_ptr<Node>>(m, "Node").def("name", &Node::name).def("__repr__", [](const Node& n) {
    return "<" + n.name() + ">";
  });

  py::class_<Tensor> t(m, "Tensor", "A float32/int64/uint8 tensor on the CPU or a CUDA device, with autograd.");
  t.def_property_readonly("shape", [](const Tensor& x) { return py::tuple(py::cast(x.shape())); })
      .def("size", [](const Tensor& x, py::object dim) -> py::object {
        if (dim.is_none()) return py::tuple(py::cast(x.shape()));
        return py::int_(x.size(dim.cast<int64_t>()));
      }, "dim"_a = py::none())
      .def("dim", &Tensor::dim)
      .def_property_readonly("ndim", &Tensor::dim)
      .def("numel", &Tensor::numel)
      .def("__len__", [](const Tensor& x) {
        if (x.dim() == 0) throw py::type_error("len() of a 0-d tensor");
        return x.size(0);
      })
      .def_property_readonly("dtype", &Tensor::dtype)
      .def_property_readonly("device", &Tensor::device)
      .def_property_readonly("is_cuda", &Tensor::is_cuda)
      .def_property("requires_grad", &Tensor::requires_grad, [](Tensor& x, bool v) { x.set_requires_grad(v); })
      .def("requires_grad_", [](Tensor& x, bool v) { x.set_requires_grad(v); return x; }, "requires_grad"_a = true)
      .def_property_readonly("is_leaf", &Tensor::is_leaf)
      .def_property("grad", [](const Tensor& x) -> py::object {
        Tensor g = x.grad();
        return g.defined() ? py::cast(g) : py::none();
      }, [](Tensor& x, py::object g) {
        if (!g.is_none() && !py::isinstance<Tensor>(g))
          throw py::type_error("assigned grad expected to be a Tensor or None but got grad of type " +
                               std::string(py::str(py::type::of(g).attr("__name__"))));
        x.set_grad(g.is_none() ? Tensor() : g.cast<Tensor>());
      })
      .def_property_readonly("grad_fn", [](const Tensor& x) -> py::object {
        return x.grad_fn() ? py::cast(x.grad_fn()) : py::none();
      })
      .def("backward", [](const Tensor& x, py::object gradient, bool retain_graph) {
        Tensor g = gradient.is_none() ? Tensor() : tensor_from_python(gradient, "backward").to(x.device());
        x.backward(g, retain_graph);
      }, "gradient"_a = py::none(), "retain_graph"_a = false)
      .def("detach", &Tensor::detach)
      // torch's `x.data`: the same memory outside autograd; `x.data = y` makes x a view of y's
      // memory (any shape) while x keeps its identity, grad and hooks. dlcore's modules and
      // optimizers assume a tensor's dtype and device stay fixed, so those must match.
      .def_property("data", &Tensor::detach, [](Tensor& x, const Tensor& y) {
        if (y.dtype() != x.dtype() || !(y.device() == x.device()))
          throw py::type_error(std::string("Tensor.data: cannot set data of dtype ") + dtype_name(y.dtype()) +
                               " on " + y.device().str() + " for a tensor of dtype " + dtype_name(x.dtype()) +
                               " on " + x.device().str() + " (convert it first: .to(x.dtype, x.device))");
        TensorImpl& self = *x.impl();
        const TensorImpl& other = *y.impl();
        self.storage = other.storage;
        self.offset = other.offset;
        self.shape = other.shape;
        self.strides = other.strides;
      })
      .def("item", &item_object)
      .def("numpy", &to_numpy)
      .def("__array__", [](const Tensor& x, py::object dtype, py::object) {
        py::array a = to_numpy(x.detach().to(Device::cpu()));
        return dtype.is_none() ? a : py::array(a.attr("astype")(dtype));
      }, "dtype"_a = py::none(), "copy"_a = py::none())
      .def("tolist", [](const Tensor& x) { return to_numpy(x.detach().to(Device::cpu())).attr("tolist")(); })
      .def("to", &to_any)
      .def("float", [](const Tensor& x) { return ops::to_dtype(x, DType::Float32); })
      .def("double", [](const Tensor& x) { return ops::to_dtype(x, DType::Float64); })
      .def("half", [](const Tensor& x) { return ops::to_dtype(x, DType::Float16); })
      .def("bfloat16", [](const Tensor& x) { return ops::to_dtype(x, DType::BFloat16); })
      .def("long", [](const Tensor& x) { return ops::to_dtype(x, DType::Int64); })
      .def("int", [](const Tensor& x) { return ops::to_dtype(x, DType::Int32); })
      .def("bool", [](const Tensor& x) { return ops::to_dtype(x, DType::Bool); })
      .def("byte", [](const Tensor& x) { return ops::to_dtype(x, DType::UInt8); })
      .def("type", [](const Tensor& x, const py::object& dtype) -> py::object {
        if (dtype.is_none()) {
          static const char* names[] = {"BoolTensor", "ByteTensor", "IntTensor", "LongTensor", "HalfTensor",
                                        "BFloat16Tensor", "FloatTensor", "DoubleTensor"};
          return py::str(std::string(x.is_cuda() ? "dlcore.cuda." : "dlcore.") + names[static_cast<int>(x.dtype())]);
        }
        return py::cast(ops::to_dtype(x, dtype.cast<DType>()));
      }, "dtype"_a = py::none())
      .def("is_floating_point", [](const Tensor& x) { return is_floating(x.dtype()); })
      .def("element_size", [](const Tensor& x) { return dtype_size(x.dtype()); })
      .def("cuda", [](const Tensor& x, const py::object& device, bool) {
        return x.to(device.is_none() ? Device::cuda() : device_from_python(device));
      }, "device"_a = py::none(), "non_blocking"_a = false)
      .def("get_device", [](const Tensor& x) { return x.is_cuda() ? static_cast<int>(x.device().index) : -1; })
      .def("cpu", [](const Tensor& x) { return x.to(Device::cpu()); })
      .def("clone", &Tensor::clone)
      .def("zero_", [](Tensor& x) { x.zero_(); return x; })
      .def("fill_", [](Tensor& x, const py::object& v) { x.fill_(scalar_of(v, "fill_")); return x; }, "value"_a)
      .def("copy_", [](Tensor& x, const py::object& src) {
        NoGradGuard guard;
        x.copy_(tensor_from_python(src, "copy_"));
        return x;
      })
      .def("flatten", &ops::flatten, "start_dim"_a = 0, "end_dim"_a = -1)
      .def("softmax", &ops::softmax, "dim"_a = -1)
      .def("log_softmax", &ops::log_softmax, "dim"_a = -1)
      .def("__hash__", [](const Tensor& x) { return reinterpret_cast<std::uintptr_t>(x.impl().get()); })
      .def("__neg__", [](const Tensor& a) { return ops::neg(a); })
      .def("__abs__", [](const Tensor& a) { return ops::abs(a); })
      .def("__invert__", [](const Tensor& a) {
        if (is_floating(a.dtype()))
          throw py::type_error("~ (operator.invert) is only implemented on integer and bool tensors, got " + a.describe());
        return ops::bitwise_not(a);
      })
      .def("__add__", binary_operator([](const Tensor& a, const Tensor& b) { return ops::add(a, b); }, "add"))
      .def("__radd__", reflected_operator([](const Tensor& a, const Tensor& b) { return ops::add(a, b); }, "add"))
      .def("__iadd__", binary_operator([](const Tensor& a, const Tensor& b) { return ops::add_(a, b); }, "add_"))
      .def("__sub__", binary_operator([](const Tensor& a, const Tensor& b) { return ops::sub(a, b); }, "sub"))
      .def("__rsub__", reflected_operator([](const Tensor& a, const Tensor& b) { return ops::sub(a, b); }, "sub"))
      .def("__isub__", binary_operator([](const Tensor& a, const Tensor& b) { return ops::sub_(a, b); }, "sub_"))
      .def("__mul__", binary_operator(&ops::mul, "mul"))
      .def("__rmul__", reflected_operator(&ops::mul, "mul"))
      .def("__imul__", binary_operator(&ops::mul_, "mul_"))
      .def("__truediv__", binary_operator([](const Tensor& a, const Tensor& b) { return ops::div(a, b); }, "div"))
      .def("__rtruediv__", reflected_operator([](const Tensor& a, const Tensor& b) { return ops::div(a, b); }, "div"))
      .def("__itruediv__", binary_operator([](const Tensor& a, const Tensor& b) { return ops::div_(a, b); }, "div_"))
      .def("__floordiv__", binary_operator(&ops::floor_divide, "floor_divide"))
      .def("__rfloordiv__", reflected_operator(&ops::floor_divide, "floor_divide"))
      .def("__ifloordiv__", binary_operator(&ops::floor_divide_, "floor_divide_"))
      .def("__mod__", binary_operator(&ops::remainder, "remainder"))
      .def("__rmod__", reflected_operator(&ops::remainder, "remainder"))
      .def("__imod__", binary_operator(&ops::remainder_, "remainder_"))
      .def("__pow__", binary_operator(&ops::pow, "pow"))
      .def("__rpow__", reflected_operator(&ops::pow, "pow"))
      .def("__ipow__", binary_operator(&ops::pow_, "pow_"))
      .def("__eq__", binary_operator(&ops::eq, "eq"))
      .def("__ne__", binary_operator(&ops::ne, "ne"))
      .def("__lt__", binary_operator(&ops::lt, "lt"))
      .def("__le__", binary_operator(&ops::le, "le"))
      .def("__gt__", binary_operator(&ops::gt, "gt"))
      .def("__ge__", binary_operator(&ops::ge, "ge"))
      // & | ^ << >> are bitwise, as in torch (bool tensors: logical), with integers or bools only.
      .def("__and__", binary_operator(&ops::bitwise_and, "bitwise_and"))
      .def("__rand__", reflected_operator(&ops::bitwise_and, "bitwise_and"))
      .def("__iand__", binary_operator(&ops::bitwise_and_, "bitwise_and_"))
      .def("__or__", binary_operator(&ops::bitwise_or, "bitwise_or"))
      .def("__ror__", reflected_operator(&ops::bitwise_or, "bitwise_or"))
      .def("__ior__", binary_operator(&ops::bitwise_or_, "bitwise_or_"))
      .def("__xor__", binary_operator(&ops::bitwise_xor, "bitwise_xor"))
      .def("__rxor__", reflected_operator(&ops::bitwise_xor, "bitwise_xor"))
      .def("__ixor__", binary_operator(&ops::bitwise_xor_, "bitwise_xor_"))
      .def("__lshift__", binary_operator(&ops::bitwise_left_shift, "bitwise_left_shift"))
      .def("__rlshift__", reflected_operator(&ops::bitwise_left_shift, "bitwise_left_shift"))
      .def("__ilshift__", binary_operator(&ops::bitwise_left_shift_, "bitwise_left_shift_"))
      .def("__rshift__", binary_operator(&ops::bitwise_right_shift, "bitwise_right_shift"))
      .def("__rrshift__", reflected_operator(&ops::bitwise_right_shift, "bitwise_right_shift"))
      .def("__irshift__", binary_operator(&ops::bitwise_right_shift_, "bitwise_right_shift_"))
      .def("__matmul__", [](const Tensor& a, const Tensor& b) { return ops::matmul(a, b); })
      .def("__repr__", &repr)
      .def("__bool__", [](const Tensor& x) {
        if (x.numel() != 1) throw ValueError("bool: the truth value of a tensor with more than one element is ambiguous");
        return x.item().to_double() != 0.0;
      })
      .def("__float__", [](const Tensor& x) { return py::float_(item_object(x)); })
      // int() of a float tensor goes through Python's int(float): NaN and inf raise as in torch.
      .def("__int__", [](const Tensor& x) { return py::int_(item_object(x)); })
      .def("__index__", [](const Tensor& x) {
        if (!is_integral(x.dtype()) && x.dtype() != DType::Bool)
          throw py::type_error("only integer tensors of a single element can be converted to an index, got " + x.describe());
        return py::int_(item_object(x));
      })
      .def("data_ptr", [](const Tensor& x) { return reinterpret_cast<std::uintptr_t>(x.raw_data()); });

  py::class_<Parameter, Tensor>(m, "Parameter", "A Tensor that a Module registers as a learnable parameter.")
      .def(py::init([](const py::object& data, bool requires_grad) {
        Tensor t = tensor_from_python(data, "Parameter");
        if (t.dtype() != DType::Float32) throw ValueError("Parameter: data must be float32, got " + t.describe());
        Tensor leaf = t.detach();
        leaf.set_requires_grad(requires_grad);
        return Parameter(leaf);
      }), "data"_a, "requires_grad"_a = true);

  m.def("from_numpy", &from_numpy, "array"_a, "Copies a numpy array into a new CPU tensor.");
  m.def("tensor", [](const py::object& data, const py::object& dtype, const py::object& device, bool requires_grad) {
    Tensor t = tensor_from_python(data, "tensor");
    bool shares_input = py::isinstance<Tensor>(data);  // the conversions below all make new storage
    if (!dtype.is_none() && dtype.cast<DType>() != t.dtype()) {
      if (!shares_input) check_integer_range(py::module_::import("numpy").attr("asarray")(data), dtype.cast<DType>(), "tensor");
      t = ops::to_dtype(t.detach(), dtype.cast<DType>());
      shares_input = false;
    }
    if (shares_input) t = t.detach().clone();  // like torch.tensor: always a new leaf with its own storage
    if (!device.is_none()) t = t.to(device_from_python(device));
    if (requires_grad) t.set_requires_grad(true);
    return t;
  }, "data"_a, "dtype"_a = py::none(), "device"_a = py::none(), "requires_grad"_a = false);
  // Factories take a shape as varargs, one sequence or size=, and dtype=/device=/requires_grad= keywords.
  auto make = [](const char* name, auto fn) {
    return [name, fn](py::args shape, const py::object& size, const py::object& dtype, const py::object& device,
                      bool requires_grad) {
      Device d = device.is_none() ? Device::cpu() : device_from_python(device);
      DType dt = dtype.is_none() ? DType::Float32 : dtype.cast<DType>();
      Tensor t = fn(shape_from_args(shape, size, name), d, dt);
      if (requires_grad) t.set_requires_grad(true);
      return t;
    };
  };
  auto floating_only = [](const char* name, DType dt) {
    if (!is_floating(dt)) throw py::type_error(std::string(name) + ": expected a floating point dtype, got " + dtype_name(dt));
  };
  const auto factory_kwargs = [](py::module_& mod, const char* name, auto fn) {
    mod.def(name, fn, py::kw_only(), "size"_a = py::none(), "dtype"_a = py::none(), "device"_a = py::none(),
            "requires_grad"_a = false);
  };
  factory_kwargs(m, "empty", make("empty", [](const Shape& s, Device d, DType dt) { return Tensor::empty(s, dt, d); }));
  factory_kwargs(m, "zeros", make("zeros", [](const Shape& s, Device d, DType dt) { return Tensor::zeros(s, dt, d); }));
  factory_kwargs(m, "ones", make("ones", [](const Shape& s, Device d, DType dt) { return Tensor::full(s, 1, dt, d); }));
  factory_kwargs(m, "rand", make("rand", [floating_only](const Shape& s, Device d, DType dt) {
    floating_only("rand", dt);
    return ops::to_dtype(rand(s, d), dt);
  }));
  factory_kwargs(m, "randn", make("randn", [floating_only](const Shape& s, Device d, DType dt) {
    floating_only("randn", dt);
    return ops::to_dtype(randn(s, d), dt);
  }));
  m.def("full", [](const Shape& shape, const py::object& value, const py::object& dtype, const py::object& device,
                   bool requires_grad) {
    const Scalar v = scalar_of(value, "full");
    // torch.full infers the dtype from the fill value: bool, int64 or the default float.
    const DType dt = !dtype.is_none() ? dtype.cast<DType>() : v.dtype() == DType::Float64 ? DType::Float32 : v.dtype();
    Tensor t = Tensor::full(shape, v, dt, device.is_none() ? Device::cpu() : device_from_python(device));
    if (requires_grad) t.set_requires_grad(true);
    return t;
  }, "size"_a, "fill_value"_a, py::kw_only(), "dtype"_a = py::none(), "device"_a = py::none(), "requires_grad"_a = false);
  m.def("arange", [](const py::object& a, const py::object& b, const py::object& step, const py::object& dtype,
                     const py::object& device, bool requires_grad) {
    // arange(end) or arange(start, end[, step]); integers give int64, any float the default float32.
    const Scalar start = b.is_none() ? Scalar(int64_t{0}) : scalar_of(a, "arange");
    const Scalar end = b.is_none() ? scalar_of(a, "arange") : scalar_of(b, "arange");
    const Scalar st = scalar_of(step, "arange");
    const bool all_integers = start.dtype() != DType::Float64 && end.dtype() != DType::Float64 && st.dtype() != DType::Float64;
    const DType dt = !dtype.is_none() ? dtype.cast<DType>() : all_integers ? DType::Int64 : DType::Float32;
    Tensor t = arange(start, end, st, dt, device.is_none() ? Device::cpu() : device_from_python(device));
    if (requires_grad) t.set_requires_grad(true);
    return t;
  }, "start"_a, "end"_a = py::none(), "step"_a = 1, py::kw_only(), "dtype"_a = py::none(), "device"_a = py::none(),
     "requires_grad"_a = false);
  m.def("manual_seed", &manual_seed, "seed"_a, "Seeds the generator used for initialisation and dropout.");
  m.def("is_grad_enabled", &GradMode::is_enabled);
  m.def("set_grad_enabled", &GradMode::set_enabled, "mode"_a);
}

}  // namespace dlcore::bindings
