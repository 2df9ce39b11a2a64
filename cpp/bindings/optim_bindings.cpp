// dlcore._C.optim: the step functions of dlcore/optim.h, one per torch.optim rule. dlcore.optim
// (Python) keeps the param groups and per-parameter state and calls one of these per group and
// step; hyperparameters arrive as Python floats (double), as torch's groups hold them.
#include <pybind11/stl.h>

#include "bindings.h"
#include "dlcore/optim.h"

namespace dlcore::bindings {
namespace {
using namespace pybind11::literals;
using Tensors = std::vector<Tensor>;
}  // namespace

void bind_optim(py::module_& m) {
  m.def("refuse_graph_capture", &optim::refuse_graph_capture, "name"_a,
        "Raises RuntimeError while a CUDA graph is being captured (an optimizer step cannot be recorded).");
  // momentum_buffers: a list of Tensors or None (no buffer yet); the step writes the buffers it
  // creates back into the list, for the caller to keep as state.
  m.def("sgd_step", [](const std::string& name, const Tensors& params, const Tensors& grads, py::list momentum_buffers,
                       double lr, double momentum, double dampening, double weight_decay, bool nesterov, bool maximize) {
    Tensors buffers;
    buffers.reserve(momentum_buffers.size());
    for (auto b : momentum_buffers) buffers.push_back(b.is_none() ? Tensor() : b.cast<Tensor>());
    optim::sgd_step(name, params, grads, buffers, {lr, momentum, dampening, weight_decay, nesterov, maximize});
    for (size_t i = 0; i < buffers.size() && i < momentum_buffers.size(); ++i)
      if (momentum_buffers[i].is_none()) momentum_buffers[i] = py::cast(buffers[i]);
  }, "name"_a, "params"_a, "grads"_a, "momentum_buffers"_a, "lr"_a, "momentum"_a, "dampening"_a, "weight_decay"_a,
     "nesterov"_a, "maximize"_a);
  m.def("adam_step", [](const std::string& name, const Tensors& params, const Tensors& grads, const Tensors& exp_avgs,
                        const Tensors& exp_avg_sqs, const Tensors& max_exp_avg_sqs, const Tensors& steps, double lr,
                        double beta1, double beta2, double eps, double weight_decay, bool decoupled, bool amsgrad,
                        bool maximize) {
    optim::adam_step(name, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps,
                     {lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize});
  }, "name"_a, "params"_a, "grads"_a, "exp_avgs"_a, "exp_avg_sqs"_a, "max_exp_avg_sqs"_a, "steps"_a, "lr"_a,
     "beta1"_a, "beta2"_a, "eps"_a, "weight_decay"_a, "decoupled"_a, "amsgrad"_a, "maximize"_a);
  m.def("adagrad_step", [](const std::string& name, const Tensors& params, const Tensors& grads, const Tensors& sums,
                           const Tensors& steps, double lr, double lr_decay, double weight_decay, double eps,
                           bool maximize) {
    optim::adagrad_step(name, params, grads, sums, steps, {lr, lr_decay, weight_decay, eps, maximize});
  }, "name"_a, "params"_a, "grads"_a, "sums"_a, "steps"_a, "lr"_a, "lr_decay"_a, "weight_decay"_a, "eps"_a,
     "maximize"_a);
  m.def("adadelta_step", [](const std::string& name, const Tensors& params, const Tensors& grads,
                            const Tensors& square_avgs, const Tensors& acc_deltas, const Tensors& steps, double lr,
                            double rho, double eps, double weight_decay, bool maximize) {
    optim::adadelta_step(name, params, grads, square_avgs, acc_deltas, steps, {lr, rho, eps, weight_decay, maximize});
  }, "name"_a, "params"_a, "grads"_a, "square_avgs"_a, "acc_deltas"_a, "steps"_a, "lr"_a, "rho"_a, "eps"_a,
     "weight_decay"_a, "maximize"_a);
  m.def("rmsprop_step", [](const std::string& name, const Tensors& params, const Tensors& grads,
                           const Tensors& square_avgs, const Tensors& momentum_buffers, const Tensors& grad_avgs,
                           const Tensors& steps, double lr, double alpha, double eps, double weight_decay,
                           double momentum, bool centered, bool maximize) {
    optim::rmsprop_step(name, params, grads, square_avgs, momentum_buffers, grad_avgs, steps,
                        {lr, alpha, eps, weight_decay, momentum, centered, maximize});
  }, "name"_a, "params"_a, "grads"_a, "square_avgs"_a, "momentum_buffers"_a, "grad_avgs"_a, "steps"_a, "lr"_a,
     "alpha"_a, "eps"_a, "weight_decay"_a, "momentum"_a, "centered"_a, "maximize"_a);
  m.def("adamax_step", [](const std::string& name, const Tensors& params, const Tensors& grads, const Tensors& exp_avgs,
                          const Tensors& exp_infs, const Tensors& steps, double lr, double beta1, double beta2,
                          double eps, double weight_decay, bool maximize) {
    optim::adamax_step(name, params, grads, exp_avgs, exp_infs, steps, {lr, beta1, beta2, eps, weight_decay, maximize});
  }, "name"_a, "params"_a, "grads"_a, "exp_avgs"_a, "exp_infs"_a, "steps"_a, "lr"_a, "beta1"_a, "beta2"_a, "eps"_a,
     "weight_decay"_a, "maximize"_a);
  m.def("nadam_step", [](const std::string& name, const Tensors& params, const Tensors& grads, const Tensors& exp_avgs,
                         const Tensors& exp_avg_sqs, const Tensors& mu_products, const Tensors& steps, double lr,
                         double beta1, double beta2, double eps, double weight_decay, double momentum_decay,
                         bool decoupled, bool maximize) {
    optim::nadam_step(name, params, grads, exp_avgs, exp_avg_sqs, mu_products, steps,
                      {lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled, maximize});
  }, "name"_a, "params"_a, "grads"_a, "exp_avgs"_a, "exp_avg_sqs"_a, "mu_products"_a, "steps"_a, "lr"_a, "beta1"_a,
     "beta2"_a, "eps"_a, "weight_decay"_a, "momentum_decay"_a, "decoupled"_a, "maximize"_a);
  m.def("radam_step", [](const std::string& name, const Tensors& params, const Tensors& grads, const Tensors& exp_avgs,
                         const Tensors& exp_avg_sqs, const Tensors& steps, double lr, double beta1, double beta2,
                         double eps, double weight_decay, bool decoupled, bool maximize) {
    optim::radam_step(name, params, grads, exp_avgs, exp_avg_sqs, steps,
                      {lr, beta1, beta2, eps, weight_decay, decoupled, maximize});
  }, "name"_a, "params"_a, "grads"_a, "exp_avgs"_a, "exp_avg_sqs"_a, "steps"_a, "lr"_a, "beta1"_a, "beta2"_a,
     "eps"_a, "weight_decay"_a, "decoupled"_a, "maximize"_a);
}

}  // namespace dlcore::bindings
