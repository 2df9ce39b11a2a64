// The C++ SGD and Adam/AdamW optimizers: argument checks, per-parameter state kept in C++, and
// checkpoints of it; each step is one call of the step functions (steps.cpp). Parameters without a
// gradient are skipped, as in torch.optim.
#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "dlcore/ops.h"
#include "dlcore/optim.h"

namespace dlcore::optim {

Optimizer::Optimizer(std::vector<Tensor> params, double lr, const char* name)
    : params_(std::move(params)), lr_(lr), name_(name) {
  if (params_.empty()) throw ValueError(name_ + ": optimizer got an empty parameter list");
  std::set<const TensorImpl*> seen;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    if (!p.defined()) throw ValueError(name_ + ": parameter " + std::to_string(i) + " is None");
    if (p.dtype() != DType::Float32 || !p.is_leaf() || !p.requires_grad())
      throw ValueError(name_ + ": can only optimize float32 leaf tensors that require grad; parameter " +
                       std::to_string(i) + " is " + p.describe());
    if (!seen.insert(p.impl().get()).second)
      throw ValueError(name_ + ": some parameters appear more than once (parameter " + std::to_string(i) + ")");
  }
  set_lr(lr);
}

void Optimizer::set_lr(double lr) {
  if (!(lr >= 0.0)) throw ValueError(name_ + ": Invalid learning rate: " + std::to_string(lr));
  lr_ = lr;
}

void Optimizer::zero_grad(bool set_to_none) {
  for (Tensor& p : params_) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (set_to_none) p.set_grad(Tensor());
    else g.zero_();
  }
}

Optimizer::WithGrad Optimizer::with_grad() const {
  WithGrad w;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor g = params_[i].grad();
    if (!g.defined()) continue;
    w.params.push_back(params_[i]);
    w.grads.push_back(g);
    w.index.push_back(i);
  }
  return w;
}

Tensor& Optimizer::state_for(std::vector<Tensor>& slots, size_t i, float fill) {
  Tensor& s = slots[i];
  const Tensor& p = params_[i];
  if (!s.defined()) s = Tensor::full(p.shape(), fill, DType::Float32, p.device());
  else if (s.device() != p.device()) s = s.to(p.device());  // the model moved after the state was made
  return s;
}

nn::NamedTensors Optimizer::state_tensors() const {
  nn::NamedTensors out;
  for (const auto& [name, tensors] : state_slots_)
    for (size_t i = 0; i < tensors->size(); ++i)
      if ((*tensors)[i].defined()) out.emplace_back(std::to_string(i) + "." + name, (*tensors)[i]);
  return out;
}

void Optimizer::load_state_tensors(const nn::NamedTensors& state) {
  std::vector<std::function<void()>> writes;
  for (const auto& [key, value] : state) {
    size_t dot = key.find('.');
    bool numeric = dot != std::string::npos && dot > 0 && key.find_first_not_of("0123456789") == dot;
    if (!numeric) throw ValueError(name_ + ".load_state_dict: malformed state key '" + key + "' (expected '<index>.<name>')");
    size_t index = std::stoul(key.substr(0, dot));
    std::string slot_name = key.substr(dot + 1);
    if (index >= params_.size())
      throw ValueError(name_ + ".load_state_dict: state for parameter " + std::to_string(index) + " but the optimizer has " +
                       std::to_string(params_.size()));
    auto slot = std::find_if(state_slots_.begin(), state_slots_.end(), [&](const auto& s) { return s.first == slot_name; });
    if (slot == state_slots_.end()) throw ValueError(name_ + ".load_state_dict: unknown state '" + key + "'");
    std::vector<Tensor>* slots = slot->second;
    Tensor copy;
    if (slot_name == "step") {
      const double step = value.numel() == 1 ? value.to(Device::cpu()).item().to_double() : -1.0;
      if (!(step >= 0.0 && step < 16777216.0 && std::floor(step) == step))
        throw ValueError(name_ + ".load_state_dict: state '" + key + "' must be one non-negative integer, got " +
                         value.describe());
      copy = Tensor::full({}, step, DType::Float32);
    } else {
      if (value.shape() != params_[index].shape() || value.dtype() != DType::Float32)
        throw ValueError(name_ + ".load_state_dict: state '" + key + "' is " + value.describe() + " but parameter " +
                         std::to_string(index) + " is " + params_[index].describe());
      copy = value.to(params_[index].device()).clone();
    }
    writes.push_back([slots, index, copy] { (*slots)[index] = copy; });
  }
  for (auto& write : writes) write();
}

// ---- SGD ---------------------------------------------------------------------------------------

SGD::SGD(std::vector<Tensor> params, double lr, double momentum_, double dampening_, double weight_decay_,
         bool nesterov_)
    : Optimizer(std::move(params), lr, "SGD"), momentum(momentum_), dampening(dampening_),
      weight_decay(weight_decay_), nesterov(nesterov_) {
  if (!(momentum >= 0)) throw ValueError("SGD: Invalid momentum value: " + std::to_string(momentum));
  if (!(weight_decay >= 0)) throw ValueError("SGD: Invalid weight_decay value: " + std::to_string(weight_decay));
  if (nesterov && (momentum <= 0 || dampening != 0))
    throw ValueError("SGD: Nesterov momentum requires a momentum and zero dampening");
  momentum_buffers_.resize(params_.size());
  state_slots_ = {{"momentum_buffer", &momentum_buffers_}};
}

void SGD::step() {
  WithGrad w = with_grad();
  std::vector<Tensor> buffers;
  if (momentum != 0)
    for (size_t i : w.index) {
      Tensor& b = momentum_buffers_[i];
      if (b.defined() && b.device() != params_[i].device()) b = b.to(params_[i].device());
      buffers.push_back(b);
    }
  sgd_step(name_, w.params, w.grads, buffers, {lr_, momentum, dampening, weight_decay, nesterov, false});
  for (size_t k = 0; k < buffers.size(); ++k) momentum_buffers_[w.index[k]] = buffers[k];
}

std::map<std::string, double> SGD::hyperparameters() const {
  return {{"lr", lr_}, {"momentum", momentum}, {"dampening", dampening}, {"weight_decay", weight_decay},
          {"nesterov", nesterov ? 1.0 : 0.0}};
}

void SGD::set_hyperparameter(const std::string& name, double v) {
  if (name == "lr") set_lr(v);
  else if (name == "momentum") momentum = v;
  else if (name == "dampening") dampening = v;
  else if (name == "weight_decay") weight_decay = v;
  else if (name == "nesterov") nesterov = v != 0.0;
  else throw ValueError("SGD: unknown hyperparameter '" + name + "'");
}

// ---- Adam / AdamW --------------------------------------------------------------------------------

Adam::Adam(std::vector<Tensor> params, double lr, double beta1_, double beta2_, double eps_, double weight_decay_,
           bool decoupled_)
    : Optimizer(std::move(params), lr, decoupled_ ? "AdamW" : "Adam"), beta1(beta1_), beta2(beta2_), eps(eps_),
      weight_decay(weight_decay_), decoupled(decoupled_) {
  if (!(beta1 >= 0 && beta1 < 1)) throw ValueError(name_ + ": Invalid beta parameter at index 0: " + std::to_string(beta1));
  if (!(beta2 >= 0 && beta2 < 1)) throw ValueError(name_ + ": Invalid beta parameter at index 1: " + std::to_string(beta2));
  if (!(eps >= 0)) throw ValueError(name_ + ": Invalid epsilon value: " + std::to_string(eps));
  if (!(weight_decay >= 0)) throw ValueError(name_ + ": Invalid weight_decay value: " + std::to_string(weight_decay));
  exp_avg_.resize(params_.size());
  exp_avg_sq_.resize(params_.size());
  steps_.resize(params_.size());
  state_slots_ = {{"exp_avg", &exp_avg_}, {"exp_avg_sq", &exp_avg_sq_}, {"step", &steps_}};
}

void Adam::step() {
  WithGrad w = with_grad();
  std::vector<Tensor> exp_avg, exp_avg_sq, steps;
  for (size_t i : w.index) {
    exp_avg.push_back(state_for(exp_avg_, i));
    exp_avg_sq.push_back(state_for(exp_avg_sq_, i));
    if (!steps_[i].defined()) steps_[i] = Tensor::zeros({}, DType::Float32);  // a host scalar, as in torch
    steps.push_back(steps_[i]);
  }
  adam_step(name_, w.params, w.grads, exp_avg, exp_avg_sq, {}, steps,
            {lr_, beta1, beta2, eps, weight_decay, decoupled, false, false});
}

std::map<std::string, double> Adam::hyperparameters() const {
  return {{"lr", lr_}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps}, {"weight_decay", weight_decay}};
}

void Adam::set_hyperparameter(const std::string& name, double v) {
  if (name == "lr") set_lr(v);
  else if (name == "beta1") beta1 = v;
  else if (name == "beta2") beta2 = v;
  else if (name == "eps") eps = v;
  else if (name == "weight_decay") weight_decay = v;
  else throw ValueError(name_ + ": unknown hyperparameter '" + name + "'");
}

}  // namespace dlcore::optim
