// Tensor and Storage: allocation on each device, metadata accessors, views, contiguous copies and
// copies between devices. No math beyond copying lives here; ops/ does the rest.
#include "dlcore/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "../dispatch.h"
#include "cpu_allocator.h"
#include "../ops/pointwise.h"
#include "dlcore/autograd.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/ops.h"
#include "dlcore/profiler.h"

namespace dlcore {

Device Device::parse(const std::string& name) {
  const size_t colon = name.find(':');
  const std::string type = name.substr(0, colon);
  if (type != "cpu" && type != "cuda")
    throw std::runtime_error("Expected one of cpu, cuda device type at start of device string: '" + name + "'");
  int index = -1;
  if (colon != std::string::npos) {
    const std::string digits = name.substr(colon + 1);
    const bool valid = !digits.empty() && digits.size() <= 2 &&
                       digits.find_first_not_of("0123456789") == std::string::npos &&
                       (digits.size() == 1 || digits[0] != '0');
    if (!valid)
      throw std::runtime_error("Invalid device string: '" + name + "': the index after ':' must be a non-negative integer below 100");
    index = std::stoi(digits);
  }
  return Device{type == "cuda" ? DeviceType::CUDA : DeviceType::CPU, static_cast<int8_t>(index)};
}

Device Device::cuda(int index) {
  if (index < -1 || index > 99)
    throw std::runtime_error("Device index must be a non-negative integer below 100, got " + std::to_string(index));
  return Device{DeviceType::CUDA, static_cast<int8_t>(index)};
}

std::string Device::str() const {
  const std::string name = is_cuda() ? "cuda" : "cpu";
  return index < 0 ? name : name + ":" + std::to_string(index);
}

Device Device::resolved() const {
  if (is_cpu()) return cpu();
  return Device{DeviceType::CUDA, static_cast<int8_t>(index < 0 ? cuda::current_device() : index)};
}

std::string shape_str(const Shape& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

// The element count of a shape of non-negative sizes, or nullopt when it overflows int64. The
// product of the non-zero sizes must fit as well: it is the largest contiguous stride, so a shape
// like [0, 2^40, 2^40] (no elements, strides past int64) is refused too, as torch does.
static std::optional<int64_t> checked_numel(const Shape& shape) {
  int64_t nonzero = 1;
  bool has_zero = false;
  for (int64_t s : shape) {
    if (s == 0) {
      has_zero = true;
    } else if (__builtin_mul_overflow(nonzero, s, &nonzero)) {
      return std::nullopt;
    }
  }
  return has_zero ? 0 : nonzero;
}

int64_t shape_numel(const Shape& shape) {
  std::optional<int64_t> n = checked_numel(shape);
  if (!n)
    throw std::runtime_error("shape " + shape_str(shape) + " has more elements than int64 can count (" +
                             std::to_string(std::numeric_limits<int64_t>::max()) + ")");
  return *n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}

// ---- Storage ----------------------------------------------------------------------------------

Storage::Storage(size_t nbytes_, Device device_) : nbytes(nbytes_), device(device_.resolved()) {
  if (device.is_cuda() && device.index >= cuda::device_count() && cuda::is_available())
    throw std::runtime_error("CUDA error: invalid device ordinal: " + device.str() + " requested but " +
                             std::to_string(cuda::device_count()) + " CUDA device" +
                             (cuda::device_count() == 1 ? " is" : "s are") + " visible");
  if (nbytes == 0) return;
  if (device.is_cuda()) {
    cuda::DeviceGuard guard(device.index);
    data = cuda::allocate(nbytes);
  } else {
    // 64-byte alignment keeps every row of a packed GEMM panel on its own cache lines.
    data = cpu_allocator::allocate(nbytes);
  }
}

Storage::~Storage() {
  if (!data) return;
  if (device.is_cuda()) {
    cuda::deallocate(data);
  } else {
    cpu_allocator::deallocate(data, nbytes);
  }
}

// ---- Tensor: metadata -----------------------------------------------------------------------

static void check_shape(const Shape& shape, const char* where) {
  for (int64_t s : shape)
    if (s < 0) throw ValueError(std::string(where) + ": negative dimension in shape " + shape_str(shape));
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  check_shape(shape, "empty");
  const int64_t numel = shape_numel(shape);
  const int64_t element_size = static_cast<int64_t>(dtype_size(dtype));
  // Bytes stay within int64 so that no size or offset arithmetic downstream (rounding to the
  // allocator's alignment, byte offsets) can wrap.
  if (numel > std::numeric_limits<int64_t>::max() / element_size)
    throw std::runtime_error("cannot create a " + dtype_name(dtype) + shape_str(shape) + " tensor: " +
                             std::to_string(numel) + " elements of " + std::to_string(element_size) +
                             " bytes exceed " + std::to_string(std::numeric_limits<int64_t>::max()) + " bytes");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(static_cast<size_t>(numel * element_size), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.zero_();
  return t;
}

Tensor Tensor::full(const Shape& shape, Scalar value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::wrapped_number(Scalar value) {
  Tensor t = empty({}, value.dtype(), Device::cpu());
  value.write_as(value.dtype(), t.raw_data());
  t.impl_->wrapped_number = true;
  return t;
}


static const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
  if (!impl) throw ValueError("use of an undefined tensor");
  return *impl;
}

const Shape& Tensor::shape() const { return checked(impl_).shape; }
bool Tensor::is_wrapped_number() const { return checked(impl_).wrapped_number; }
const Shape& Tensor::strides() const { return checked(impl_).strides; }
DType Tensor::dtype() const { return checked(impl_).dtype; }
Device Tensor::device() const { return checked(impl_).storage->device; }
int64_t Tensor::numel() const { return shape_numel(shape()); }
int64_t Tensor::storage_offset() const { return checked(impl_).offset; }
const std::shared_ptr<Storage>& Tensor::storage() const { return checked(impl_).storage; }

int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  if (d < -n || d >= n)
    throw ValueError("size: dimension " + std::to_string(d) + " out of range for shape " + shape_str(shape()));
  return shape()[d < 0 ? d + n : d];
}

bool Tensor::is_contiguous() const {
  const Shape& sh = shape();
  const Shape& st = strides();
  int64_t expected = 1;
  for (size_t i = sh.size(); i-- > 0;) {
    if (sh[i] != 1 && st[i] != expected) return false;
    expected *= sh[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  const TensorImpl& impl = checked(impl_);
  return static_cast<char*>(impl.storage->data) + impl.offset * dtype_size(impl.dtype);
}

void check_dtype(const Tensor& t, DType expected, const char* where) {
  if (t.dtype() != expected)
    throw ValueError(std::string(where) + ": expected a " + dtype_name(expected) + " tensor, got " +
                     t.describe());
}

std::string Tensor::describe() const {
  if (!impl_) return "undefined tensor";
  return dtype_name(dtype()) + shape_str(shape()) + " on " + device().str();
}

// ---- views and copies -------------------------------------------------------------------------

Tensor Tensor::as_strided(const Shape& shape, const Shape& strides, int64_t offset) const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = storage();
  impl->offset = offset;
  impl->shape = shape;
  impl->strides = strides;
  impl->dtype = dtype();
  return Tensor(std::move(impl));
}

Tensor Tensor::view(const Shape& requested) const {
  Shape shape = infer_view_shape(requested, this->shape(), "view");
  std::optional<Shape> new_strides = view_strides(this->shape(), strides(), shape);
  if (!new_strides)
    throw ShapeError("view: size " + shape_str(requested) + " is not compatible with input of shape " +
                     shape_str(this->shape()) + " and strides " + shape_str(strides()) +
                     " (at least one dimension spans across two contiguous subspaces); use reshape(...) instead");
  return as_strided(shape, *new_strides, storage_offset());
}

namespace {

// Element strides that read src as if expanded to dst's shape (0 on broadcast dimensions), or throws.
Shape broadcast_source_strides(const Tensor& src, const Tensor& dst) {
  const Shape& shape = dst.shape();
  const int64_t lead = static_cast<int64_t>(shape.size()) - src.dim();
  Shape strides(shape.size(), 0);
  bool ok = lead >= 0;
  for (int64_t d = 0; ok && d < src.dim(); ++d) {
    const int64_t have = src.shape()[d], want = shape[d + lead];
    if (have == want) strides[d + lead] = src.strides()[d];
    else ok = have == 1;
  }
  if (!ok)
    throw ShapeError("copy_: shape mismatch, destination " + dst.describe() + " and source " + src.describe() +
                     " (the source must broadcast to the destination's shape)");
  return strides;
}

// The element range [first, last] a view touches in its storage.
std::pair<int64_t, int64_t> element_span(const Shape& shape, const Shape& strides, int64_t offset) {
  int64_t last = offset;
  for (size_t d = 0; d < shape.size(); ++d) last += (shape[d] - 1) * strides[d];
  return {offset, last};
}

}  // namespace

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  profiler::OpScope profile_scope("contiguous", *this);  // only a real copy is an event, as in torch
  Tensor out = empty(shape(), dtype(), device());
  ops::pointwise::copy_elements(out, *this);
  return out;
}

// In-place writes are not recorded by autograd, so on a tensor that requires grad they would make
// later gradients silently wrong; like torch for leaves (and stricter for results of ops), refuse
// them in grad mode. Initialisation and loading run under no_grad.
static void check_inplace_allowed(const Tensor& t, const char* op) {
  if (GradMode::is_enabled() && t.requires_grad())
    throw ValueError(std::string(op) + ": cannot modify " + t.describe() +
                     " in place: it requires grad and autograd does not record in-place changes; "
                     "do it under dl.no_grad() or use an out-of-place op");
}

// Copies bytes between two dense buffers of nbytes on any pair of devices, on the current stream of
// the GPU involved (both GPUs' for a copy between two).
static void copy_dense(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, nbytes);
  } else if (src_device.is_cpu()) {
    cuda::DeviceGuard guard(dst_device.index);
    cuda::copy_host_to_device(dst, src, nbytes);
  } else if (dst_device.is_cpu()) {
    cuda::DeviceGuard guard(src_device.index);
    cuda::copy_device_to_host(dst, src, nbytes);
  } else {
    cuda::copy_between_devices(dst, dst_device.index, src, src_device.index, nbytes);
  }
}

// Writes src, broadcast to this tensor's shape, through this tensor's strides (any view without
// internal overlap). Across devices the source travels as one dense block of the destination's
// shape; a source overlapping the destination in memory is read from a copy first.
void Tensor::copy_(const Tensor& src_in) {
  profiler::OpScope profile_scope("copy_", *this, src_in);
  check_inplace_allowed(*this, "copy_");
  if (src_in.dtype() != dtype()) {  // torch's copy_ converts: the source is cast first, on its device
    NoGradGuard no_grad;
    return copy_(ops::to_dtype(src_in.detach(), dtype()));
  }
  Shape src_strides = broadcast_source_strides(src_in, *this);
  if (numel() == 0) return;  // (an empty tensor's strides may be 0 anywhere)
  for (int64_t d = 0; d < dim(); ++d)
    if (strides()[d] == 0 && shape()[d] > 1)
      throw std::runtime_error("copy_: unsupported operation: more than one element of the destination " + describe() +
                               " refers to the same memory location (an expanded view); clone() it first");
  bump_version();
  const size_t elem = dtype_size(dtype());
  Tensor src = src_in.as_strided(shape(), src_strides, src_in.storage_offset());
  if (src.device() != device() || src.storage() == storage()) {
    auto [src_first, src_last] = element_span(src.shape(), src.strides(), src.storage_offset());
    auto [dst_first, dst_last] = element_span(shape(), strides(), storage_offset());
    if (src.storage() == storage() && src.strides() == strides() && src_first == dst_first) return;  // copy onto itself
    const bool overlaps = src.storage() == storage() && src_first <= dst_last && dst_first <= src_last;
    if (src.device() != device() || overlaps) {
      Tensor dense = empty(shape(), dtype(), src.device());
      ops::pointwise::copy_elements(dense, src);
      if (is_contiguous()) return copy_dense(raw_data(), device(), dense.raw_data(), dense.device(), numel() * elem);
      src = dense.to(device());
    }
  }
  if (is_contiguous() && src.is_contiguous()) {
    copy_dense(raw_data(), device(), src.raw_data(), src.device(), numel() * elem);
    return;
  }
  ops::pointwise::copy_elements(*this, src);
}

Tensor Tensor::to(Device target) const {
  target = target.resolved();
  if (device() == target) return *this;
  Tensor out = empty(shape(), dtype(), target);
  out.copy_(*this);
  return out;
}

Tensor Tensor::clone() const {
  profiler::OpScope profile_scope("clone", *this);
  Tensor out = empty(shape(), dtype(), device());
  out.copy_(*this);
  return out;
}

void Tensor::fill_(Scalar value) {
  check_inplace_allowed(*this, "fill_");
  if (numel() == 0) return;
  bump_version();
  // A cast from a by-value scalar operand into this tensor's elements, whatever its strides.
  PointwiseIter it;
  it.noperands = 2;
  it.ndim = std::max<int>(1, static_cast<int>(dim()));
  if (dim() > kMaxDims) throw ValueError("fill_: more than " + std::to_string(kMaxDims) + " dimensions in " + describe());
  it.sizes[0] = 1;
  for (int d = 0; d < dim(); ++d) {
    it.sizes[d] = shape()[d];
    it.strides[0][d] = strides()[d];
  }
  it.data[0] = raw_data();
  it.is_scalar[1] = true;
  value.write_as(value.dtype(), it.scalar[1]);
  DLCORE_DISPATCH(device(), cast, value.dtype(), dtype(), it);
}

void Tensor::bump_version() const { ++impl_->storage->version; }
uint64_t Tensor::version() const { return impl_->storage->version; }

void Tensor::zero_() {
  check_inplace_allowed(*this, "zero_");
  if (!is_contiguous()) return fill_(0);  // a strided view: the fill kernel walks its strides
  size_t nbytes = numel() * dtype_size(dtype());
  if (nbytes == 0) return;
  bump_version();
  if (is_cuda()) {
    cuda::DeviceGuard guard(device().index);
    cuda::memset_zero(raw_data(), nbytes);
  } else {
    std::memset(raw_data(), 0, nbytes);
  }
}

Scalar Tensor::item() const {
  if (numel() != 1)
    throw ValueError("item: only one-element tensors can be converted to a number, got " + describe());
  Tensor host = to(Device::cpu()).contiguous();
  return visit_dtype(dtype(), [&](auto tag) -> Scalar {
    using T = typename decltype(tag)::type;
    const T v = *static_cast<const T*>(host.raw_data());
    if constexpr (std::is_same_v<T, bool>) return Scalar(v);
    else if constexpr (std::is_integral_v<T>) return Scalar(static_cast<int64_t>(v));
    else return Scalar(static_cast<double>(static_cast<opmath_t<T>>(v)));
  });
}

// ---- autograd accessors ---------------------------------------------------------------------

bool Tensor::requires_grad() const { return checked(impl_).requires_grad; }

void Tensor::set_requires_grad(bool value) {
  if (!is_leaf())
    throw ValueError("requires_grad_: can only change requires_grad of leaf tensors, not of the output of " +
                     grad_fn()->name());
  if (value && !is_floating(dtype()))
    throw std::runtime_error("requires_grad_: only tensors of floating point dtype can require gradients, got " +
                             describe());
  impl_->requires_grad = value;
}

bool Tensor::is_leaf() const { return checked(impl_).grad_fn == nullptr; }
Tensor Tensor::grad() const { return checked(impl_).grad; }

// PyTorch's checks and error type (RuntimeError): backward accumulates into .grad in place, so a
// tensor that is its own gradient, or one of another dtype, device or shape, would corrupt it.
void Tensor::set_grad(const Tensor& grad) {
  if (grad.defined()) {
    if (grad.same(*this)) throw std::runtime_error("grad: can't assign Variable as its own grad");
    if (grad.dtype() != dtype())
      throw std::runtime_error("grad: attempting to assign a gradient with dtype " + dtype_name(grad.dtype()) +
                               " to a tensor with dtype " + dtype_name(dtype()) + " (" + grad.describe() + " to " +
                               describe() + ")");
    if (grad.device() != device())
      throw std::runtime_error("grad: attempting to assign a gradient on " + grad.device().str() +
                               " to a tensor on " + device().str() + " (" + grad.describe() + " to " + describe() + ")");
    if (grad.shape() != shape())
      throw std::runtime_error("grad: attempting to assign a gradient of size " + shape_str(grad.shape()) +
                               " to a tensor of size " + shape_str(shape()));
  }
  impl_->grad = grad;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const { return checked(impl_).grad_fn; }

Tensor Tensor::detach() const {
  Tensor out = as_strided(shape(), strides(), storage_offset());
  out.impl_->wrapped_number = impl_->wrapped_number;  // a detached number is still a number
  return out;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  autograd::run_backward(*this, gradient, retain_graph);
}

}  // namespace dlcore
