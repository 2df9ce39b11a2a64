// Modules: containers of named parameters, buffers and child modules with PyTorch's semantics
// (state_dict keys like "conv1.weight", train/eval, to(device), default initialisation). Modules
// hold no math of their own; forward calls ops. Python subclasses override forward (bindings).
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dlcore/ops.h"
#include "dlcore/tensor.h"

namespace dlcore::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  explicit Module(std::string type_name = "Module") : type_name_(std::move(type_name)) {}
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& input);
  virtual std::string extra_repr() const { return ""; }
  const std::string& type_name() const { return type_name_; }
  void set_type_name(std::string name) { type_name_ = std::move(name); }

  // Registration replaces an entry of the same name; an undefined tensor registers "None".
  void register_parameter(const std::string& name, const Tensor& param);
  void register_buffer(const std::string& name, const Tensor& buffer);
  void register_module(const std::string& name, std::shared_ptr<Module> module);
  // Lookup by local name: which registry holds it (0 none, 1 parameter, 2 buffer, 3 module).
  int find(const std::string& name) const;
  Tensor parameter(const std::string& name) const;
  Tensor buffer(const std::string& name) const;
  std::shared_ptr<Module> child(const std::string& name) const;
  void unregister(const std::string& name);

  NamedTensors named_parameters(const std::string& prefix = "", bool recurse = true) const;
  NamedTensors named_buffers(const std::string& prefix = "", bool recurse = true) const;
  using NamedModules = std::vector<std::pair<std::string, std::shared_ptr<Module>>>;
  NamedModules named_children() const { return children_; }  // as registered: empty (None) slots included
  // Every module below this one, depth first, once each, as torch's named_modules: a module reachable
  // by two paths (or through a cycle) appears at its first, and empty (None) slots are skipped.
  NamedModules named_descendants(const std::string& prefix = "") const;
  std::vector<Tensor> parameters(bool recurse = true) const;

  void train(bool mode = true);                // this module and every one below it
  void set_training(bool mode) { training_ = mode; }  // this module only (torch's `m.training = mode`)
  bool is_training() const { return training_; }
  void to(Device device);                      // moves parameters, grads and buffers in place
  void zero_grad(bool set_to_none = true);
  NamedTensors state_dict() const;             // parameters then buffers, depth first, detached
  // Copies values in place; returns (missing keys, unexpected keys); strict raises on either.
  std::pair<std::vector<std::string>, std::vector<std::string>> load_state_dict(const NamedTensors& state,
                                                                               bool strict = true);

  // The Python bindings' forward/backward hooks of this module (opaque here). Kept on the C++ object
  // so hooks registered through one Python wrapper of a module held by a container outlive it.
  std::shared_ptr<void> binding_hooks;

 protected:
  bool training_ = true;

 private:
  void collect(const std::string& prefix, bool recurse, bool buffers, NamedTensors& out) const;
  // `ancestors`: the modules on the path from the root, so a cycle ends instead of recursing forever.
  void collect_state(const std::string& prefix, std::vector<const Module*>& ancestors, NamedTensors& out) const;
  std::string type_name_;
  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  int64_t in_features, out_features;
};

class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, std::pair<int64_t, int64_t> kernel_size,
         std::pair<int64_t, int64_t> stride = {1, 1}, std::pair<int64_t, int64_t> padding = {0, 0},
         std::pair<int64_t, int64_t> dilation = {1, 1}, int64_t groups = 1, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  int64_t in_channels, out_channels, groups;
  std::pair<int64_t, int64_t> kernel_size, stride, padding, dilation;
};

class BatchNorm2d : public Module {
 public:
  // momentum: the running statistics' update factor; std::nullopt (Python's None) makes them the
  // cumulative average of every training batch so far (factor 1 / num_batches_tracked), as in torch.
  explicit BatchNorm2d(int64_t num_features, float eps = 1e-5f, std::optional<float> momentum = 0.1f,
                       bool affine = true, bool track_running_stats = true);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  int64_t num_features;
  float eps;
  std::optional<float> momentum;
  bool affine, track_running_stats;
};

class Pool2d : public Module {
 public:
  Pool2d(bool max, std::pair<int64_t, int64_t> kernel_size, std::pair<int64_t, int64_t> stride,
         std::pair<int64_t, int64_t> padding);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  bool max;
  ops::Pool2dArgs args;
};

class MaxPool2d : public Pool2d {
 public:
  MaxPool2d(std::pair<int64_t, int64_t> k, std::pair<int64_t, int64_t> s, std::pair<int64_t, int64_t> p)
      : Pool2d(true, k, s, p) {}
};
class AvgPool2d : public Pool2d {
 public:
  AvgPool2d(std::pair<int64_t, int64_t> k, std::pair<int64_t, int64_t> s, std::pair<int64_t, int64_t> p)
      : Pool2d(false, k, s, p) {}
};

// Stateless layers: forward is one op. (The activation modules, nn.ReLU and the like, are made in
// Python from the op table's "module:" surfaces: python/dlcore/nn/__init__.py.)
class Flatten : public Module {
 public:
  Flatten(int64_t start_dim = 1, int64_t end_dim = -1) : Module("Flatten"), start_dim(start_dim), end_dim(end_dim) {}
  Tensor forward(const Tensor& x) override { return ops::flatten(x, start_dim, end_dim); }
  std::string extra_repr() const override;
  int64_t start_dim, end_dim;
};
class Dropout : public Module {
 public:
  explicit Dropout(float p = 0.5f);
  Tensor forward(const Tensor& x) override { return ops::dropout(x, p, training_); }
  std::string extra_repr() const override;
  float p;
};

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  void append(std::shared_ptr<Module> module);
  size_t size() const { return named_children().size(); }
  Tensor forward(const Tensor& x) override;
};

class CrossEntropyLoss : public Module {
 public:
  explicit CrossEntropyLoss(const std::string& reduction = "mean", float label_smoothing = 0.0f);
  Tensor forward(const Tensor& input, const Tensor& target) const;
  std::string extra_repr() const override;
  ops::Reduction reduction;
  std::string reduction_name;
  float label_smoothing;
};

}  // namespace dlcore::nn

namespace dlcore::ops {
// Layer norm over the trailing `normalized_shape` dims of a float32 CPU tensor, fused forward and
// backward (cpp/src/ops/layer_norm.cpp); weight/bias may be undefined. RuntimeError on CUDA.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  float eps = 1e-5f);
}  // namespace dlcore::ops
