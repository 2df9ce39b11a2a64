// Tensor: a reference-counted handle to a strided view of typed storage on one device.
// Copying a Tensor copies the handle, not the data (like torch.Tensor). The autograd fields live
// here too, because every op needs them to record the graph (see autograd.h).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dlcore/dtype.h"

namespace dlcore {

enum class DeviceType : int8_t { CPU, CUDA };

// A device type and, for CUDA, the GPU's index. index -1 means "not given" (torch's
// device('cuda') has index None): creating a tensor there uses the current device, so a tensor's
// own device always has an index. Equality compares both, as in torch (cuda != cuda:0).
struct Device {
  DeviceType type = DeviceType::CPU;
  int8_t index = -1;
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;                       // "cpu", "cuda", "cuda:1"
  // "cpu", "cpu:0", "cuda", "cuda:N"; anything else raises RuntimeError as torch does.
  static Device parse(const std::string& name);
  static Device cpu() { return Device{DeviceType::CPU, -1}; }
  static Device cuda(int index = -1);            // RuntimeError for a negative index other than -1
  // The device a tensor created on `requested` lives on: CUDA without an index -> the current one.
  Device resolved() const;
};

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& shape);
int64_t shape_numel(const Shape& shape);

// Bytes on one device. CPU memory is 64-byte aligned, from cpu_allocator (large blocks cached);
// CUDA memory comes from the caching allocator.
struct Storage {
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  // Bumped by every in-place write (copy_, fill_, zero_, optimizer steps, ...); shared by all views
  // of the storage. Backward compares it with the version a node saved (see Node::save).
  uint64_t version = 0;
};

struct Node;
struct TensorImpl;
class Tensor;

// ---- autograd hooks (run by the backward engine, see autograd.h) ----
// A gradient hook sees the gradient w.r.t. a tensor during backward and may return a replacement of
// the same shape, dtype and device; an undefined Tensor keeps the gradient it was given.
using GradHook = std::function<Tensor(const Tensor& grad)>;
// A post-accumulate hook sees a leaf right after backward has accumulated into its .grad.
using PostAccumulateGradHook = std::function<void(const Tensor& leaf)>;

// What a HookHandle removes its hook from.
struct HookRegistry {
  virtual ~HookRegistry() = default;
  virtual void remove(uint64_t id) = 0;
};

// Hooks in registration order, each under the id its HookHandle removes it by.
template <typename Hook>
struct HookList : HookRegistry {
  std::vector<std::pair<uint64_t, Hook>> hooks;
  void remove(uint64_t id) override {
    for (auto it = hooks.begin(); it != hooks.end(); ++it)
      if (it->first == id) {
        hooks.erase(it);
        return;
      }
  }
};

// The gradient hooks of one tensor. retain_grad_hook (Tensor::retain_grad) runs after the others,
// whatever the registration order, as in PyTorch.
struct GradHookList : HookList<GradHook> {
  GradHook retain_grad_hook;
  // Runs the hooks in order, each on the previous one's result; throws std::runtime_error when a
  // hook returns a gradient of another shape, dtype or device.
  Tensor run(const Tensor& grad) const;
};

// Returned by the register_*hook functions; remove() is idempotent and harmless once the tensor is gone.
class HookHandle {
 public:
  HookHandle(std::weak_ptr<HookRegistry> registry, uint64_t id) : registry_(std::move(registry)), id_(id) {}
  uint64_t id() const { return id_; }
  void remove() const;

 private:
  std::weak_ptr<HookRegistry> registry_;
  uint64_t id_;
};
uint64_t next_hook_id();  // unique across all hook lists, like torch's RemovableHandle.id

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- creation (contiguous) ----
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::Float32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, Scalar value, DType dtype = DType::Float32, Device device = Device::cpu());
  // A 0-d CPU tensor holding a Python number for an op: it takes part in type promotion as a
  // number (PyTorch's "wrapped number") and reaches kernels by value, on any device.
  static Tensor wrapped_number(Scalar value);
  bool is_wrapped_number() const;

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  const Shape& strides() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  bool is_cuda() const { return device().is_cuda(); }
  bool is_contiguous() const;
  int64_t storage_offset() const;
  const std::shared_ptr<Storage>& storage() const;

  // Typed pointer to the first element; checks the dtype.
  template <typename T> T* data() const;
  void* raw_data() const;

  // ---- views and copies ----
  Tensor view(const Shape& shape) const;         // one -1 allowed; the strides must allow it (torch's rule)
  Tensor as_strided(const Shape& shape, const Shape& strides, int64_t offset) const;
  Tensor contiguous() const;                      // self when already contiguous
  Tensor to(Device device) const;                 // self when already there
  Tensor clone() const;                           // contiguous copy, no autograd
  void copy_(const Tensor& src);                  // src broadcast to this (strided) view; across devices allowed
  void fill_(Scalar value);                       // any layout; value converted to the dtype
  void zero_();
  // In-place writers call this so autograd can refuse gradients computed from stale saved tensors.
  void bump_version() const;
  uint64_t version() const;

  // ---- autograd ----
  bool requires_grad() const;
  void set_requires_grad(bool value);             // leaves only
  bool is_leaf() const;
  Tensor grad() const;                            // undefined if none
  void set_grad(const Tensor& grad);
  const std::shared_ptr<Node>& grad_fn() const;
  Tensor detach() const;                          // shares storage, no history
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false) const;
  // Hooks (PyTorch's semantics): on a non-leaf, gradient hooks run on the gradient w.r.t. this tensor
  // before it flows into grad_fn; on a leaf, before it is accumulated into .grad. Both need
  // requires_grad; post-accumulate hooks need a leaf. Throw std::runtime_error otherwise.
  HookHandle register_hook(GradHook hook) const;
  HookHandle register_post_accumulate_grad_hook(PostAccumulateGradHook hook) const;
  // Non-leaves: keep the gradient in .grad during backward (a no-op on leaves).
  void retain_grad() const;
  bool retains_grad() const;

  Scalar item() const;                            // single-element tensors, exact; waits for the device
  const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }
  std::string describe() const;                   // "float32[64, 1, 28, 28] on cpu"

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape, strides;
  DType dtype = DType::Float32;
  bool wrapped_number = false;  // see Tensor::wrapped_number
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;           // the op that produced this tensor; null for leaves
  std::weak_ptr<Node> grad_accumulator;    // leaves: the AccumulateGrad node, created on demand
  // Created by the first register_hook/retain_grad; a non-leaf's grad_fn shares it (Node::output_grad_hooks).
  std::shared_ptr<GradHookList> grad_hooks;
  std::shared_ptr<HookList<PostAccumulateGradHook>> post_accumulate_grad_hooks;  // leaves only
};

Shape contiguous_strides(const Shape& shape);

void check_dtype(const Tensor& t, DType expected, const char* where);

template <typename T> T* Tensor::data() const {
  check_dtype(*this, DTypeOf<T>::value, "Tensor::data");
  return static_cast<T*>(raw_data());
}

// Random numbers for initialisation (host side, one global generator seeded by manual_seed).
void manual_seed(uint64_t seed);
uint64_t next_seed();  // a fresh 64-bit seed from the global generator (dropout masks)
Tensor rand(const Shape& shape, Device device = Device::cpu());          // U[0, 1)
Tensor randn(const Shape& shape, Device device = Device::cpu());         // N(0, 1)
Tensor uniform(const Shape& shape, float low, float high, Device device = Device::cpu());
Tensor arange(int64_t n, Device device = Device::cpu());                 // float 0..n-1
// torch.arange(start, end, step) in `dtype`: ceil((end - start) / step) values start + i*step.
Tensor arange(Scalar start, Scalar end, Scalar step, DType dtype, Device device = Device::cpu());

}  // namespace dlcore
