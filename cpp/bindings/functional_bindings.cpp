// dlcore.nn.functional: the ops with PyTorch's argument names (ints or pairs for sizes).
#include <pybind11/stl.h>

#include "bindings.h"
#include "dlcore/autograd.h"
#include "dlcore/ops.h"

namespace dlcore::bindings {
namespace {
using namespace pybind11::literals;

std::pair<int64_t, int64_t> pair_arg(const py::object& v, const char* op, const char* name) {
  if (py::isinstance<py::int_>(v)) {
    int64_t x = v.cast<int64_t>();
    return {x, x};
  }
  auto seq = v.cast<std::vector<int64_t>>();
  if (seq.size() != 2)
    throw ValueError(std::string(op) + ": " + name + " must be an int or a pair of ints, got " + std::string(py::str(v)));
  return {seq[0], seq[1]};
}

Tensor optional_tensor(const py::object& v) { return v.is_none() ? Tensor() : v.cast<Tensor>(); }

ops::Pool2dArgs pool_args(const py::object& kernel, const py::object& stride, const py::object& padding, const char* op) {
  auto k = pair_arg(kernel, op, "kernel_size");
  auto s = stride.is_none() ? k : pair_arg(stride, op, "stride");
  auto p = pair_arg(padding, op, "padding");
  ops::Pool2dArgs a{k.first, k.second, s.first, s.second, p.first, p.second};
  return a;
}
}  // namespace

void bind_functional(py::module_& m) {
  // conv2d_relu / linear_relu: relu(conv2d(...)) / relu(linear(...)) with the ReLU fused into the
  // bias kernel (dlcore's counterparts of torch.ao.nn.intrinsic's ConvReLU2d and LinearReLU).
  for (bool relu : {false, true}) {
    m.def(relu ? "conv2d_relu" : "conv2d", [relu](const Tensor& x, const Tensor& w, const py::object& bias,
                                                   const py::object& stride, const py::object& padding,
                                                   const py::object& dilation, int64_t groups) {
      ops::Conv2dArgs a;
      std::tie(a.stride_h, a.stride_w) = pair_arg(stride, "conv2d", "stride");
      std::tie(a.pad_h, a.pad_w) = pair_arg(padding, "conv2d", "padding");
      std::tie(a.dilation_h, a.dilation_w) = pair_arg(dilation, "conv2d", "dilation");
      a.groups = groups;
      return ops::conv2d(x, w, optional_tensor(bias), a, relu);
    }, "input"_a, "weight"_a, "bias"_a = py::none(), "stride"_a = 1, "padding"_a = 0, "dilation"_a = 1, "groups"_a = 1);
    m.def(relu ? "linear_relu" : "linear", [relu](const Tensor& x, const Tensor& w, const py::object& b) {
      return ops::linear(x, w, optional_tensor(b), relu);
    }, "input"_a, "weight"_a, "bias"_a = py::none());
  }
  m.def("matmul", &ops::matmul, "input"_a, "other"_a);
  m.def("max_pool2d", [](const Tensor& x, const py::object& k, const py::object& s, const py::object& p) {
    return ops::max_pool2d(x, pool_args(k, s, p, "max_pool2d"));
  }, "input"_a, "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0);
  m.def("max_pool2d_with_indices", [](const Tensor& x, const py::object& k, const py::object& s, const py::object& p) {
    ops::MaxPool2dResult r = ops::max_pool2d_with_indices(x, pool_args(k, s, p, "max_pool2d_with_indices"));
    return py::make_tuple(r.values, r.indices);
  }, "input"_a, "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0);
  m.def("avg_pool2d", [](const Tensor& x, const py::object& k, const py::object& s, const py::object& p) {
    return ops::avg_pool2d(x, pool_args(k, s, p, "avg_pool2d"));
  }, "input"_a, "kernel_size"_a, "stride"_a = py::none(), "padding"_a = 0);
  m.def("dropout", &ops::dropout, "input"_a, "p"_a = 0.5f, "training"_a = true);
  m.def("batch_norm", [](const Tensor& x, const py::object& rm, const py::object& rv, const py::object& w,
                         const py::object& b, bool training, float momentum, float eps) {
    return ops::batch_norm(x, optional_tensor(rm), optional_tensor(rv), optional_tensor(w), optional_tensor(b), training,
                           momentum, eps);
  }, "input"_a, "running_mean"_a, "running_var"_a, "weight"_a = py::none(), "bias"_a = py::none(),
        "training"_a = false, "momentum"_a = 0.1f, "eps"_a = 1e-5f);
  m.def("log_softmax", &ops::log_softmax, "input"_a, "dim"_a = -1);
  m.def("softmax", &ops::softmax, "input"_a, "dim"_a = -1);
  m.def("cross_entropy", [](const Tensor& x, const Tensor& target, const std::string& reduction, float smoothing) {
    return ops::cross_entropy(x, target, ops::parse_reduction(reduction), smoothing);
  }, "input"_a, "target"_a, "reduction"_a = "mean", "label_smoothing"_a = 0.0f);
  m.def("flatten", &ops::flatten, "input"_a, "start_dim"_a = 0, "end_dim"_a = -1);
  m.def("reshape", &ops::reshape, "input"_a, "shape"_a);
  m.def("gather_normalize", &ops::gather_normalize, "images"_a, "labels"_a, "index"_a, "mean"_a, "std"_a,
        "channels_last"_a, "A normalised float batch and int64 labels gathered from a uint8 dataset on its device.");
}

}  // namespace dlcore::bindings
