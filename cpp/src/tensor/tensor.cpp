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
#include "dlcore/autograd.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/ops.h"

namespace dlcore {

Device Device::parse(const std::string& name) {
  if (name == "cpu") return cpu();
  if (name == "cuda" || name == "cuda:0") return cuda();
  throw ValueError("unknown device '" + name + "': expected 'cpu', 'cuda' or 'cuda:0'");
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

Storage::Storage(size_t nbytes_, Device device_) : nbytes(nbytes_), device(device_) {
  if (nbytes == 0) return;
  if (device.is_cuda()) {
    data = cuda::allocate(nbytes);
  } else {
    // 64-byte alignment keeps every row of a packed GEMM panel on its own cache lines.
    size_t rounded = (nbytes + 63) / 64 * 64;
    data = std::aligned_alloc(64, rounded);
    if (!data) throw std::runtime_error("out of memory: cannot allocate " + std::to_string(nbytes) + " bytes on cpu");
  }
}

Storage::~Storage() {
  if (!data) return;
  if (device.is_cuda()) {
    cuda::deallocate(data);
  } else {
    std::free(data);
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
  if (!is_contiguous()) throw ValueError("view: tensor " + describe() + " is not contiguous");
  Shape shape = requested;
  int64_t infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw ValueError("view: only one dimension can be -1, got " + shape_str(requested));
      infer = static_cast<int64_t>(i);
      shape[i] = 1;
    } else if (shape[i] < 0) {
      throw ValueError("view: invalid shape " + shape_str(requested));
    }
  }
  // An overflowing product cannot equal this tensor's element count: an invalid shape, reported as
  // the other invalid shapes are (reshape rewords it).
  std::optional<int64_t> product = checked_numel(shape);
  if (!product)
    throw ValueError("view: shape " + shape_str(requested) + " is invalid for input of shape " +
                     shape_str(this->shape()) + ": its element count overflows int64");
  const int64_t known = *product;
  if (infer >= 0) {
    if (known == 0 || numel() % known != 0)
      throw ValueError("view: shape " + shape_str(requested) + " is invalid for input of shape " + shape_str(this->shape()));
    shape[infer] = numel() / known;
  }
  if (shape_numel(shape) != numel())
    throw ValueError("view: shape " + shape_str(requested) + " is invalid for input of shape " + shape_str(this->shape()));
  return as_strided(shape, contiguous_strides(shape), storage_offset());
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  Tensor out = empty(shape(), dtype(), device());
  BroadcastShape s;
  s.ndim = static_cast<int>(dim());
  if (s.ndim > kMaxDims) throw ValueError("contiguous: more than 8 dimensions in " + describe());
  for (int i = 0; i < s.ndim; ++i) {
    s.sizes[i] = shape()[i];
    s.a_strides[i] = strides()[i];
  }
  DLCORE_DISPATCH(device(), strided_copy, raw_data(), out.raw_data(), s, static_cast<int64_t>(dtype_size(dtype())));
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

void Tensor::copy_(const Tensor& src_in) {
  check_inplace_allowed(*this, "copy_");
  if (src_in.shape() != shape())
    throw ValueError("copy_: shape mismatch, destination " + describe() + " and source " + src_in.describe());
  if (src_in.dtype() != dtype())
    throw ValueError("copy_: dtype mismatch, destination " + describe() + " and source " + src_in.describe());
  if (!is_contiguous()) throw ValueError("copy_: destination " + describe() + " is not contiguous");
  Tensor src = src_in.contiguous();
  size_t nbytes = numel() * dtype_size(dtype());
  if (nbytes == 0) return;
  bump_version();
  bool dst_cuda = is_cuda(), src_cuda = src.is_cuda();
  if (!dst_cuda && !src_cuda) {
    std::memcpy(raw_data(), src.raw_data(), nbytes);
  } else if (dst_cuda && !src_cuda) {
    cuda::copy_host_to_device(raw_data(), src.raw_data(), nbytes);
  } else if (!dst_cuda && src_cuda) {
    cuda::copy_device_to_host(raw_data(), src.raw_data(), nbytes);
  } else {
    cuda::copy_device_to_device(raw_data(), src.raw_data(), nbytes);
  }
}

Tensor Tensor::to(Device target) const {
  if (device() == target) return *this;
  Tensor out = empty(shape(), dtype(), target);
  out.copy_(*this);
  return out;
}

Tensor Tensor::clone() const {
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
  if (!is_contiguous()) throw ValueError("zero_: tensor " + describe() + " is not contiguous");
  size_t nbytes = numel() * dtype_size(dtype());
  if (nbytes == 0) return;
  bump_version();
  if (is_cuda()) {
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
