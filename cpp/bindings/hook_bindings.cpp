// Python's side of autograd hooks: Tensor.register_hook / register_post_accumulate_grad_hook /
// retain_grad, their removable handles, and the group gradient hook under Module backward hooks.
// Python callables become the engine's std::function hooks, called with the GIL held.
#include <pybind11/stl.h>

#include "bindings.h"
#include "dlcore/autograd.h"

namespace dlcore::bindings {

std::shared_ptr<py::object> keep_python_object(py::object value) {
  return std::shared_ptr<py::object>(new py::object(std::move(value)), [](py::object* p) {
    if (!Py_IsInitialized()) {  // the interpreter is gone: the reference can no longer be released
      p->release();
      delete p;
      return;
    }
    py::gil_scoped_acquire gil;
    delete p;
  });
}

namespace {
using namespace pybind11::literals;

std::string type_name(const py::handle& value) { return py::str(py::type::of(value).attr("__name__")); }

Tensor optional_tensor(const py::handle& value, const char* what) {
  if (value.is_none()) return Tensor();
  if (!py::isinstance<Tensor>(value))
    throw py::type_error(std::string(what) + ": expected a Tensor or None, got " + type_name(value));
  return value.cast<Tensor>();
}

py::object tensor_or_none(const Tensor& t) { return t.defined() ? py::cast(t) : py::none(); }

GradHook python_grad_hook(py::object fn) {
  auto callable = keep_python_object(std::move(fn));
  return [callable](const Tensor& grad) {
    py::gil_scoped_acquire gil;
    return optional_tensor((*callable)(grad), "hook return value");
  };
}

PostAccumulateGradHook python_post_accumulate_grad_hook(py::object fn) {
  auto callable = keep_python_object(std::move(fn));
  return [callable](const Tensor& leaf) {
    py::gil_scoped_acquire gil;
    py::object result = (*callable)(leaf);
    if (!result.is_none())
      throw py::type_error("post accumulate grad hook: expected None to be returned, got " + type_name(result));
  };
}

autograd::GroupGradHook python_group_grad_hook(py::object fn) {
  auto callable = keep_python_object(std::move(fn));
  return [callable](const std::vector<Tensor>& grads) {
    py::gil_scoped_acquire gil;
    py::list args;
    for (const Tensor& g : grads) args.append(tensor_or_none(g));
    py::object result = (*callable)(args);
    std::vector<Tensor> replaced;
    if (result.is_none()) return replaced;
    for (auto item : result.cast<py::sequence>()) replaced.push_back(optional_tensor(item, "backward hook"));
    return replaced;
  };
}

}  // namespace

void bind_hooks(py::module_& m) {
  py::class_<HookHandle>(m, "HookHandle", "Removes the hook it was returned for (like torch.utils.hooks.RemovableHandle).")
      .def_property_readonly("id", &HookHandle::id)
      .def("remove", &HookHandle::remove, "Removes the hook; calling it again does nothing.")
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](const HookHandle& h, py::args) { h.remove(); });

  auto tensor = py::reinterpret_borrow<py::class_<Tensor>>(m.attr("Tensor"));
  tensor
      .def("register_hook", [](const Tensor& t, py::object hook) { return t.register_hook(python_grad_hook(std::move(hook))); },
           "hook"_a, "hook(grad) runs on the gradient w.r.t. this tensor during backward and may return a replacement.")
      .def("register_post_accumulate_grad_hook", [](const Tensor& t, py::object hook) {
        return t.register_post_accumulate_grad_hook(python_post_accumulate_grad_hook(std::move(hook)));
      }, "hook"_a, "hook(tensor) runs on a leaf after backward has accumulated into its .grad.")
      .def("retain_grad", &Tensor::retain_grad, "Keeps a non-leaf's gradient in .grad during backward.")
      .def_property_readonly("retains_grad", &Tensor::retains_grad);

  m.def("_hook_group_gradients", [](const std::vector<Tensor>& tensors, py::object hook) {
    return autograd::hook_group_gradients(tensors, python_group_grad_hook(std::move(hook)));
  }, "tensors"_a, "hook"_a,
     "Aliases of tensors whose gradients, once all computed, go together through hook(grads) -> None or replacements.");
}

}  // namespace dlcore::bindings
