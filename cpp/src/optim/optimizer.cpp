// SGD, Adam and AdamW: argument checks, per-parameter state, and the dispatch of the fused update
// kernels. Parameters without a gradient are skipped, as in torch.optim.
#include "dlcore/optim.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "../dispatch.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/ops.h"

namespace dlcore::optim {

Optimizer::Optimizer(std::vector<Tensor> params, float lr, const char* name)
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

void Optimizer::set_lr(float lr) {
  if (!(lr >= 0.0f)) throw ValueError(name_ + ": invalid learning rate " + std::to_string(lr));
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

Tensor& Optimizer::state_for(std::vector<Tensor>& slots, size_t i) {
  Tensor& s = slots[i];
  const Tensor& p = params_[i];
  if (!s.defined()) s = Tensor::zeros(p.shape(), DType::Float32, p.device());
  else if (s.device() != p.device()) s = s.to(p.device());  // the model moved after the state was made
  return s;
}

void Optimizer::load_state_tensors(const nn::NamedTensors& state) {
  // Everything is checked before anything is written, so a bad entry leaves the optimizer unchanged.
  std::vector<std::function<void()>> writes;
  for (const auto& [key, value] : state) {
    size_t dot = key.find('.');
    bool numeric = dot != std::string::npos && dot > 0 &&
                   key.find_first_not_of("0123456789") == dot;
    if (!numeric) throw ValueError(name_ + ".load_state_dict: malformed state key '" + key + "' (expected '<index>.<name>')");
    size_t index = std::stoul(key.substr(0, dot));
    std::string slot_name = key.substr(dot + 1);
    if (index >= params_.size())
      throw ValueError(name_ + ".load_state_dict: state for parameter " + std::to_string(index) + " but the optimizer has " +
                       std::to_string(params_.size()));
    if (load_scalar_state(index, slot_name, value, /*apply=*/false)) {
      writes.push_back([this, index, slot_name, value] { load_scalar_state(index, slot_name, value, true); });
      continue;
    }
    auto slot = std::find_if(state_slots_.begin(), state_slots_.end(), [&](const auto& s) { return s.first == slot_name; });
    if (slot == state_slots_.end()) throw ValueError(name_ + ".load_state_dict: unknown state '" + key + "'");
    if (value.shape() != params_[index].shape() || value.dtype() != DType::Float32)
      throw ValueError(name_ + ".load_state_dict: state '" + key + "' is " + value.describe() + " but parameter " +
                       std::to_string(index) + " is " + params_[index].describe());
    Tensor copy = value.to(params_[index].device()).clone();
    std::vector<Tensor>* slots = slot->second;
    writes.push_back([slots, index, copy] { (*slots)[index] = copy; });
  }
  for (auto& write : writes) write();
}

static nn::NamedTensors collect_state(const std::vector<std::pair<std::string, std::vector<Tensor>*>>& slots) {
  nn::NamedTensors out;
  for (const auto& [name, tensors] : slots)
    for (size_t i = 0; i < tensors->size(); ++i)
      if ((*tensors)[i].defined()) out.emplace_back(std::to_string(i) + "." + name, (*tensors)[i]);
  return out;
}

// Calls fn(device, first, count) for each run of consecutive entries on one device, so a model on
// one device (the usual case) takes a single multi-tensor kernel call.
template <class Entry, class Fn>
static void for_each_device_run(const std::vector<Device>& devices, const std::vector<Entry>& list, Fn fn) {
  for (size_t begin = 0; begin < list.size();) {
    size_t end = begin + 1;
    while (end < list.size() && devices[end] == devices[begin]) ++end;
    fn(devices[begin], list.data() + begin, static_cast<int64_t>(end - begin));
    begin = end;
  }
}

// ---- SGD ---------------------------------------------------------------------------------------

SGD::SGD(std::vector<Tensor> params, float lr, float momentum_, float dampening_, float weight_decay_, bool nesterov_)
    : Optimizer(std::move(params), lr, "SGD"), momentum(momentum_), dampening(dampening_),
      weight_decay(weight_decay_), nesterov(nesterov_) {
  if (momentum < 0) throw ValueError("SGD: invalid momentum value " + std::to_string(momentum));
  if (weight_decay < 0) throw ValueError("SGD: invalid weight_decay value " + std::to_string(weight_decay));
  if (nesterov && (momentum <= 0 || dampening != 0))
    throw ValueError("SGD: nesterov momentum requires a momentum and zero dampening");
  momentum_buffers_.resize(params_.size());
  state_slots_ = {{"momentum_buffer", &momentum_buffers_}};
}

void SGD::step() {
  cuda::check_not_capturing("SGD.step (its learning rate would be frozen into the graph; call step() after replay())");
  std::vector<Tensor> grads;  // keeps contiguous copies alive until the kernel is enqueued
  std::vector<SgdParam> list;
  std::vector<Device> devices;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    grads.push_back(p.grad().contiguous());
    p.bump_version();
    SgdParam a{p.data<float>(), grads.back().data<float>(), nullptr, p.numel(), false};
    if (momentum != 0) {
      a.first_step = !momentum_buffers_[i].defined();
      a.momentum_buf = state_for(momentum_buffers_, i).data<float>();
    }
    list.push_back(a);
    devices.push_back(p.device());
  }
  const SgdHyper h{lr_, momentum, dampening, weight_decay, nesterov};
  for_each_device_run(devices, list, [&](const Device& d, const SgdParam* run, int64_t n) {
    DLCORE_DISPATCH(d, sgd_update, run, n, h);
  });
}

nn::NamedTensors SGD::state_tensors() const { return collect_state(state_slots_); }

std::map<std::string, double> SGD::hyperparameters() const {
  return {{"lr", lr_}, {"momentum", momentum}, {"dampening", dampening}, {"weight_decay", weight_decay},
          {"nesterov", nesterov ? 1.0 : 0.0}};
}

void SGD::set_hyperparameter(const std::string& name, double v) {
  if (name == "lr") set_lr(static_cast<float>(v));
  else if (name == "momentum") momentum = static_cast<float>(v);
  else if (name == "dampening") dampening = static_cast<float>(v);
  else if (name == "weight_decay") weight_decay = static_cast<float>(v);
  else if (name == "nesterov") nesterov = v != 0.0;
  else throw ValueError("SGD: unknown hyperparameter '" + name + "'");
}

// ---- Adam / AdamW --------------------------------------------------------------------------------

Adam::Adam(std::vector<Tensor> params, float lr, float beta1_, float beta2_, float eps_, float weight_decay_,
           bool decoupled_)
    : Optimizer(std::move(params), lr, decoupled_ ? "AdamW" : "Adam"), beta1(beta1_), beta2(beta2_), eps(eps_),
      weight_decay(weight_decay_), decoupled(decoupled_) {
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    throw ValueError(name_ + ": invalid betas (" + std::to_string(beta1) + ", " + std::to_string(beta2) + ")");
  if (!(eps >= 0)) throw ValueError(name_ + ": invalid epsilon value " + std::to_string(eps));
  if (!(weight_decay >= 0)) throw ValueError(name_ + ": invalid weight_decay value " + std::to_string(weight_decay));
  exp_avg_.resize(params_.size());
  exp_avg_sq_.resize(params_.size());
  steps_.assign(params_.size(), 0);
  state_slots_ = {{"exp_avg", &exp_avg_}, {"exp_avg_sq", &exp_avg_sq_}};
}

void Adam::step() {
  if (cuda::is_capturing())
    cuda::check_not_capturing((name_ + ".step (its step count and learning rate would be frozen into the graph; "
                               "call step() after replay())").c_str());
  std::vector<Tensor> grads;
  std::vector<AdamParam> list;
  std::vector<Device> devices;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.grad().defined()) continue;
    grads.push_back(p.grad().contiguous());
    p.bump_version();
    // The step count is a host scalar so the bias corrections need no device reads.
    list.push_back({p.data<float>(), grads.back().data<float>(), state_for(exp_avg_, i).data<float>(),
                    state_for(exp_avg_sq_, i).data<float>(), p.numel(), ++steps_[i]});
    devices.push_back(p.device());
  }
  const AdamHyper h{lr_, beta1, beta2, eps, weight_decay, decoupled};
  for_each_device_run(devices, list, [&](const Device& d, const AdamParam* run, int64_t n) {
    DLCORE_DISPATCH(d, adam_update, run, n, h);
  });
}

nn::NamedTensors Adam::state_tensors() const {
  nn::NamedTensors out = collect_state(state_slots_);
  // Step counts travel as float scalars: exact up to 2^24 steps, far beyond any run here.
  for (size_t i = 0; i < steps_.size(); ++i)
    if (steps_[i] > 0) out.emplace_back(std::to_string(i) + ".step", Tensor::full({}, static_cast<float>(steps_[i])));
  return out;
}

bool Adam::load_scalar_state(size_t index, const std::string& name, const Tensor& value, bool apply) {
  if (name != "step") return false;
  if (value.numel() != 1) throw ValueError(name_ + ".load_state_dict: step must be a single number, got " + value.describe());
  if (apply) steps_[index] = static_cast<int64_t>(value.item());
  return true;
}

std::map<std::string, double> Adam::hyperparameters() const {
  return {{"lr", lr_}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps}, {"weight_decay", weight_decay}};
}

void Adam::set_hyperparameter(const std::string& name, double v) {
  if (name == "lr") set_lr(static_cast<float>(v));
  else if (name == "beta1") beta1 = static_cast<float>(v);
  else if (name == "beta2") beta2 = static_cast<float>(v);
  else if (name == "eps") eps = static_cast<float>(v);
  else if (name == "weight_decay") weight_decay = static_cast<float>(v);
  else throw ValueError(name_ + ": unknown hyperparameter '" + name + "'");
}

}  // namespace dlcore::optim
