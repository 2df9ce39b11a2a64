// Autograd hooks: tensor gradient hooks, post-accumulate hooks and retain_grad (stored on TensorImpl,
// run by the engine), and group gradient hooks, the primitive under module backward hooks. Plain
// std::function, so C++ (profilers, gradient clipping, bucketed all-reduce) registers them as Python does.
#include <atomic>
#include <stdexcept>

#include "dlcore/autograd.h"
#include "dlcore/ops.h"

namespace dlcore {

uint64_t next_hook_id() {
  static std::atomic<uint64_t> counter{0};
  return counter++;
}

void HookHandle::remove() const {
  if (auto registry = registry_.lock()) registry->remove(id_);
}

namespace {
void check_hook_result(const Tensor& before, const Tensor& after) {
  if (after.shape() != before.shape())
    throw std::runtime_error("hook has changed the size of value: the gradient was " + before.describe() +
                             ", the hook returned " + after.describe());
  if (after.dtype() != before.dtype() || after.device() != before.device())
    throw std::runtime_error("hook has changed the type of value: the gradient was " + before.describe() +
                             ", the hook returned " + after.describe());
}
}  // namespace

Tensor GradHookList::run(const Tensor& grad) const {
  Tensor current = grad;
  auto snapshot = hooks;  // a hook may register or remove hooks while these run
  for (auto& entry : snapshot) {
    Tensor replacement = entry.second(current);
    if (!replacement.defined()) continue;
    check_hook_result(current, replacement);
    current = replacement;
  }
  if (retain_grad_hook) retain_grad_hook(current);
  return current;
}

static GradHookList& grad_hooks_of(const std::shared_ptr<TensorImpl>& impl) {
  if (!impl->grad_hooks) impl->grad_hooks = std::make_shared<GradHookList>();
  if (impl->grad_fn) impl->grad_fn->output_grad_hooks = impl->grad_hooks;
  return *impl->grad_hooks;
}

HookHandle Tensor::register_hook(GradHook hook) const {
  if (!requires_grad()) throw std::runtime_error("cannot register a hook on a tensor that doesn't require gradient");
  GradHookList& list = grad_hooks_of(impl_);
  const uint64_t id = next_hook_id();
  list.hooks.emplace_back(id, std::move(hook));
  return HookHandle(impl_->grad_hooks, id);
}

HookHandle Tensor::register_post_accumulate_grad_hook(PostAccumulateGradHook hook) const {
  if (!requires_grad()) throw std::runtime_error("cannot register a hook on a tensor that doesn't require gradient");
  if (!is_leaf()) throw std::runtime_error("post accumulate grad hooks cannot be registered on non-leaf tensors");
  if (!impl_->post_accumulate_grad_hooks)
    impl_->post_accumulate_grad_hooks = std::make_shared<HookList<PostAccumulateGradHook>>();
  const uint64_t id = next_hook_id();
  impl_->post_accumulate_grad_hooks->hooks.emplace_back(id, std::move(hook));
  return HookHandle(impl_->post_accumulate_grad_hooks, id);
}

void Tensor::retain_grad() const {
  if (!requires_grad()) throw std::runtime_error("can't retain_grad on Tensor that has requires_grad=False");
  if (is_leaf() || retains_grad()) return;
  std::weak_ptr<TensorImpl> weak = impl_;  // the graph must not keep the tensor alive
  grad_hooks_of(impl_).retain_grad_hook = [weak](const Tensor& grad) {
    if (auto impl = weak.lock()) impl->grad = impl->grad.defined() ? ops::add(impl->grad, grad) : grad.clone();
    return Tensor();
  };
}

bool Tensor::retains_grad() const {
  return !is_leaf() && impl_->grad_hooks && static_cast<bool>(impl_->grad_hooks->retain_grad_hook);
}

namespace autograd {
namespace {

// Gradients of one group, filled in by the aliases' nodes and handed to the hook by the gather node.
struct GroupGradients {
  std::vector<Tensor> grads;
};

// The grad_fn of alias i: parks the gradient w.r.t. the alias and sends the gather node a token, so
// the engine runs the gather node once every alias that will get a gradient in this pass has one.
struct GroupMemberBackward : Node {
  std::shared_ptr<GroupGradients> group;
  size_t index = 0;
  std::vector<Tensor> apply(const Tensor& grad) override {
    group->grads[index] = grad;
    return {Tensor::zeros({}, DType::Float32, Device::cpu())};
  }
  std::string name() const override { return "BackwardHookFunctionBackward"; }
};

// Edges to the original tensors: runs the hook on the parked gradients and sends its result on.
struct GroupGradHookBackward : Node {
  std::shared_ptr<GroupGradients> group;
  GroupGradHook hook;
  std::vector<Tensor> apply(const Tensor&) override {
    std::vector<Tensor> grads(group->grads.size());
    grads.swap(group->grads);  // ready for the next pass (retain_graph)
    std::vector<Tensor> replaced = hook(grads);
    if (replaced.empty()) return grads;
    if (replaced.size() != grads.size())
      throw std::runtime_error("backward hook returned " + std::to_string(replaced.size()) + " gradients, expected " +
                               std::to_string(grads.size()));
    for (size_t i = 0; i < grads.size(); ++i)
      if (replaced[i].defined() && grads[i].defined()) check_hook_result(grads[i], replaced[i]);
    return replaced;
  }
  std::string name() const override { return "BackwardHookGroup"; }
};

}  // namespace

std::vector<Tensor> hook_group_gradients(const std::vector<Tensor>& tensors, GroupGradHook hook) {
  auto group = std::make_shared<GroupGradients>();
  group->grads.resize(tensors.size());
  auto gather = std::make_shared<GroupGradHookBackward>();
  gather->group = group;
  gather->hook = std::move(hook);
  std::vector<Tensor> aliases;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    gather->next_edges.push_back(gradient_edge(t));
    if (!t.defined() || !t.requires_grad() || !GradMode::is_enabled()) {
      aliases.push_back(t);
      continue;
    }
    auto member = std::make_shared<GroupMemberBackward>();
    member->group = group;
    member->index = i;
    member->next_edges.push_back(Edge{gather, {}});
    Tensor alias = t.detach();
    alias.impl()->grad_fn = member;
    alias.impl()->requires_grad = true;
    aliases.push_back(alias);
  }
  return aliases;
}

}  // namespace autograd
}  // namespace dlcore
