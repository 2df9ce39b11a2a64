// dlcore._C.functional.layer_norm: the fused CPU layer norm with torch's argument names
// (dl.nn.functional.layer_norm calls it for float32 CPU inputs).
#include <pybind11/stl.h>

#include "bindings.h"
#include "dlcore/nn.h"

namespace dlcore::bindings {
namespace {
using namespace pybind11::literals;
}  // namespace

void bind_layer_norm(py::module_& functional) {
  functional.def("layer_norm", [](const Tensor& x, const Shape& normalized_shape, const py::object& weight,
                                  const py::object& bias, float eps) {
    return ops::layer_norm(x, normalized_shape, weight.is_none() ? Tensor() : weight.cast<Tensor>(),
                           bias.is_none() ? Tensor() : bias.cast<Tensor>(), eps);
  }, "input"_a, "normalized_shape"_a, "weight"_a = py::none(), "bias"_a = py::none(), "eps"_a = 1e-5f);
}

}  // namespace dlcore::bindings
