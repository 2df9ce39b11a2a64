// Reduction layouts shared by the CPU and CUDA reduce kernel tests: strided (transposed) inputs,
// every kind of kept/reduced split, a long reduction and empty ones, turned into ReduceIters the
// way the op layer would (kept dimensions outside, reduced ones inside, in the input's order).
#pragma once
#include <cstdint>
#include <vector>

#include "dlcore/kernels.h"

namespace dlcore::testing {

struct ReduceCase {
  std::vector<int64_t> sizes, strides;  // element strides into a buffer of storage_size() elements
  std::vector<bool> reduced;
  int64_t storage_size() const {
    int64_t last = 0;
    for (size_t d = 0; d < sizes.size(); ++d) last += (sizes[d] - 1) * strides[d];
    for (int64_t s : sizes) if (s == 0) return 0;
    return last + 1;
  }
};

inline std::vector<ReduceCase> reduce_cases() {
  const std::vector<int64_t> transposed = {1, 5, 35};  // [5, 7, 9] read through a permuted buffer
  return {
      {{5, 7, 9}, transposed, {false, false, true}},
      {{5, 7, 9}, transposed, {true, false, false}},
      {{5, 7, 9}, transposed, {false, true, true}},
      {{5, 7, 9}, transposed, {true, true, true}},
      {{5, 7, 9}, transposed, {false, false, false}},
      {{5, 7, 9}, {63, 9, 1}, {true, false, true}},
      {{3, 70000}, {70000, 1}, {false, true}},  // few long outputs: the threaded / block path
      {{6000, 3}, {3, 1}, {false, true}},       // many short outputs
      {{4, 0}, {0, 1}, {false, true}},          // empty reductions
  };
}

inline ReduceIter make_reduce_iter(const ReduceCase& c, const void* x) {
  ReduceIter it;
  for (size_t d = 0; d < c.sizes.size(); ++d) {
    if (c.reduced[d]) {
      it.red_sizes[it.red_ndim] = c.sizes[d];
      it.red_strides[it.red_ndim++] = c.strides[d];
      it.reduced *= c.sizes[d];
    } else {
      it.out_sizes[it.out_ndim] = c.sizes[d];
      it.out_strides[it.out_ndim++] = c.strides[d];
      it.outputs *= c.sizes[d];
    }
  }
  if (it.red_ndim == 0) {
    it.red_sizes[0] = 1;
    it.red_ndim = 1;
  }
  it.input = x;
  return it;
}

}  // namespace dlcore::testing
