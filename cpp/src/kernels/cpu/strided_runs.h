// The one walk of a strided iteration space shared by the CPU kernel files: a linear range of
// elements visited as runs along the innermost dimension, with every operand's offset at the run's
// start, so kernels write tight (usually unit-stride) inner loops. Internal to cpp/src/kernels/cpu.
#pragma once
#include <algorithm>
#include <cstdint>

#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu::detail {

// Visits [begin, end) of the space sizes[0..ndim) for `count` operands with element strides
// strides[k][d]: run(offsets, linear_start, length), offsets[k] operand k's element offset.
template <class Run>
void for_each_run(int ndim, const int64_t* sizes, int count, const int64_t* const* strides, int64_t begin,
                  int64_t end, Run&& run) {
  if (begin >= end) return;
  int64_t coord[kMaxDims];
  int64_t rest = begin;
  for (int d = ndim - 1; d >= 0; --d) {
    coord[d] = rest % sizes[d];
    rest /= sizes[d];
  }
  const int inner = ndim - 1;
  int64_t offsets[kMaxOperands];
  for (int64_t linear = begin; linear < end;) {
    for (int k = 0; k < count; ++k) {
      offsets[k] = 0;
      for (int d = 0; d < ndim; ++d) offsets[k] += coord[d] * strides[k][d];
    }
    const int64_t length = std::min(sizes[inner] - coord[inner], end - linear);
    run(static_cast<const int64_t*>(offsets), linear, length);
    linear += length;
    coord[inner] += length;
    for (int d = inner; d > 0 && coord[d] == sizes[d]; --d) {
      coord[d] = 0;
      ++coord[d - 1];
    }
  }
}

}  // namespace dlcore::kernels::cpu::detail
