// Tensor element types: the DType enum, its C++ types, PyTorch's promotion rules, and visit_dtype,
// the one switch that turns a runtime DType into a compile-time type for templated code.
#pragma once
#include <cstdint>
#include <string>
#include <type_traits>

#include "dlcore/scalar_types.h"

namespace dlcore {

// Ordered by promotion category: bool < integers < floating point.
enum class DType : int8_t { Bool, UInt8, Int32, Int64, Float16, BFloat16, Float32, Float64 };
constexpr int kDTypeCount = 8;

size_t dtype_size(DType dtype);
std::string dtype_name(DType dtype);  // PyTorch's names: "float32", "bfloat16", "bool", ...
inline bool is_floating(DType d) { return d >= DType::Float16; }
inline bool is_integral(DType d) { return d >= DType::UInt8 && d <= DType::Int64; }  // bool excluded

// torch.promote_types: the smallest type both convert to without losing their category.
DType promote_types(DType a, DType b);

// torch.get_default_dtype / set_default_dtype, process-wide: the dtype a Python float counts as in
// promotion and the one floating ops give integer inputs (float32 unless changed). The setter
// throws std::invalid_argument for a dtype that is not floating (Python checks first: TypeError).
DType default_dtype();
void set_default_dtype(DType dtype);

// One operand of torch.result_type: a tensor (dim > 0 or 0-d) or a wrapped Python number.
enum class OperandKind : int8_t { Tensor, ZeroDimTensor, Number };
// Accumulates operands in PyTorch's three tiers: tensors with dimensions decide, 0-d tensors and
// Python numbers only raise the category (bool -> integer -> float), never the width.
struct ResultType {
  void add(DType dtype, OperandKind kind);
  DType result() const;
 private:
  int dim_ = -1, zero_dim_ = -1, number_ = -1;  // -1: no operand of that tier yet
};

// A number that is not a tensor: a Python int, float or bool given to an op or a fill, kept exactly
// (int64 and double) until it is converted to the dtype it meets.
class Scalar {
 public:
  Scalar(double v) : kind_(DType::Float64), d_(v) {}  // NOLINT: numbers convert implicitly
  Scalar(float v) : Scalar(static_cast<double>(v)) {}  // NOLINT
  Scalar(bool v) : kind_(DType::Bool), i_(v) {}        // NOLINT
  template <typename I, typename = std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>>>
  Scalar(I v) : kind_(DType::Int64), i_(static_cast<int64_t>(v)) {}  // NOLINT
  // Bool, Int64 or Float64: the kind of number it is (promotion treats Float64 as the default float).
  DType dtype() const { return kind_; }
  double to_double() const { return kind_ == DType::Float64 ? d_ : static_cast<double>(i_); }
  int64_t to_int64() const { return kind_ == DType::Float64 ? static_cast<int64_t>(d_) : i_; }
  operator double() const { return to_double(); }  // NOLINT: C++ callers read numbers as double
  // The value converted to `dtype` (as static_cast does), written to `out` (at least 8 bytes).
  void write_as(DType dtype, void* out) const;
 private:
  DType kind_;
  double d_ = 0;
  int64_t i_ = 0;
};

template <typename T> struct DTypeOf;
template <> struct DTypeOf<bool> { static constexpr DType value = DType::Bool; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct DTypeOf<Half> { static constexpr DType value = DType::Float16; };
template <> struct DTypeOf<BFloat16> { static constexpr DType value = DType::BFloat16; };
template <> struct DTypeOf<float> { static constexpr DType value = DType::Float32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::Float64; };

template <typename T> struct TypeTag { using type = T; };

// Calls fn(TypeTag<T>{}) with T the C++ type of `dtype`.
template <typename Fn>
decltype(auto) visit_dtype(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Bool: return fn(TypeTag<bool>{});
    case DType::UInt8: return fn(TypeTag<uint8_t>{});
    case DType::Int32: return fn(TypeTag<int32_t>{});
    case DType::Int64: return fn(TypeTag<int64_t>{});
    case DType::Float16: return fn(TypeTag<Half>{});
    case DType::BFloat16: return fn(TypeTag<BFloat16>{});
    case DType::Float32: return fn(TypeTag<float>{});
    case DType::Float64: break;
  }
  return fn(TypeTag<double>{});
}

}  // namespace dlcore
