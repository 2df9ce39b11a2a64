// Element types: sizes, names, PyTorch's promotion lattice and result_type, and Scalar conversion.
#include "dlcore/dtype.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>

namespace dlcore {

size_t dtype_size(DType dtype) {
  return visit_dtype(dtype, [](auto tag) { return sizeof(typename decltype(tag)::type); });
}

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Bool: return "bool";
    case DType::UInt8: return "uint8";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
  }
  return "?";
}

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::Bool) return b;
  if (b == DType::Bool) return a;
  const bool fa = is_floating(a), fb = is_floating(b);
  if (fa != fb) return fa ? a : b;  // an integer meets a float: the float
  if (fa) {
    // float16 and bfloat16 have no common 16-bit type: both fit in float32.
    if ((a == DType::Float16 && b == DType::BFloat16) || (a == DType::BFloat16 && b == DType::Float16))
      return DType::Float32;
    return std::max(a, b);  // the enum orders floats by width
  }
  return std::max(a, b);  // uint8 < int32 < int64
}

namespace {
// PyTorch's combine_categories: a lower tier changes the result only when it is of a higher
// category (bool < integer < float), and then to the promotion of the two.
int combine(int higher, int lower) {
  if (higher < 0) return lower;
  if (lower < 0) return higher;
  const DType h = static_cast<DType>(higher), l = static_cast<DType>(lower);
  if (is_floating(h)) return higher;
  if (h == DType::Bool || is_floating(l)) return static_cast<int>(promote_types(h, l));
  return higher;
}
int accumulate(int state, DType d) {
  return state < 0 ? static_cast<int>(d) : static_cast<int>(promote_types(static_cast<DType>(state), d));
}
}  // namespace

namespace {
std::atomic<DType> g_default_dtype{DType::Float32};
}

DType default_dtype() { return g_default_dtype.load(std::memory_order_relaxed); }

void set_default_dtype(DType dtype) {
  if (!is_floating(dtype))
    throw std::invalid_argument("set_default_dtype: only floating-point types can be the default, got " + dtype_name(dtype));
  g_default_dtype.store(dtype, std::memory_order_relaxed);
}

void ResultType::add(DType dtype, OperandKind kind) {
  switch (kind) {
    case OperandKind::Tensor: dim_ = accumulate(dim_, dtype); break;
    case OperandKind::ZeroDimTensor: zero_dim_ = accumulate(zero_dim_, dtype); break;
    case OperandKind::Number:  // a Python float counts as the default dtype
      number_ = accumulate(number_, is_floating(dtype) ? default_dtype() : dtype);
      break;
  }
}

DType ResultType::result() const {
  const int r = combine(dim_, combine(zero_dim_, number_));
  return r < 0 ? default_dtype() : static_cast<DType>(r);
}

void Scalar::write_as(DType dtype, void* out) const {
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T value;
    if (kind_ == DType::Float64) {
      value = static_cast<T>(d_);
    } else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      value = static_cast<T>(static_cast<float>(i_));
    } else {
      value = static_cast<T>(i_);
    }
    std::memcpy(out, &value, sizeof value);
  });
}

}  // namespace dlcore
