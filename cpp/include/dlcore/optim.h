// Optimizers: update parameters in place with fused multi-tensor kernels, never through the autograd
// graph. The update rules are torch.optim's, term for term.
//
// Two layers. The step functions are the engine: one call applies one torch.optim rule to a list
// of parameters, their gradients and their state tensors (one kernel call per device), and owns no
// state itself; dlcore.optim (Python) keeps torch's param groups and per-parameter state dicts and
// calls them. The SGD and Adam classes below are the same engine with the state kept in C++, for
// C++ callers.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "dlcore/kernels.h"
#include "dlcore/nn.h"
#include "dlcore/tensor.h"

namespace dlcore::optim {

// ---- step functions -----------------------------------------------------------------------------
// params[i] is updated with grads[i]; every state list runs parallel to params (an optional list,
// named below, is empty when the rule does not use it). Parameters, gradients and state are
// float32 with one shape and device per parameter (gradients may be strided; they are read through
// a contiguous copy). `steps` are one-element float32 CPU tensors, torch's state["step"],
// incremented in place. Everything is checked before anything is written, and a step refuses to
// run while a CUDA graph is being captured. `name` ("SGD", "AdamW", ...) prefixes every error.

// Raises (RuntimeError) while a CUDA graph is being captured: a step's learning rate and step
// counts would be frozen into the graph. Every step function calls it first; dlcore.optim calls it
// before it touches any state.
void refuse_graph_capture(const std::string& name);

// momentum_buffers: empty when momentum == 0; undefined entries are created (the first step).
void sgd_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
              std::vector<Tensor>& momentum_buffers, const SgdHyper& h);
// max_exp_avg_sqs: amsgrad only.
void adam_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
               const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
               const std::vector<Tensor>& max_exp_avg_sqs, const std::vector<Tensor>& steps, const AdamHyper& h);
void adagrad_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& sums, const std::vector<Tensor>& steps, const AdagradHyper& h);
void adadelta_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                   const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& acc_deltas,
                   const std::vector<Tensor>& steps, const AdadeltaHyper& h);
// momentum_buffers: momentum > 0 only; grad_avgs: centered only.
void rmsprop_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& momentum_buffers,
                  const std::vector<Tensor>& grad_avgs, const std::vector<Tensor>& steps, const RmspropHyper& h);
void adamax_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                 const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_infs,
                 const std::vector<Tensor>& steps, const AdamaxHyper& h);
// mu_products: one-element float32 CPU tensors (torch's state["mu_product"]), updated in place.
void nadam_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                const std::vector<Tensor>& mu_products, const std::vector<Tensor>& steps, const NadamHyper& h);
void radam_step(const std::string& name, const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                const std::vector<Tensor>& steps, const RadamHyper& h);

// ---- optimizers that keep their state in C++ ------------------------------------------------------
class Optimizer {
 public:
  Optimizer(std::vector<Tensor> params, double lr, const char* name);
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad(bool set_to_none = true);
  double lr() const { return lr_; }
  void set_lr(double lr);
  const std::vector<Tensor>& params() const { return params_; }
  // Per-parameter state ("<index>.<name>" -> tensor) and scalar hyperparameters, for checkpoints.
  nn::NamedTensors state_tensors() const;
  virtual std::map<std::string, double> hyperparameters() const = 0;
  virtual void set_hyperparameter(const std::string& name, double value) = 0;
  // Checks every entry before writing any, so a bad entry leaves the optimizer unchanged.
  void load_state_tensors(const nn::NamedTensors& state);

 protected:
  // The parameters that have a gradient now, with their gradients and indices.
  struct WithGrad {
    std::vector<Tensor> params, grads;
    std::vector<size_t> index;
  };
  WithGrad with_grad() const;
  // Lazily creates per-parameter state on the parameter's device (moves it with the parameter too).
  Tensor& state_for(std::vector<Tensor>& slots, size_t i, float fill = 0.0f);
  std::vector<Tensor> params_;
  double lr_;
  std::string name_;
  // name -> per-parameter slots, in the order state_tensors() lists them ("step" slots hold
  // one-element float32 CPU tensors, torch's state["step"]).
  std::vector<std::pair<std::string, std::vector<Tensor>*>> state_slots_;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, double lr, double momentum = 0, double dampening = 0, double weight_decay = 0,
      bool nesterov = false);
  void step() override;
  std::map<std::string, double> hyperparameters() const override;
  void set_hyperparameter(const std::string& name, double value) override;
  double momentum, dampening, weight_decay;
  bool nesterov;

 private:
  std::vector<Tensor> momentum_buffers_;
};

class Adam : public Optimizer {
 public:
  // decoupled=true gives AdamW (weight decay applied to the parameter, not the gradient).
  Adam(std::vector<Tensor> params, double lr, double beta1, double beta2, double eps, double weight_decay,
       bool decoupled);
  void step() override;
  std::map<std::string, double> hyperparameters() const override;
  void set_hyperparameter(const std::string& name, double value) override;
  double beta1, beta2, eps, weight_decay;
  bool decoupled;

 private:
  std::vector<Tensor> exp_avg_, exp_avg_sq_, steps_;
};

}  // namespace dlcore::optim
