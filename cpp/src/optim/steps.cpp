// The step functions of dlcore/optim.h: check a parameter list with its gradients and state, build
// the kernels' OptimizerTensor entries, advance the host-side step counters, and dispatch one
// fused multi-tensor kernel call per run of parameters on one device.
#include <cmath>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "../dispatch.h"
#include "../kernels/optimizer_rules.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/ops.h"
#include "dlcore/optim.h"
#include "dlcore/profiler.h"

namespace dlcore::optim {
namespace {

// A state list with its torch name (for messages) and whether the rule uses it this step.
struct StateList {
  const char* name;
  const std::vector<Tensor>* tensors;
  bool used = true;
};

// The checked inputs of one step: kernel entries, the device of each, and the contiguous copies
// of strided gradients, kept alive until the kernels are enqueued.
struct Batch {
  std::vector<OptimizerTensor> entries;
  std::vector<Device> devices;
  std::vector<Tensor> grad_copies;
  std::vector<float*> steps;  // advanced by advance_steps(), after every check has passed
};

std::string where(const std::string& name, size_t i) { return name + ".step: parameter " + std::to_string(i); }

void check_same(const std::string& name, size_t i, const char* what, const Tensor& t, const Tensor& p) {
  if (!t.defined()) throw ValueError(where(name, i) + " has no " + what);
  if (t.dtype() != DType::Float32 || t.shape() != p.shape() || t.device() != p.device() || !t.is_contiguous())
    throw ValueError(where(name, i) + ": " + what + " is " + t.describe() + (t.is_contiguous() ? "" : " (strided)") +
                     " but the parameter is " + p.describe() + "; state must match its parameter");
}

// A one-element float32 CPU tensor (torch's state["step"] / state["mu_product"]).
float* host_scalar(const std::string& name, size_t i, const char* what, const Tensor& t) {
  if (!t.defined() || t.dtype() != DType::Float32 || t.device().is_cuda() || t.numel() != 1)
    throw ValueError(where(name, i) + ": state '" + what + "' must be a one-element float32 CPU tensor, got " +
                     (t.defined() ? t.describe() : std::string("None")));
  return t.data<float>();
}

Batch gather(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
             std::initializer_list<StateList> state, const std::vector<Tensor>* steps) {
  refuse_graph_capture(name);
  const size_t n = params.size();
  if (grads.size() != n)
    throw ValueError(name + ".step: " + std::to_string(n) + " parameters but " + std::to_string(grads.size()) +
                     " gradients");
  int slot = 0;
  for (const StateList& s : state) {
    if (s.used && s.tensors->size() != n)
      throw ValueError(name + ".step: " + std::to_string(n) + " parameters but " +
                       std::to_string(s.tensors->size()) + " '" + s.name + "' state tensors");
    ++slot;
  }
  if (slot > kMaxOptimizerState) throw std::logic_error(name + ".step: too many state slots");
  if (steps != nullptr && steps->size() != n)
    throw ValueError(name + ".step: " + std::to_string(n) + " parameters but " + std::to_string(steps->size()) +
                     " step counts");
  Batch b;
  b.entries.reserve(n);
  b.devices.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const Tensor& p = params[i];
    if (!p.defined()) throw ValueError(where(name, i) + " is None");
    if (p.dtype() != DType::Float32 || !p.is_contiguous())
      throw ValueError(where(name, i) + " is " + p.describe() +
                       "; dlcore's optimizers update contiguous float32 parameters");
    Tensor g = grads[i];
    if (!g.defined()) throw ValueError(where(name, i) + " has no gradient");
    if (g.dtype() != DType::Float32 || g.shape() != p.shape() || g.device() != p.device())
      throw ValueError(where(name, i) + ": its gradient is " + g.describe() + " but the parameter is " + p.describe());
    if (!g.is_contiguous()) {
      g = g.contiguous();
      b.grad_copies.push_back(g);
    }
    OptimizerTensor e{};
    e.param = p.data<float>();
    e.grad = g.data<float>();
    e.n = p.numel();
    int k = 0;
    for (const StateList& s : state) {
      if (s.used) {
        const Tensor& t = (*s.tensors)[i];
        check_same(name, i, s.name, t, p);
        e.state[k] = t.data<float>();
      }
      ++k;
    }
    if (steps != nullptr) {
      float* step = host_scalar(name, i, "step", (*steps)[i]);
      if (!(*step >= 0.0f && *step < 16777216.0f))  // 2^24: float32 counts exactly below it
        throw ValueError(where(name, i) + ": state 'step' is " + std::to_string(*step) +
                         "; a step count must be a non-negative integer below 2^24");
      e.step = static_cast<int64_t>(*step) + 1;
      b.steps.push_back(step);
    }
    b.entries.push_back(e);
    b.devices.push_back(p.device());
  }
  return b;
}

// torch increments state["step"] before the update reads it.
void advance_steps(const Batch& b) {
  for (float* step : b.steps) *step += 1.0f;
}

void bump_versions(const std::vector<Tensor>& params) {
  for (const Tensor& p : params) p.bump_version();  // autograd refuses graphs that saved the old values
}

// Calls fn(device, first, count) for each run of consecutive entries on one device, so a model on
// one device (the usual case) takes a single multi-tensor kernel call.
template <class Fn>
void for_each_device_run(const Batch& b, Fn fn) {
  for (size_t begin = 0; begin < b.entries.size();) {
    size_t end = begin + 1;
    while (end < b.entries.size() && b.devices[end] == b.devices[begin]) ++end;
    fn(b.devices[begin], b.entries.data() + begin, static_cast<int64_t>(end - begin));
    begin = end;
  }
}

const std::vector<Tensor> kNone;

}  // namespace

void refuse_graph_capture(const std::string& name) {
  if (cuda::is_capturing())
    cuda::check_not_capturing((name + ".step (its step counts and learning rate would be frozen into the graph; "
                               "call step() after replay())").c_str());
}

void sgd_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
              std::vector<Tensor>& momentum_buffers, const SgdHyper& h) {
  profiler::OpScope profile_scope(profiler::OptimizerStep{name}, params);
  refuse_graph_capture(name);
  const bool momentum = h.momentum != 0.0;
  if (momentum && momentum_buffers.size() != params.size())
    throw ValueError(name + ".step: " + std::to_string(params.size()) + " parameters but " +
                     std::to_string(momentum_buffers.size()) + " momentum buffers");
  // The first step creates the buffers (torch seeds them with the gradient); they are checked with
  // the rest, so they are created first and handed back only when the step runs.
  std::vector<Tensor> buffers = momentum ? momentum_buffers : std::vector<Tensor>{};
  std::vector<bool> first(buffers.size(), false);
  for (size_t i = 0; i < buffers.size(); ++i)
    if (!buffers[i].defined() && params[i].defined()) {
      buffers[i] = Tensor::empty(params[i].shape(), DType::Float32, params[i].device());
      first[i] = true;
    }
  Batch b = gather(name, params, grads, {{"momentum_buffer", &buffers, momentum}}, nullptr);
  for (size_t i = 0; i < first.size(); ++i) b.entries[i].first_step = first[i];
  bump_versions(params);
  for_each_device_run(b, [&](const Device& d, const OptimizerTensor* run, int64_t count) {
    DLCORE_DISPATCH(d, sgd_update, run, count, h);
  });
  if (momentum) momentum_buffers = std::move(buffers);
}

void adam_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
               const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
               const std::vector<Tensor>& max_exp_avg_sqs, const std::vector<Tensor>& steps, const AdamHyper& h) {
  profiler::OpScope profile_scope(profiler::OptimizerStep{name}, params);
  const Batch b = gather(name, params, grads,
                         {{"exp_avg", &exp_avgs}, {"exp_avg_sq", &exp_avg_sqs},
                          {"max_exp_avg_sq", h.amsgrad ? &max_exp_avg_sqs : &kNone, h.amsgrad}},
                         &steps);
  advance_steps(b);
  bump_versions(params);
  for_each_device_run(b, [&](const Device& d, const OptimizerTensor* run, int64_t count) {
    DLCORE_DISPATCH(d, adam_update, run, count, h);
  });
}

void adagrad_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& sums, const std::vector<Tensor>& steps, const AdagradHyper& h) {
  profiler::OpScope profile_scope(profiler::OptimizerStep{name}, params);
  const Batch b = gather(name, params, grads, {{"sum", &sums}}, &steps);
  advance_steps(b);
  bump_versions(params);
  for_each_device_run(b, [&](const Device& d, const OptimizerTensor* run, int64_t count) {
    DLCORE_DISPATCH(d, adagrad_update, run, count, h);
  });
}

void adadelta_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                   const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& acc_deltas,
                   const std::vector<Tensor>& steps, const AdadeltaHyper& h) {
  profiler::OpScope profile_scope(profiler::OptimizerStep{name}, params);
  const Batch b = gather(name, params, grads, {{"square_avg", &square_avgs}, {"acc_delta", &acc_deltas}}, &steps);
  advance_steps(b);
  bump_versions(params);
  for_each_device_run(b, [&](const Device& d, const OptimizerTensor* run, int64_t count) {
    DLCORE_DISPATCH(d, adadelta_update, run, count, h);
  });
}

void rmsprop_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& momentum_buffers,
                  const std::vector<Tensor>& grad_avgs, const std::vector<Tensor>& steps, const RmspropHyper& h) {
  profiler::OpScope profile_scope(profiler::OptimizerStep{name}, params);
  const bool momentum = h.momentum > 0.0;
  const Batch b = gather(name, params, grads,
                         {{"square_avg", &square_avgs},
                          {"momentum_buffer", momentum ? &momentum_buffers : &kNone, momentum},
                          {"grad_avg", h.centered ? &grad_avgs : &kNone, h.centered}},
                         &steps);
  advance_steps(b);
  bump_versions(params);
  for_each_device_run(b, [&](const Device& d, const OptimizerTensor* run, int64_t count) {
    DLCORE_DISPATCH(d, rmsprop_update, run, count, h);
  });
}

void adamax_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                 const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_infs,
                 const std::vector<Tensor>& steps, const AdamaxHyper& h) {
  profiler::OpScope profile_scope(profiler::OptimizerStep{name}, params);
  const Batch b = gather(name, params, grads, {{"exp_avg", &exp_avgs}, {"exp_inf", &exp_infs}}, &steps);
  advance_steps(b);
  bump_versions(params);
  for_each_device_run(b, [&](const Device& d, const OptimizerTensor* run, int64_t count) {
    DLCORE_DISPATCH(d, adamax_update, run, count, h);
  });
}

void nadam_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                const std::vector<Tensor>& mu_products, const std::vector<Tensor>& steps, const NadamHyper& h) {
  profiler::OpScope profile_scope(profiler::OptimizerStep{name}, params);
  Batch b = gather(name, params, grads, {{"exp_avg", &exp_avgs}, {"exp_avg_sq", &exp_avg_sqs}}, &steps);
  if (mu_products.size() != params.size())
    throw ValueError(name + ".step: " + std::to_string(params.size()) + " parameters but " +
                     std::to_string(mu_products.size()) + " 'mu_product' state tensors");
  std::vector<float*> products;
  for (size_t i = 0; i < params.size(); ++i) products.push_back(host_scalar(name, i, "mu_product", mu_products[i]));
  advance_steps(b);
  // torch: mu_product *= mu_t, a float32 tensor times a Python float (rounded to float32 first).
  for (size_t i = 0; i < products.size(); ++i) {
    const double mu = kernels::rules::NadamRule::mu(h, static_cast<double>(b.entries[i].step));
    *products[i] = *products[i] * static_cast<float>(mu);
    b.entries[i].mu_product = *products[i];
  }
  bump_versions(params);
  for_each_device_run(b, [&](const Device& d, const OptimizerTensor* run, int64_t count) {
    DLCORE_DISPATCH(d, nadam_update, run, count, h);
  });
}

void radam_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                const std::vector<Tensor>& steps, const RadamHyper& h) {
  profiler::OpScope profile_scope(profiler::OptimizerStep{name}, params);
  const Batch b = gather(name, params, grads, {{"exp_avg", &exp_avgs}, {"exp_avg_sq", &exp_avg_sqs}}, &steps);
  advance_steps(b);
  bump_versions(params);
  for_each_device_run(b, [&](const Device& d, const OptimizerTensor* run, int64_t count) {
    DLCORE_DISPATCH(d, radam_update, run, count, h);
  });
}

}  // namespace dlcore::optim
