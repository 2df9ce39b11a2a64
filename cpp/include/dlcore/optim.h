// Optimizers: update parameters in place with one fused kernel per parameter tensor, never through
// the autograd graph. The update rules are torch.optim's, term for term.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "dlcore/nn.h"
#include "dlcore/tensor.h"

namespace dlcore::optim {

class Optimizer {
 public:
  Optimizer(std::vector<Tensor> params, float lr, const char* name);
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad(bool set_to_none = true);
  float lr() const { return lr_; }
  void set_lr(float lr);
  const std::vector<Tensor>& params() const { return params_; }
  // Per-parameter state ("<index>.<name>" -> tensor) and scalar hyperparameters, for checkpoints.
  virtual nn::NamedTensors state_tensors() const = 0;
  virtual std::map<std::string, double> hyperparameters() const = 0;
  virtual void set_hyperparameter(const std::string& name, double value) = 0;
  void load_state_tensors(const nn::NamedTensors& state);

 protected:
  // State that is not a per-parameter tensor (Adam's step counts): true when `name` is such state
  // (validated); written only when `apply`.
  virtual bool load_scalar_state(size_t, const std::string&, const Tensor&, bool /*apply*/) { return false; }
  // Lazily creates per-parameter state on the parameter's device (moves with it too).
  Tensor& state_for(std::vector<Tensor>& slots, size_t i);
  std::vector<Tensor> params_;
  float lr_;
  std::string name_;
  std::vector<std::pair<std::string, std::vector<Tensor>*>> state_slots_;  // name -> per-param slots
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, float lr, float momentum = 0, float dampening = 0, float weight_decay = 0,
      bool nesterov = false);
  void step() override;
  nn::NamedTensors state_tensors() const override;
  std::map<std::string, double> hyperparameters() const override;
  void set_hyperparameter(const std::string& name, double value) override;
  float momentum, dampening, weight_decay;
  bool nesterov;

 private:
  std::vector<Tensor> momentum_buffers_;
};

class Adam : public Optimizer {
 public:
  // decoupled=true gives AdamW (weight decay applied to the parameter, not the gradient).
  Adam(std::vector<Tensor> params, float lr, float beta1, float beta2, float eps, float weight_decay, bool decoupled);
  void step() override;
  nn::NamedTensors state_tensors() const override;
  std::map<std::string, double> hyperparameters() const override;
  void set_hyperparameter(const std::string& name, double value) override;
  float beta1, beta2, eps, weight_decay;
  bool decoupled;

 protected:
  bool load_scalar_state(size_t index, const std::string& name, const Tensor& value, bool apply) override;

 private:
  std::vector<Tensor> exp_avg_, exp_avg_sq_;
  std::vector<int64_t> steps_;
};

}  // namespace dlcore::optim
