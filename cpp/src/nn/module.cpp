// Module: the registries of parameters, buffers and children, and everything that walks them
// (named_parameters, train/eval, to, zero_grad, state_dict, load_state_dict).
#include <algorithm>
#include <functional>
#include <set>
#include <unordered_set>

#include "dlcore/autograd.h"
#include "dlcore/nn.h"

namespace dlcore::nn {
namespace {
template <typename Entries>
auto find_entry(Entries& entries, const std::string& name) {
  return std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.first == name; });
}
std::string join(const std::string& prefix, const std::string& name) { return prefix.empty() ? name : prefix + "." + name; }

// Moves a tensor's data to `device` without changing its identity: every handle (Python objects,
// optimizer state) keeps pointing at the same TensorImpl.
void move_in_place(const Tensor& t, Device device) {
  if (!t.defined() || t.device() == device) return;
  Tensor moved = t.contiguous().to(device);
  TensorImpl& impl = *t.impl();
  impl.storage = moved.storage();
  impl.offset = moved.storage_offset();
  impl.strides = moved.strides();
  if (impl.grad.defined()) impl.grad = impl.grad.to(device);
}
}  // namespace

Tensor Module::forward(const Tensor&) {
  throw std::runtime_error(type_name_ + ": forward() is not implemented; define forward in your Module subclass");
}

void Module::register_parameter(const std::string& name, const Tensor& param) {
  if (name.empty() || name.find('.') != std::string::npos)
    throw ValueError("register_parameter: invalid name '" + name + "' (empty or containing '.')");
  if (param.defined() && !param.is_leaf())
    throw ValueError("register_parameter: '" + name + "' must be a leaf tensor (use .detach())");
  unregister(name);
  if (param.defined() && !param.requires_grad()) Tensor(param).set_requires_grad(true);
  params_.emplace_back(name, param);
}

void Module::register_buffer(const std::string& name, const Tensor& buffer) {
  if (name.empty() || name.find('.') != std::string::npos)
    throw ValueError("register_buffer: invalid name '" + name + "'");
  unregister(name);
  buffers_.emplace_back(name, buffer);
}

void Module::register_module(const std::string& name, std::shared_ptr<Module> module) {
  if (name.empty() || name.find('.') != std::string::npos)
    throw ValueError("register_module: invalid name '" + name + "'");
  unregister(name);
  children_.emplace_back(name, std::move(module));
}

void Module::unregister(const std::string& name) {
  if (auto it = find_entry(params_, name); it != params_.end()) params_.erase(it);
  if (auto it = find_entry(buffers_, name); it != buffers_.end()) buffers_.erase(it);
  if (auto it = find_entry(children_, name); it != children_.end()) children_.erase(it);
}

int Module::find(const std::string& name) const {
  if (find_entry(params_, name) != params_.end()) return 1;
  if (find_entry(buffers_, name) != buffers_.end()) return 2;
  if (find_entry(children_, name) != children_.end()) return 3;
  return 0;
}

Tensor Module::parameter(const std::string& name) const {
  auto it = find_entry(params_, name);
  if (it == params_.end()) throw ValueError(type_name_ + " has no parameter '" + name + "'");
  return it->second;
}

Tensor Module::buffer(const std::string& name) const {
  auto it = find_entry(buffers_, name);
  if (it == buffers_.end()) throw ValueError(type_name_ + " has no buffer '" + name + "'");
  return it->second;
}

std::shared_ptr<Module> Module::child(const std::string& name) const {
  auto it = find_entry(children_, name);
  if (it == children_.end()) throw ValueError(type_name_ + " has no submodule '" + name + "'");
  return it->second;
}

Module::NamedModules Module::named_descendants(const std::string& prefix) const {
  NamedModules out;
  std::unordered_set<const Module*> seen{this};
  std::function<void(const Module&, const std::string&)> walk = [&](const Module& m, const std::string& path) {
    for (const auto& [name, child] : m.children_) {
      if (!child || !seen.insert(child.get()).second) continue;
      const std::string child_path = join(path, name);  // a copy: `out` may reallocate below
      out.emplace_back(child_path, child);
      walk(*child, child_path);
    }
  };
  walk(*this, prefix);
  return out;
}

void Module::collect(const std::string& prefix, bool recurse, bool buffers, NamedTensors& out) const {
  auto own = [&](const Module& m, const std::string& path) {
    for (const auto& [name, t] : buffers ? m.buffers_ : m.params_)
      if (t.defined()) out.emplace_back(join(path, name), t);
  };
  own(*this, prefix);
  if (!recurse) return;
  for (const auto& [path, m] : named_descendants(prefix)) own(*m, path);
}

NamedTensors Module::named_parameters(const std::string& prefix, bool recurse) const {
  NamedTensors out;
  collect(prefix, recurse, false, out);
  // A parameter shared by two modules is listed once, like PyTorch.
  std::set<const TensorImpl*> seen;
  NamedTensors unique;
  for (auto& e : out)
    if (seen.insert(e.second.impl().get()).second) unique.push_back(std::move(e));
  return unique;
}

NamedTensors Module::named_buffers(const std::string& prefix, bool recurse) const {
  NamedTensors out;
  collect(prefix, recurse, true, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& e : named_parameters("", recurse)) out.push_back(e.second);
  return out;
}

void Module::train(bool mode) {
  training_ = mode;
  for (auto& [path, m] : named_descendants()) m->training_ = mode;
}

void Module::to(Device device) {
  for (auto& [name, t] : named_parameters()) move_in_place(t, device);
  for (auto& [name, t] : named_buffers()) move_in_place(t, device);
}

void Module::zero_grad(bool set_to_none) {
  for (auto& [name, t] : named_parameters()) {
    Tensor g = t.grad();
    if (!g.defined()) continue;
    if (set_to_none) Tensor(t).set_grad(Tensor());
    else g.zero_();
  }
}

// PyTorch's order: a module's parameters, then its buffers, then each child's state in turn. A
// module shared by two children appears under both names, as in torch; a module that contains itself
// (a cycle, where torch recurses until RecursionError) contributes once.
void Module::collect_state(const std::string& prefix, std::vector<const Module*>& ancestors, NamedTensors& out) const {
  collect(prefix, false, false, out);
  collect(prefix, false, true, out);
  ancestors.push_back(this);
  for (const auto& [name, m] : children_)
    if (m && std::find(ancestors.begin(), ancestors.end(), m.get()) == ancestors.end())
      m->collect_state(join(prefix, name), ancestors, out);
  ancestors.pop_back();
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  std::vector<const Module*> ancestors;
  collect_state("", ancestors, out);
  for (auto& e : out) e.second = e.second.detach();
  return out;
}

std::pair<std::vector<std::string>, std::vector<std::string>> Module::load_state_dict(const NamedTensors& state,
                                                                                     bool strict) {
  NamedTensors own = state_dict();
  std::vector<std::string> missing, unexpected;
  for (const auto& [name, t] : own)
    if (find_entry(state, name) == state.end()) missing.push_back(name);
  for (const auto& [name, t] : state)
    if (find_entry(own, name) == own.end()) unexpected.push_back(name);
  if (strict && (!missing.empty() || !unexpected.empty())) {
    std::string msg = "load_state_dict: mismatched keys for " + type_name_ + ".";
    if (!missing.empty()) {
      msg += " Missing:";
      for (auto& k : missing) msg += " " + k;
      msg += ".";
    }
    if (!unexpected.empty()) {
      msg += " Unexpected:";
      for (auto& k : unexpected) msg += " " + k;
      msg += ".";
    }
    throw ValueError(msg);
  }
  // Check every shape before copying anything, so a failed load leaves the module unchanged.
  for (const auto& [name, dst] : own) {
    auto it = find_entry(state, name);
    if (it == state.end()) continue;
    if (it->second.shape() != dst.shape() || it->second.dtype() != dst.dtype())
      throw ValueError("load_state_dict: size mismatch for " + name + ": copying a param with shape " +
                       it->second.describe() + ", the shape in the current model is " + dst.describe());
  }
  NoGradGuard no_grad;
  for (auto& [name, dst] : own) {
    auto it = find_entry(state, name);
    if (it != state.end()) Tensor(dst).copy_(it->second);
  }
  return {missing, unexpected};
}

}  // namespace dlcore::nn
