// Creation of tensors whose values follow a formula (arange), computed on the host in the exact
// type (int64 or double) and converted once, so integer ranges never pass through a float.
#include <cmath>

#include "dlcore/ops.h"
#include "dlcore/tensor.h"

namespace dlcore {

Tensor arange(Scalar start, Scalar end, Scalar step, DType dtype, Device device) {
  const double s = start.to_double(), e = end.to_double(), st = step.to_double();
  if (st == 0) throw ValueError("arange: step must be nonzero");
  if (!std::isfinite(s) || !std::isfinite(e)) throw ValueError("arange: unsupported range " + std::to_string(s) + " .. " + std::to_string(e));
  if ((st > 0 && e < s) || (st < 0 && e > s))
    throw ValueError("arange: upper bound and larger bound inconsistent with step sign (start " + std::to_string(s) +
                     ", end " + std::to_string(e) + ", step " + std::to_string(st) + ")");
  const bool integral = start.dtype() != DType::Float64 && end.dtype() != DType::Float64 && step.dtype() != DType::Float64;
  int64_t n;
  if (integral) {  // exact beyond 2^53, where doubles would miscount
    const int64_t span = end.to_int64() - start.to_int64(), by = step.to_int64();
    n = span / by + (span % by != 0 ? 1 : 0);
  } else {
    const double count = std::ceil((e - s) / st);
    if (count > 9.0e18) throw std::runtime_error("arange: " + std::to_string(count) + " elements is too many");
    n = static_cast<int64_t>(count);
  }
  Tensor host = Tensor::empty({n}, integral ? DType::Int64 : DType::Float64);
  if (integral) {
    int64_t* p = host.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) p[i] = start.to_int64() + i * step.to_int64();
  } else {
    double* p = host.data<double>();
    for (int64_t i = 0; i < n; ++i) p[i] = s + static_cast<double>(i) * st;
  }
  return ops::to_dtype(host, dtype).to(device);
}

}  // namespace dlcore
