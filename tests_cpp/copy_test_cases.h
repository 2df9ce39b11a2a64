// Copies between views, shared by the CPU op test (test_copies.cpp, against element-by-element
// indexing) and the CUDA one (test_cuda_kernels_elementwise.cpp, against the CPU): each case builds
// a source view and a destination (contiguous or itself a view of a larger buffer) and copies.
#pragma once
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "dlcore/ops.h"
#include "dlcore/tensor.h"
#include "dlcore/view_ops.h"

namespace dlcore::testing {

inline const DType kAllDTypes[] = {DType::Bool,    DType::UInt8,    DType::Int32,   DType::Int64,
                                   DType::Float16, DType::BFloat16, DType::Float32, DType::Float64};

// Distinct small values in the dtype (bool: alternating), made on the CPU and moved to `device`.
inline Tensor numbered(const Shape& shape, DType dtype, Device device) {
  Tensor t = Tensor::empty(shape, dtype, Device::cpu());
  unsigned char* data = static_cast<unsigned char*>(t.raw_data());
  for (int64_t i = 0; i < t.numel(); ++i) {
    const Scalar value = dtype == DType::Bool ? Scalar(i % 2 == 1) : Scalar(static_cast<int64_t>(i % 100 + 1));
    unsigned char bytes[8];
    value.write_as(dtype, bytes);
    std::memcpy(data + i * dtype_size(dtype), bytes, dtype_size(dtype));
  }
  return t.to(device);
}

struct CopyCase {
  std::string name;
  // Returns the tensor the copy wrote (a destination buffer, views' untouched elements included).
  std::function<Tensor(DType, Device)> run;
};

inline std::vector<CopyCase> copy_cases() {
  return {
      {"transpose.contiguous", [](DType dt, Device d) { return ops::transpose(numbered({5, 7, 3}, dt, d), 0, 1).contiguous(); }},
      {"stepped.contiguous", [](DType dt, Device d) { return ops::slice(numbered({6, 8}, dt, d), 1, 0, 8, 3).contiguous(); }},
      {"expanded.contiguous", [](DType dt, Device d) { return ops::expand(numbered({1, 6}, dt, d), {4, 6}).contiguous(); }},
      {"into.transposed", [](DType dt, Device d) {
         Tensor dst = Tensor::zeros({7, 5}, dt, d);
         ops::transpose(dst, 0, 1).copy_(numbered({5, 7}, dt, d));
         return dst;
       }},
      {"into.stepped", [](DType dt, Device d) {
         Tensor dst = Tensor::zeros({3, 8}, dt, d);
         ops::slice(dst, 1, 1, 8, 2).copy_(numbered({3, 4}, dt, d));
         return dst;
       }},
      {"broadcast.into.slice", [](DType dt, Device d) {
         Tensor dst = Tensor::zeros({4, 6}, dt, d);
         ops::slice(dst, 0, 1, 3, 1).copy_(numbered({6}, dt, d));
         return dst;
       }},
      {"nine.dims", [](DType dt, Device d) {  // more dims than kMaxDims, mergeable after coalescing
         Tensor src = numbered({2, 1, 2, 1, 2, 1, 2, 1, 3}, dt, d);
         return ops::transpose(src, 0, 8).contiguous();
       }},
  };
}

inline Tensor run_copy_case(const CopyCase& c, DType dtype, Device device) { return c.run(dtype, device); }

inline std::vector<unsigned char> bytes_of(const Tensor& t) {
  const Tensor c = t.contiguous();
  std::vector<unsigned char> out(static_cast<size_t>(c.numel()) * dtype_size(c.dtype()));
  if (!out.empty()) std::memcpy(out.data(), c.raw_data(), out.size());
  return out;
}

}  // namespace dlcore::testing
