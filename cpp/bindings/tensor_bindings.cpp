// Python's view of Tensor: creation from numpy, zero-copy export to numpy on the CPU, metadata,
// arithmetic operators, autograd entry points and device moves. No math lives here.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cstring>
#include <sstream>

#include "bindings.h"
#include "dlcore/autograd.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/ops.h"

namespace dlcore::bindings {
namespace {
using namespace pybind11::literals;

Device to_device(const py::handle& d) {
  if (py::isinstance<Device>(d)) return d.cast<Device>();
  return Device::parse(py::str(d));
}

Tensor from_numpy(py::array array) {
  py::dtype dt = array.dtype();
  char kind = dt.kind();
  DType dtype;
  py::dtype target;
  if (kind == 'f') {
    dtype = DType::Float32;
    target = py::dtype::of<float>();
  } else if (kind == 'u' && dt.itemsize() == 1) {
    dtype = DType::UInt8;
    target = py::dtype::of<uint8_t>();
  } else if (kind == 'i' || kind == 'u' || kind == 'b') {
    dtype = kind == 'b' ? DType::Float32 : DType::Int64;
    target = kind == 'b' ? py::dtype::of<float>() : py::dtype::of<int64_t>();
  } else {
    throw ValueError("tensor: unsupported numpy dtype '" + std::string(py::str(dt)) +
                     "' (expected a float, integer or bool array)");
  }
  // One conversion to a C-contiguous array of the target type handles strides, byte order and casts.
  py::module_ np = py::module_::import("numpy");
  py::array c = np.attr("asarray")(array, target, "order"_a = "C");  // keeps 0-d arrays 0-d
  Shape shape(c.shape(), c.shape() + c.ndim());
  Tensor t = Tensor::empty(shape, dtype);
  if (t.numel() > 0) std::memcpy(t.raw_data(), c.data(), t.numel() * dtype_size(dtype));
  return t;
}

py::array to_numpy(const Tensor& t) {
  if (t.is_cuda())
    throw py::type_error("numpy: can't convert a cuda tensor to numpy; use Tensor.cpu() to copy it to host memory first");
  if (t.requires_grad())
    throw std::runtime_error("numpy: can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()");
  py::dtype dt = t.dtype() == DType::Float32 ? py::dtype::of<float>()
                 : t.dtype() == DType::Int64 ? py::dtype::of<int64_t>()
                                             : py::dtype::of<uint8_t>();
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides;
  for (int64_t s : t.strides()) strides.push_back(s * static_cast<int64_t>(dtype_size(t.dtype())));
  // The capsule owns a reference to the storage, so the array keeps the memory alive: zero copy.
  auto* owner = new std::shared_ptr<Storage>(t.storage());
  py::capsule base(owner, [](void* p) { delete static_cast<std::shared_ptr<Storage>*>(p); });
  return py::array(dt, shape, strides, t.raw_data(), base);
}

Shape shape_from_args(const py::args& args) {
  if (args.size() == 1 && (py::isinstance<py::tuple>(args[0]) || py::isinstance<py::list>(args[0])))
    return args[0].cast<Shape>();
  return args.cast<Shape>();
}

Tensor scalar_like(float value, const Tensor& t) { return Tensor::full({}, value, t.device()); }

// Tensor-or-number operands: numbers become affine maps (no broadcast tensor is allocated).
Tensor operand(const py::handle& other, const Tensor& like, const char* op) {
  if (py::isinstance<Tensor>(other)) return other.cast<Tensor>();
  if (py::isinstance<py::float_>(other) || py::isinstance<py::int_>(other)) return scalar_like(other.cast<float>(), like);
  return tensor_from_python(other, op).to(like.device());
}

bool is_number(const py::handle& h) { return py::isinstance<py::float_>(h) || py::isinstance<py::int_>(h); }

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
  if (t.is_cuda()) out << ", device='cuda'";
  if (t.grad_fn()) out << ", grad_fn=<" << t.grad_fn()->name() << ">";
  else if (t.requires_grad()) out << ", requires_grad=True";
  out << ")";
  return out.str();
}

}  // namespace

Tensor tensor_from_python(const py::handle& value, const char* op) {
  if (py::isinstance<Tensor>(value)) return value.cast<Tensor>();
  py::module_ np = py::module_::import("numpy");
  py::object arr;
  try {
    arr = np.attr("asarray")(value);
  } catch (py::error_already_set& e) {
    throw ValueError(std::string(op) + ": cannot convert " + std::string(py::str(py::type::of(value))) + " to a tensor: " + e.what());
  }
  if (py::str(arr.attr("dtype").attr("kind")).cast<std::string>() == "O")
    throw ValueError(std::string(op) + ": cannot convert " + std::string(py::str(py::type::of(value))) +
                     " to a tensor (ragged or non-numeric data)");
  return from_numpy(arr.cast<py::array>());
}

void bind_tensor(py::module_& m) {
  py::enum_<DType>(m, "dtype")
      .value("float32", DType::Float32)
      .value("int64", DType::Int64)
      .value("uint8", DType::UInt8);

  py::class_<Device>(m, "device")
      .def(py::init([](const std::string& name) { return Device::parse(name); }), "name"_a)
      .def_property_readonly("type", [](const Device& d) { return d.str(); })
      .def("__str__", &Device::str)
      .def("__repr__", [](const Device& d) { return "device(type='" + d.str() + "')"; })
      .def("__eq__", [](const Device& a, const py::object& b) {
        if (py::isinstance<Device>(b)) return a == b.cast<Device>();
        if (py::isinstance<py::str>(b)) return a == Device::parse(b.cast<std::string>());
        return false;
      })
      .def("__hash__", [](const Device& d) { return static_cast<int>(d.type); });

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
      }, [](Tensor& x, py::object g) { x.set_grad(g.is_none() ? Tensor() : g.cast<Tensor>()); })
      .def_property_readonly("grad_fn", [](const Tensor& x) -> py::object {
        return x.grad_fn() ? py::cast(x.grad_fn()) : py::none();
      })
      .def("backward", [](const Tensor& x, py::object gradient, bool retain_graph) {
        Tensor g = gradient.is_none() ? Tensor() : tensor_from_python(gradient, "backward").to(x.device());
        x.backward(g, retain_graph);
      }, "gradient"_a = py::none(), "retain_graph"_a = false)
      .def("detach", &Tensor::detach)
      .def("item", [](const Tensor& x) -> py::object {
        double v = x.item();
        if (x.dtype() == DType::Float32) return py::float_(v);
        return py::int_(static_cast<int64_t>(v));
      })
      .def("numpy", &to_numpy)
      .def("__array__", [](const Tensor& x, py::object dtype, py::object) {
        py::array a = to_numpy(x.detach().to(Device::cpu()));
        return dtype.is_none() ? a : py::array(a.attr("astype")(dtype));
      }, "dtype"_a = py::none(), "copy"_a = py::none())
      .def("tolist", [](const Tensor& x) { return to_numpy(x.detach().to(Device::cpu())).attr("tolist")(); })
      .def("to", [](const Tensor& x, const py::object& device) { return x.to(to_device(device)); }, "device"_a)
      .def("cuda", [](const Tensor& x) { return x.to(Device::cuda()); })
      .def("cpu", [](const Tensor& x) { return x.to(Device::cpu()); })
      .def("clone", &Tensor::clone)
      .def("zero_", [](Tensor& x) { x.zero_(); return x; })
      .def("fill_", [](Tensor& x, float v) { x.fill_(v); return x; })
      .def("copy_", [](Tensor& x, const py::object& src) {
        NoGradGuard guard;
        x.copy_(tensor_from_python(src, "copy_"));
        return x;
      })
      .def("flatten", &ops::flatten, "start_dim"_a = 0, "end_dim"_a = -1)
      .def("sum", [](const Tensor& x) { return ops::sum(x); })
      .def("mean", [](const Tensor& x) { return ops::mean(x); })
      .def("argmax", &ops::argmax, "dim"_a)
      .def("eq", [](const Tensor& a, const py::object& b) { return ops::eq(a, operand(b, a, "eq")); })
      .def("relu", &ops::relu)
      .def("sigmoid", &ops::sigmoid)
      .def("tanh", &ops::tanh)
      .def("softmax", &ops::softmax, "dim"_a = -1)
      .def("log_softmax", &ops::log_softmax, "dim"_a = -1)
      .def("__eq__", [](const Tensor& a, const py::object& b) { return ops::eq(a, operand(b, a, "eq")); })
      .def("__hash__", [](const Tensor& x) { return reinterpret_cast<std::uintptr_t>(x.impl().get()); })
      .def("__neg__", [](const Tensor& a) { return ops::affine(a, -1.0f, 0.0f); })
      .def("__add__", [](const Tensor& a, const py::object& b) {
        return is_number(b) ? ops::affine(a, 1.0f, b.cast<float>()) : ops::add(a, operand(b, a, "add"));
      })
      .def("__radd__", [](const Tensor& a, const py::object& b) {
        return is_number(b) ? ops::affine(a, 1.0f, b.cast<float>()) : ops::add(operand(b, a, "add"), a);
      })
      .def("__sub__", [](const Tensor& a, const py::object& b) {
        return is_number(b) ? ops::affine(a, 1.0f, -b.cast<float>()) : ops::sub(a, operand(b, a, "sub"));
      })
      .def("__rsub__", [](const Tensor& a, const py::object& b) {
        return is_number(b) ? ops::affine(a, -1.0f, b.cast<float>()) : ops::sub(operand(b, a, "sub"), a);
      })
      .def("__mul__", [](const Tensor& a, const py::object& b) {
        return is_number(b) ? ops::affine(a, b.cast<float>(), 0.0f) : ops::mul(a, operand(b, a, "mul"));
      })
      .def("__rmul__", [](const Tensor& a, const py::object& b) {
        return is_number(b) ? ops::affine(a, b.cast<float>(), 0.0f) : ops::mul(operand(b, a, "mul"), a);
      })
      .def("__truediv__", [](const Tensor& a, const py::object& b) {
        return is_number(b) ? ops::affine(a, 1.0f / b.cast<float>(), 0.0f) : ops::div(a, operand(b, a, "div"));
      })
      .def("__rtruediv__", [](const Tensor& a, const py::object& b) { return ops::div(operand(b, a, "div"), a); })
      .def("__matmul__", [](const Tensor& a, const Tensor& b) { return ops::matmul(a, b); })
      .def("__repr__", &repr)
      .def("__bool__", [](const Tensor& x) {
        if (x.numel() != 1) throw ValueError("bool: the truth value of a tensor with more than one element is ambiguous");
        return x.item() != 0.0;
      })
      .def("__float__", [](const Tensor& x) { return x.item(); })
      .def("__int__", [](const Tensor& x) { return static_cast<int64_t>(x.item()); })
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
  m.def("tensor", [](const py::object& data, const py::object& device, bool requires_grad, py::object dtype) {
    Tensor t = tensor_from_python(data, "tensor");
    bool shares_input = py::isinstance<Tensor>(data);  // the conversions below all make new storage
    if (!dtype.is_none() && dtype.cast<DType>() != t.dtype()) {
      py::object arr = py::module_::import("numpy").attr("asarray")(data);
      const char* np_name = dtype.cast<DType>() == DType::Float32 ? "float32" : dtype.cast<DType>() == DType::Int64 ? "int64" : "uint8";
      t = from_numpy(arr.attr("astype")(np_name));
      shares_input = false;
    }
    if (shares_input) t = t.detach().clone();  // like torch.tensor: always a new leaf with its own storage
    if (!device.is_none()) t = t.to(to_device(device));
    if (requires_grad) t.set_requires_grad(true);
    return t;
  }, "data"_a, "device"_a = py::none(), "requires_grad"_a = false, "dtype"_a = py::none());
  auto make = [](auto fn) {
    return [fn](py::args shape, const py::object& device, bool requires_grad, py::object dtype) {
      Device d = device.is_none() ? Device::cpu() : to_device(device);
      DType dt = dtype.is_none() ? DType::Float32 : dtype.cast<DType>();
      Tensor t = fn(shape_from_args(shape), d, dt);
      if (requires_grad) t.set_requires_grad(true);
      return t;
    };
  };
  auto float_only = [](const char* name, DType dt) {
    if (dt != DType::Float32) throw ValueError(std::string(name) + ": only float32 is supported");
  };
  m.def("empty", make([](const Shape& s, Device d, DType dt) { return Tensor::empty(s, dt, d); }), "device"_a = py::none(), "requires_grad"_a = false, "dtype"_a = py::none());
  m.def("zeros", make([](const Shape& s, Device d, DType dt) { return Tensor::zeros(s, dt, d); }), "device"_a = py::none(), "requires_grad"_a = false, "dtype"_a = py::none());
  m.def("ones", make([float_only](const Shape& s, Device d, DType dt) { float_only("ones", dt); return Tensor::full(s, 1.0f, d); }), "device"_a = py::none(), "requires_grad"_a = false, "dtype"_a = py::none());
  m.def("rand", make([float_only](const Shape& s, Device d, DType dt) { float_only("rand", dt); return rand(s, d); }), "device"_a = py::none(), "requires_grad"_a = false, "dtype"_a = py::none());
  m.def("randn", make([float_only](const Shape& s, Device d, DType dt) { float_only("randn", dt); return randn(s, d); }), "device"_a = py::none(), "requires_grad"_a = false, "dtype"_a = py::none());
  m.def("full", [](const Shape& shape, float value, const py::object& device, bool requires_grad) {
    Tensor t = Tensor::full(shape, value, device.is_none() ? Device::cpu() : to_device(device));
    if (requires_grad) t.set_requires_grad(true);
    return t;
  }, "shape"_a, "fill_value"_a, "device"_a = py::none(), "requires_grad"_a = false);
  m.def("arange", [](int64_t n, const py::object& device) {
    return arange(n, device.is_none() ? Device::cpu() : to_device(device));
  }, "end"_a, "device"_a = py::none());
  m.def("manual_seed", &manual_seed, "seed"_a, "Seeds the generator used for initialisation and dropout.");
  m.def("is_grad_enabled", &GradMode::is_enabled);
  m.def("set_grad_enabled", &GradMode::set_enabled, "mode"_a);
}

}  // namespace dlcore::bindings
