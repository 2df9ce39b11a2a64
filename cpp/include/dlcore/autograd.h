// Define-by-run autograd: each differentiable op records a Node holding what its backward needs;
// backward() walks the graph from a root in dependency order and accumulates into leaves' .grad.
// Every Node has one output (all dlcore ops return one tensor), which keeps the engine simple.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dlcore/tensor.h"

namespace dlcore {

struct Edge {
  std::shared_ptr<Node> fn;  // null: this input needs no gradient
  Shape input_shape;         // the shape the gradient sent along this edge must have
};

struct Node {
  // Frees the graph below this node iteratively: a recursive chain of shared_ptr destructors would
  // overflow the stack on long graphs (e.g. a loss summed over many steps without detach).
  virtual ~Node();
  // Gradients with respect to each input, in the order of next_edges; an undefined Tensor means
  // "no gradient for that input". Called at most once per backward pass, outside grad mode.
  virtual std::vector<Tensor> apply(const Tensor& grad_output) = 0;
  virtual std::string name() const = 0;
  // Drops saved tensors after a backward pass without retain_graph and says whether there were
  // any: only a node that lost its saved tensors refuses a second pass (as in PyTorch).
  virtual bool release_saved() { return false; }
  // Stores value.detach() in slot (a member of this node) and records its storage's version: if an
  // input or output saved this way is changed in place before backward reaches this node, the
  // engine refuses with check_saved_versions() instead of computing a wrong gradient (PyTorch's rule).
  void save(Tensor& slot, const Tensor& value);
  void check_saved_versions() const;  // throws std::runtime_error naming the node and the tensor
  std::vector<Edge> next_edges;
  bool released = false;
  // The gradient hooks of the tensor this node produced (Tensor::register_hook on a non-leaf): the
  // engine runs them on the incoming gradient before apply().
  std::shared_ptr<GradHookList> output_grad_hooks;

 private:
  struct SavedVersion {
    const Tensor* slot;
    uint64_t version;
  };
  std::vector<SavedVersion> saved_versions_;
};

// The sink of a leaf: adds incoming gradients into the leaf's .grad.
struct AccumulateGrad : Node {
  explicit AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf) : leaf(leaf) {}
  std::vector<Tensor> apply(const Tensor& grad_output) override;
  std::string name() const override { return "AccumulateGrad"; }
  std::weak_ptr<TensorImpl> leaf;
};

// Thread-local switch, like torch.no_grad().
struct GradMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

class NoGradGuard {
 public:
  NoGradGuard() : previous_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(previous_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;
 private:
  bool previous_;
};

namespace autograd {

// True when grad mode is on and any defined input requires grad.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);
// Where a gradient for t should flow: its grad_fn, its AccumulateGrad (leaves), or nowhere.
Edge gradient_edge(const Tensor& t);
// Wires node's inputs and makes `output` its result.
void record(const std::shared_ptr<Node>& node, std::initializer_list<const Tensor*> inputs,
            Tensor& output);
// Runs the backward pass from root with its gradient.
void run_backward(const Tensor& root, const Tensor& grad_root, bool retain_graph);

// Sees the gradients w.r.t. a group of tensors together (undefined where none arrived) and may return
// replacements, one per tensor (undefined: none), or an empty vector to keep them.
using GroupGradHook = std::function<std::vector<Tensor>(const std::vector<Tensor>& grads)>;
// Returns aliases of `tensors` (same storage; those that don't require grad are returned as they are)
// whose gradients, once all of them are computed in a backward pass, are passed to `hook` before they
// flow on to `tensors`. Module backward hooks are built on it (torch's BackwardHookFunction).
std::vector<Tensor> hook_group_gradients(const std::vector<Tensor>& tensors, GroupGradHook hook);

}  // namespace autograd
}  // namespace dlcore
