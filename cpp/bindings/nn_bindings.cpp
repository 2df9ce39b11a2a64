// dlcore.nn: Module (subclassable from Python: attributes that are Parameters or Modules register
// themselves, forward may be overridden) and the built-in layers. Python's attribute protocol
// (__setattr__/__getattr__), __call__ and __repr__ are glue that only Python needs, so they live here.
#include <pybind11/stl.h>

#include <set>

#include "bindings.h"
#include "dlcore/nn.h"

namespace dlcore::bindings {
namespace {
using namespace pybind11::literals;
using nn::Module;

// Every bound module class is built as this alias when Python subclasses it (dl.nn.Linear and
// dl.nn.Conv2d are such subclasses, as is any user's Module): forward() dispatches to the Python
// override, and smart_holder keeps the Python half (its type, methods and attributes) alive for as
// long as C++ (a parent Module, a Sequential) holds the layer. Without the alias, a layer stored
// only in its parent decays to the bare C++ class once Python lets go of it.
template <class Layer>
class PyLayer : public Layer, public py::trampoline_self_life_support {
 public:
  using Layer::Layer;
  Tensor forward(const Tensor& x) override { PYBIND11_OVERRIDE(Tensor, Layer, forward, x); }
};
using PyModule = PyLayer<Module>;

std::pair<int64_t, int64_t> pair_arg(const py::object& v, const char* layer, const char* name) {
  if (v.is_none()) return {0, 0};
  if (py::isinstance<py::int_>(v)) {
    int64_t x = v.cast<int64_t>();
    return {x, x};
  }
  auto seq = v.cast<std::vector<int64_t>>();
  if (seq.size() != 2)
    throw ValueError(std::string(layer) + ": " + name + " must be an int or a pair of ints, got " + std::string(py::str(v)));
  return {seq[0], seq[1]};
}

py::object wrap_tensor(const Tensor& t, bool parameter) {
  if (!t.defined()) return py::none();
  return parameter ? py::cast(Parameter(t)) : py::cast(t);
}

std::string type_name(const py::handle& self) { return py::str(py::type::of(self).attr("__name__")); }

std::string module_repr(const py::handle& self) {
  const Module& m = self.cast<const Module&>();
  std::string out = type_name(self) + "(" + m.extra_repr();
  auto children = m.named_children();
  if (children.empty()) return out + ")";
  out += "\n";
  for (auto& [name, child] : children) {
    std::string body = py::str(py::cast(child).attr("__repr__")());
    std::string indented;
    for (char c : body) indented += c == '\n' ? std::string("\n  ") : std::string(1, c);
    out += "  (" + name + "): " + indented + "\n";
  }
  return out + ")";
}

void module_setattr(py::object self, const std::string& name, py::object value) {
  Module& m = self.cast<Module&>();
  int kind = m.find(name);
  if (py::isinstance<Parameter>(value)) {
    m.register_parameter(name, value.cast<Tensor>());
  } else if (py::isinstance<Module>(value)) {
    m.register_module(name, value.cast<std::shared_ptr<Module>>());
  } else if (kind == 1 && value.is_none()) {
    m.register_parameter(name, Tensor());
  } else if (kind == 1) {
    throw py::type_error("cannot assign '" + std::string(py::str(py::type::of(value).attr("__name__"))) +
                         "' as parameter '" + name + "' (dlcore.nn.Parameter or None expected)");
  } else if (kind == 2 && (value.is_none() || py::isinstance<Tensor>(value))) {
    m.register_buffer(name, value.is_none() ? Tensor() : value.cast<Tensor>());
  } else if (kind == 3 && !value.is_none()) {
    throw py::type_error("cannot assign '" + std::string(py::str(py::type::of(value).attr("__name__"))) +
                         "' as child module '" + name + "' (dlcore.nn.Module or None expected)");
  } else {
    if (kind == 3) m.unregister(name);
    if (PyObject_GenericSetAttr(self.ptr(), py::str(name).ptr(), value.ptr()) != 0) throw py::error_already_set();
  }
}

py::object module_getattr(py::object self, const std::string& name) {
  const Module& m = self.cast<const Module&>();
  switch (m.find(name)) {
    case 1: return wrap_tensor(m.parameter(name), true);
    case 2: return wrap_tensor(m.buffer(name), false);
    case 3: return py::cast(m.child(name));
    default: throw py::attribute_error("'" + type_name(self) + "' object has no attribute '" + name + "'");
  }
}

py::list named_modules(const std::shared_ptr<Module>& root, const std::string& prefix) {
  py::list out;
  out.append(py::make_tuple(prefix, py::cast(root)));
  for (auto& [path, child] : root->named_descendants(prefix)) out.append(py::make_tuple(path, py::cast(child)));
  return out;
}

// torch's named_children: each non-empty child once.
Module::NamedModules unique_children(const Module& mod) {
  Module::NamedModules out;
  std::set<const Module*> seen;
  for (auto& [name, child] : mod.named_children())
    if (child && seen.insert(child.get()).second) out.emplace_back(name, child);
  return out;
}

// Module hooks (dlcore.nn.hooks, torch's call order) run only for modules that have some; the state
// lives on the C++ module (Module::binding_hooks) so it survives the Python wrapper it was set through.
py::object call_module(py::object self, py::args args, py::kwargs kwargs) {
  if (!self.cast<Module&>().binding_hooks) return self.attr("forward")(*args, **kwargs);
  return py::module_::import("dlcore.nn.hooks").attr("call_with_hooks")(self, args, kwargs);
}

py::object module_hooks(const Module& mod) {
  return mod.binding_hooks ? *std::static_pointer_cast<py::object>(mod.binding_hooks) : py::none();
}

// Sequential::forward calls its children's forward in C++; when one of them (at any depth of nested
// Sequentials) has hooks, the children are called through __call__ instead, so the hooks run.
bool hooks_below(const Module& mod) {
  for (auto& [path, child] : mod.named_descendants())
    if (child->binding_hooks) return true;
  return false;
}

}  // namespace

void bind_nn(py::module_& m) {
  py::classh<Module, PyModule>(m, "Module", py::dynamic_attr(), "Base class of all layers; subclass it and define forward.")
      .def(py::init<>())
      .def("forward", &Module::forward, "input"_a)
      .def("__call__", &call_module)
      .def_property("_hooks", &module_hooks, [](Module& mod, py::object hooks) {
        mod.binding_hooks = hooks.is_none() ? nullptr : keep_python_object(std::move(hooks));
      })
      .def("__setattr__", &module_setattr)
      .def("__getattr__", &module_getattr)
      .def("__delattr__", [](py::object self, const std::string& name) {
        Module& mod = self.cast<Module&>();
        if (mod.find(name)) mod.unregister(name);
        else if (PyObject_GenericSetAttr(self.ptr(), py::str(name).ptr(), nullptr) != 0) throw py::error_already_set();
      })
      .def("__repr__", [](py::object self) { return module_repr(self); })
      .def("extra_repr", &Module::extra_repr)
      .def("register_parameter", [](Module& mod, const std::string& name, const py::object& p) {
        mod.register_parameter(name, p.is_none() ? Tensor() : p.cast<Tensor>());
      }, "name"_a, "param"_a)
      .def("register_buffer", [](Module& mod, const std::string& name, const py::object& t) {
        mod.register_buffer(name, t.is_none() ? Tensor() : t.cast<Tensor>());
      }, "name"_a, "tensor"_a)
      .def("add_module", &Module::register_module, "name"_a, "module"_a)
      .def("named_parameters", [](const Module& mod, const std::string& prefix, bool recurse) {
        py::list out;
        for (auto& [name, t] : mod.named_parameters(prefix, recurse)) out.append(py::make_tuple(name, Parameter(t)));
        return out;
      }, "prefix"_a = "", "recurse"_a = true)
      .def("parameters", [](const Module& mod, bool recurse) {
        py::list out;
        for (auto& t : mod.parameters(recurse)) out.append(Parameter(t));
        return out;
      }, "recurse"_a = true)
      .def("named_buffers", [](const Module& mod, const std::string& prefix, bool recurse) {
        return mod.named_buffers(prefix, recurse);
      }, "prefix"_a = "", "recurse"_a = true)
      .def("buffers", [](const Module& mod) {
        std::vector<Tensor> out;
        for (auto& e : mod.named_buffers()) out.push_back(e.second);
        return out;
      })
      .def("named_children", &unique_children)
      .def("children", [](const Module& mod) {
        std::vector<std::shared_ptr<Module>> out;
        for (auto& e : unique_children(mod)) out.push_back(e.second);
        return out;
      })
      .def("named_modules", [](const std::shared_ptr<Module>& mod) { return named_modules(mod, ""); })
      .def("modules", [](const std::shared_ptr<Module>& mod) {
        py::list out;
        for (auto item : named_modules(mod, "")) out.append(item.cast<py::tuple>()[1]);
        return out;
      })
      .def("apply", [](py::object self, py::object fn) {
        for (auto child : self.attr("children")()) child.attr("apply")(fn);
        fn(self);
        return self;
      }, "fn"_a)
      .def_property("training", &Module::is_training, &Module::set_training)
      .def("train", [](py::object self, bool mode) {
        self.cast<Module&>().train(mode);
        return self;
      }, "mode"_a = true)
      .def("eval", [](py::object self) {
        self.cast<Module&>().train(false);
        return self;
      })
      .def("to", [](py::object self, const py::object& device) {
        self.cast<Module&>().to(device_from_python(device));
        return self;
      }, "device"_a)
      .def("cuda", [](py::object self, const py::object& device) {
        self.cast<Module&>().to(device.is_none() ? Device::cuda() : device_from_python(device));
        return self;
      }, "device"_a = py::none())
      .def("cpu", [](py::object self) {
        self.cast<Module&>().to(Device::cpu());
        return self;
      })
      .def("zero_grad", &Module::zero_grad, "set_to_none"_a = true)
      .def("state_dict", [](const Module& mod) {
        py::object ordered = py::module_::import("collections").attr("OrderedDict")();
        for (auto& [name, t] : mod.state_dict()) ordered[py::str(name)] = t;
        return ordered;
      })
      .def("load_state_dict", [](Module& mod, const py::dict& state, bool strict) {
        nn::NamedTensors converted;
        for (auto item : state)
          converted.emplace_back(py::str(item.first), tensor_from_python(item.second, "load_state_dict"));
        auto [missing, unexpected] = mod.load_state_dict(converted, strict);
        return py::make_tuple(missing, unexpected);
      }, "state_dict"_a, "strict"_a = true,
         "Copies values in place (dlcore tensors, numpy arrays or torch CPU tensors); returns (missing, unexpected).");

  py::classh<nn::Linear, Module, PyLayer<nn::Linear>>(m, "Linear")
      .def(py::init<int64_t, int64_t, bool>(), "in_features"_a, "out_features"_a, "bias"_a = true)
      .def_readonly("in_features", &nn::Linear::in_features)
      .def_readonly("out_features", &nn::Linear::out_features);
  py::classh<nn::Conv2d, Module, PyLayer<nn::Conv2d>>(m, "Conv2d")
      .def(py::init([](int64_t in, int64_t out, const py::object& k, const py::object& stride, const py::object& padding,
                       const py::object& dilation, int64_t groups, bool bias) {
        return std::make_shared<PyLayer<nn::Conv2d>>(in, out, pair_arg(k, "Conv2d", "kernel_size"), pair_arg(stride, "Conv2d", "stride"),
                                            pair_arg(padding, "Conv2d", "padding"), pair_arg(dilation, "Conv2d", "dilation"),
                                            groups, bias);
      }), "in_channels"_a, "out_channels"_a, "kernel_size"_a, "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1,
         "groups"_a = 1, "bias"_a = true)
      .def_readonly("in_channels", &nn::Conv2d::in_channels)
      .def_readonly("out_channels", &nn::Conv2d::out_channels)
      .def_readonly("kernel_size", &nn::Conv2d::kernel_size)
      .def_readonly("stride", &nn::Conv2d::stride)
      .def_readonly("padding", &nn::Conv2d::padding)
      .def_readonly("groups", &nn::Conv2d::groups);
  py::classh<nn::BatchNorm2d, Module, PyLayer<nn::BatchNorm2d>>(m, "BatchNorm2d")
      .def(py::init<int64_t, float, std::optional<float>, bool, bool>(), "num_features"_a, "eps"_a = 1e-5f,
           "momentum"_a = std::optional<float>(0.1f),
           "affine"_a = true, "track_running_stats"_a = true)
      .def_readonly("num_features", &nn::BatchNorm2d::num_features)
      .def_readwrite("momentum", &nn::BatchNorm2d::momentum)
      .def_readwrite("eps", &nn::BatchNorm2d::eps);
  py::classh<nn::Pool2d, Module>(m, "_Pool2d");
  py::classh<nn::MaxPool2d, nn::Pool2d, PyLayer<nn::MaxPool2d>>(m, "MaxPool2d")
      .def(py::init([](const py::object& k, const py::object& s, const py::object& p) {
        return std::make_shared<PyLayer<nn::MaxPool2d>>(pair_arg(k, "MaxPool2d", "kernel_size"), s.is_none() ? pair_arg(k, "MaxPool2d", "kernel_size") : pair_arg(s, "MaxPool2d", "stride"),
                                               pair_arg(p, "MaxPool2d", "padding"));
      }), "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0);
  py::classh<nn::AvgPool2d, nn::Pool2d, PyLayer<nn::AvgPool2d>>(m, "AvgPool2d")
      .def(py::init([](const py::object& k, const py::object& s, const py::object& p) {
        return std::make_shared<PyLayer<nn::AvgPool2d>>(pair_arg(k, "AvgPool2d", "kernel_size"), s.is_none() ? pair_arg(k, "AvgPool2d", "kernel_size") : pair_arg(s, "AvgPool2d", "stride"),
                                               pair_arg(p, "AvgPool2d", "padding"));
      }), "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0);
  py::classh<nn::Flatten, Module, PyLayer<nn::Flatten>>(m, "Flatten").def(py::init<int64_t, int64_t>(), "start_dim"_a = 1, "end_dim"_a = -1);
  py::classh<nn::Dropout, Module, PyLayer<nn::Dropout>>(m, "Dropout")
      .def(py::init([](float p, bool) { return std::make_shared<PyLayer<nn::Dropout>>(p); }), "p"_a = 0.5f, "inplace"_a = false)
      .def_readwrite("p", &nn::Dropout::p);
  py::classh<nn::Sequential, Module, PyLayer<nn::Sequential>>(m, "Sequential")
      .def(py::init([](py::args modules) {
        auto seq = std::make_shared<PyLayer<nn::Sequential>>();
        for (auto item : modules) {
          if (!py::isinstance<Module>(item))
            throw py::type_error("Sequential: " + std::string(py::str(py::type::of(item).attr("__name__"))) + " is not a Module subclass");
          seq->append(item.cast<std::shared_ptr<Module>>());
        }
        return seq;
      }))
      .def("append", [](py::object self, const std::shared_ptr<Module>& mod) {
        self.cast<nn::Sequential&>().append(mod);
        return self;
      })
      .def("forward", [](py::object self, py::object x) -> py::object {
        auto& seq = self.cast<nn::Sequential&>();
        if (!hooks_below(seq)) return py::cast(seq.forward(x.cast<Tensor>()));
        for (auto& e : seq.named_children()) x = py::cast(e.second)(x);
        return x;
      }, "input"_a)
      .def("__len__", &nn::Sequential::size)
      .def("__getitem__", [](const nn::Sequential& seq, int64_t i) {
        int64_t n = static_cast<int64_t>(seq.size());
        if (i < -n || i >= n) throw py::index_error("Sequential: index " + std::to_string(i) + " out of range for " + std::to_string(n) + " modules");
        return seq.named_children()[i < 0 ? i + n : i].second;
      })
      .def("__iter__", [](const nn::Sequential& seq) {
        py::list out;
        for (auto& e : seq.named_children()) out.append(py::cast(e.second));
        return py::iter(out);
      });
  py::classh<nn::CrossEntropyLoss, Module>(m, "CrossEntropyLoss")
      .def(py::init<const std::string&, float>(), "reduction"_a = "mean", "label_smoothing"_a = 0.0f)
      .def("forward", &nn::CrossEntropyLoss::forward, "input"_a, "target"_a);

}

}  // namespace dlcore::bindings
