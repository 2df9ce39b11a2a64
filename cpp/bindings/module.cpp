// The dlcore._C extension module: ties together the per-area binding files.
#include "bindings.h"
#include "dlcore/kernels.h"
#include "dlcore/ops.h"

PYBIND11_MODULE(_C, m) {
  m.doc() = "dlcore's C++ engine: tensors, autograd, ops, modules, optimizers and CUDA kernels";
  dlcore::bindings::bind_tensor(m);
  dlcore::bindings::bind_views(m);
  dlcore::bindings::bind_indexing(m);
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw dlcore::ValueError("set_num_threads: expected a positive thread count, got " + std::to_string(n));
    dlcore::kernels::cpu::set_num_threads(n);
  }, "Sets the number of threads the CPU kernels use, for the whole process.");
  m.def("get_num_threads", &dlcore::kernels::cpu::num_threads);
  m.def("_set_cpu_winograd", &dlcore::kernels::cpu::set_winograd_enabled,
        "Allows or forbids Winograd 3x3 convolutions on the CPU (dl.backends.cpu.allow_winograd).");
  m.def("_cpu_winograd", &dlcore::kernels::cpu::winograd_enabled);
  auto functional = m.def_submodule("functional", "Differentiable ops (dlcore.nn.functional)");
  dlcore::bindings::bind_functional(functional);
  dlcore::bindings::bind_layer_norm(functional);
  auto tensor = pybind11::reinterpret_borrow<pybind11::class_<dlcore::Tensor>>(m.attr("Tensor"));
  dlcore::bindings::bind_generated_ops(m, functional, tensor);
  dlcore::bindings::bind_reductions(m, functional, tensor);
  dlcore::bindings::bind_tensor_surface(m, tensor);
  auto nn = m.def_submodule("nn", "Modules");
  dlcore::bindings::bind_nn(nn);
  dlcore::bindings::bind_hooks(m);
  auto optim = m.def_submodule("optim", "Optimizers");
  dlcore::bindings::bind_optim(optim);
  auto cuda = m.def_submodule("cuda", "CUDA device management");
  dlcore::bindings::bind_cuda(cuda, tensor);
  auto profiler = m.def_submodule("profiler", "The op-level profiler's recorder (dlcore.profiler)");
  dlcore::bindings::bind_profiler(profiler);
}
