// The backward engine: counts how many gradients each node of the graph will receive, then runs
// nodes whose gradients are complete, summing contributions that meet at the same node. Saved
// tensors are released after the pass (unless retain_graph), so memory does not outlive the step.
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "../dispatch.h"
#include "dlcore/autograd.h"
#include "dlcore/ops.h"
#include "dlcore/profiler.h"

namespace dlcore {

namespace {
thread_local bool grad_mode_enabled = true;

// Accumulates `grad` into `slot`: the first contribution is adopted (no copy); the second is summed
// with it into a new buffer the slot owns (one pass, where copying then adding would take two), and
// later ones are added into that buffer in place.
void accumulate(Tensor& slot, bool& owned, const Tensor& grad) {
  if (!slot.defined()) {
    slot = grad;
    owned = false;
    return;
  }
  if (!owned) {
    slot = ops::add(slot, grad);
    owned = true;
    return;
  }
  ops::add_(slot, grad);
}
}  // namespace

Node::~Node() {
  std::vector<std::shared_ptr<Node>> stack;
  for (Edge& e : next_edges)
    if (e.fn) stack.push_back(std::move(e.fn));
  while (!stack.empty()) {
    std::shared_ptr<Node> node = std::move(stack.back());
    stack.pop_back();
    if (node.use_count() == 1) {  // last owner: take its edges so its destructor has nothing to recurse into
      for (Edge& e : node->next_edges)
        if (e.fn) stack.push_back(std::move(e.fn));
    }
  }
}

void Node::save(Tensor& slot, const Tensor& value) {
  slot = value.detach();
  if (slot.defined()) saved_versions_.push_back({&slot, slot.version()});
}

void Node::check_saved_versions() const {
  for (const SavedVersion& s : saved_versions_) {
    if (!s.slot->defined() || s.slot->version() == s.version) continue;
    throw std::runtime_error(
        "backward: one of the tensors needed for gradient computation has been modified by an in-place "
        "operation: " + name() + " saved " + s.slot->describe() + " at version " + std::to_string(s.version) +
        ", it is now at version " + std::to_string(s.slot->version()) +
        "; clone() it before modifying it, or run backward before the in-place change (e.g. optimizer.step())");
  }
}

bool GradMode::is_enabled() { return grad_mode_enabled; }
void GradMode::set_enabled(bool enabled) { grad_mode_enabled = enabled; }

std::vector<Tensor> AccumulateGrad::apply(const Tensor& grad_output) {
  auto impl = leaf.lock();
  if (!impl) return {};
  Tensor replaced;  // set only when a hook returned a new gradient, so grad_output's owners stay countable
  if (impl->grad_hooks) {
    replaced = impl->grad_hooks->run(grad_output);
    if (replaced.same(grad_output)) replaced = Tensor();
  }
  const Tensor& incoming = replaced.defined() ? replaced : grad_output;
  Tensor& g = impl->grad;
  if (!g.defined()) {
    // The engine's reference (or the hook's result) is the only one to a gradient computed for this
    // leaf alone (a fresh, dense buffer that no node saved and no view shares): adopt it, as torch
    // does, instead of paying a copy per parameter per step. Otherwise it may be shared, so .grad
    // gets its own copy.
    const bool sole_owner = incoming.impl().use_count() == 1 && incoming.storage().use_count() == 1 &&
                            incoming.is_contiguous() && incoming.storage_offset() == 0 &&
                            incoming.shape() == impl->shape;
    g = sole_owner ? incoming : incoming.clone();
  } else {
    ops::add_(g, incoming);  // bumps g's version
  }
  if (impl->post_accumulate_grad_hooks) {
    const Tensor leaf_tensor(impl);
    auto hooks = impl->post_accumulate_grad_hooks->hooks;  // a hook may remove itself
    for (auto& entry : hooks) entry.second(leaf_tensor);
  }
  return {};
}

namespace autograd {

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor* t : inputs)
    if (t && t->defined() && t->requires_grad()) return true;
  return false;
}

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return Edge{};
  if (t.grad_fn()) return Edge{t.grad_fn(), t.shape()};
  TensorImpl& impl = *t.impl();
  auto acc = impl.grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t.impl());
    impl.grad_accumulator = acc;
  }
  return Edge{acc, t.shape()};
}

void record(const std::shared_ptr<Node>& node, std::initializer_list<const Tensor*> inputs, Tensor& output) {
  node->next_edges.clear();
  for (const Tensor* t : inputs) node->next_edges.push_back(t ? gradient_edge(*t) : Edge{});
  output.impl()->grad_fn = node;
  output.impl()->requires_grad = true;
}

void run_backward(const Tensor& root, const Tensor& grad_root_in, bool retain_graph) {
  if (!root.requires_grad())
    throw ValueError("backward: element 0 of tensors does not require grad and does not have a grad_fn");
  Tensor grad_root = grad_root_in;
  if (!grad_root.defined()) {
    if (root.numel() != 1)
      throw ValueError("backward: grad can be implicitly created only for scalar outputs, got " + root.describe());
    grad_root = Tensor::full(root.shape(), 1, root.dtype(), root.device());
  } else if (grad_root.shape() != root.shape() || grad_root.device() != root.device()) {
    throw ValueError("backward: gradient " + grad_root.describe() + " does not match output " + root.describe());
  }
  NoGradGuard no_grad;
  Edge start = gradient_edge(root);

  // Dependencies: how many edges point at each node reachable from the root.
  std::unordered_map<Node*, int> dependencies;
  std::vector<Node*> stack{start.fn.get()};
  std::unordered_set<Node*> seen{start.fn.get()};
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& e : node->next_edges) {
      if (!e.fn) continue;
      dependencies[e.fn.get()] += 1;
      if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
    }
  }

  struct Pending {
    Tensor grad;
    bool owned = false;
  };
  std::unordered_map<Node*, Pending> pending;
  pending[start.fn.get()].grad = grad_root;
  std::vector<std::shared_ptr<Node>> ready{start.fn};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    // A node reached only through inputs that produced no gradient still runs its bookkeeping,
    // so that nodes below it that do receive gradients see their dependency count reach zero.
    Tensor grad;
    if (auto it = pending.find(node.get()); it != pending.end()) {
      grad = std::move(it->second.grad);
      pending.erase(it);
    }
    std::vector<Tensor> input_grads;
    if (grad.defined()) {
      if (node->released)
        throw std::runtime_error(
            "backward: trying to backward through the graph a second time (or directly access saved "
            "tensors after they have already been freed) at " + node->name() +
            "; specify retain_graph=True on the first backward call if you need to");
      profiler::OpScope profile_scope(*node, grad);
      node->check_saved_versions();
      if (node->output_grad_hooks) grad = node->output_grad_hooks->run(grad);
      input_grads = node->apply(grad);
      if (!retain_graph && node->release_saved()) node->released = true;
    }
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.fn) continue;
      if (i < input_grads.size() && input_grads[i].defined()) {
        if (input_grads[i].shape() != e.input_shape)
          throw std::runtime_error("backward: " + node->name() + " returned a gradient " + input_grads[i].describe() +
                                   " for input " + std::to_string(i) + ", which has shape " + shape_str(e.input_shape));
        Pending& p = pending[e.fn.get()];
        accumulate(p.grad, p.owned, input_grads[i]);
      }
      if (--dependencies[e.fn.get()] == 0) ready.push_back(e.fn);
    }
  }
}

}  // namespace autograd
}  // namespace dlcore
