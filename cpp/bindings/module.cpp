// The dlcore._C extension module: ties together the per-area binding files.
#include "bindings.h"

PYBIND11_MODULE(_C, m) {
  m.doc() = "dlcore's C++ engine: tensors, autograd, ops, modules, optimizers and CUDA kernels";
  dlcore::bindings::bind_tensor(m);
  auto functional = m.def_submodule("functional", "Differentiable ops (dlcore.nn.functional)");
  dlcore::bindings::bind_functional(functional);
  auto nn = m.def_submodule("nn", "Modules");
  dlcore::bindings::bind_nn(nn);
  auto optim = m.def_submodule("optim", "Optimizers");
  dlcore::bindings::bind_optim(optim);
  auto cuda = m.def_submodule("cuda", "CUDA device management");
  dlcore::bindings::bind_cuda(cuda);
}
