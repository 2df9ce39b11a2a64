// dlcore._C.optim: the C++ optimizers. dlcore/optim.py subclasses them to add torch's signatures
// (betas as a pair, AdamW's defaults), param_groups and state_dict.
#include <pybind11/stl.h>

#include "bindings.h"
#include "dlcore/optim.h"

namespace dlcore::bindings {
namespace {
using namespace pybind11::literals;

std::vector<Tensor> params_arg(const py::iterable& params, const char* name) {
  std::vector<Tensor> out;
  for (auto p : params) {
    if (py::isinstance<py::dict>(p))
      throw ValueError(std::string(name) + ": parameter groups (dicts) are not supported; pass model.parameters()");
    if (!py::isinstance<Tensor>(p))
      throw py::type_error(std::string(name) + ": expected Tensors in params, got " +
                           std::string(py::str(py::type::of(p).attr("__name__"))));
    out.push_back(p.cast<Tensor>());
  }
  return out;
}
}  // namespace

void bind_optim(py::module_& m) {
  py::class_<optim::Optimizer>(m, "Optimizer")
      .def("step", &optim::Optimizer::step)
      .def("zero_grad", &optim::Optimizer::zero_grad, "set_to_none"_a = true)
      .def_property("lr", &optim::Optimizer::lr, &optim::Optimizer::set_lr)
      .def_property_readonly("params", [](const optim::Optimizer& o) {
        py::list out;
        for (auto& t : o.params()) out.append(Parameter(t));
        return out;
      })
      .def("state_tensors", &optim::Optimizer::state_tensors)
      .def("load_state_tensors", &optim::Optimizer::load_state_tensors, "state"_a)
      .def("hyperparameters", &optim::Optimizer::hyperparameters)
      .def("set_hyperparameter", &optim::Optimizer::set_hyperparameter, "name"_a, "value"_a);
  py::class_<optim::SGD, optim::Optimizer>(m, "SGD", py::dynamic_attr())
      .def(py::init([](const py::iterable& params, float lr, float momentum, float dampening, float wd, bool nesterov) {
        return new optim::SGD(params_arg(params, "SGD"), lr, momentum, dampening, wd, nesterov);
      }), "params"_a, "lr"_a, "momentum"_a = 0.0f, "dampening"_a = 0.0f, "weight_decay"_a = 0.0f, "nesterov"_a = false);
  py::class_<optim::Adam, optim::Optimizer>(m, "Adam", py::dynamic_attr())
      .def(py::init([](const py::iterable& params, float lr, float beta1, float beta2, float eps, float wd, bool decoupled) {
        return new optim::Adam(params_arg(params, decoupled ? "AdamW" : "Adam"), lr, beta1, beta2, eps, wd, decoupled);
      }), "params"_a, "lr"_a, "beta1"_a, "beta2"_a, "eps"_a, "weight_decay"_a, "decoupled"_a);
}

}  // namespace dlcore::bindings
