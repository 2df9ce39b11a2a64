// The CPU reduce kernel, the reference for the CUDA one: any strided input, every output's reduced
// elements walked in runs along the innermost reduced dimension. Threads split the outputs, or,
// when there are few outputs, each output's reduced range (partials merged in a fixed order).
#include <algorithm>
#include <vector>

#include "../reduce_functors.h"
#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {
namespace {

using detail::kParallelGrain;

int64_t output_offset(const ReduceIter& it, int64_t o) {
  int64_t offset = 0;
  for (int d = it.out_ndim - 1; d >= 0; --d) {
    offset += (o % it.out_sizes[d]) * it.out_strides[d];
    o /= it.out_sizes[d];
  }
  return offset;
}

// The state of reduced elements [begin, end) of the output whose elements start at x.
template <class R, class T>
typename R::State reduce_range(const ReduceIter& it, const T* x, int64_t begin, int64_t end) {
  typename R::State s = R::identity();
  if (begin >= end) return s;
  int64_t coord[kMaxDims];
  int64_t rest = begin;
  for (int d = it.red_ndim - 1; d >= 0; --d) {
    coord[d] = rest % it.red_sizes[d];
    rest /= it.red_sizes[d];
  }
  const int inner = it.red_ndim - 1;
  const int64_t step = it.red_strides[inner];
  for (int64_t r = begin; r < end;) {
    int64_t offset = 0;
    for (int d = 0; d < it.red_ndim; ++d) offset += coord[d] * it.red_strides[d];
    const int64_t length = std::min(it.red_sizes[inner] - coord[inner], end - r);
    const T* run = x + offset;
    for (int64_t i = 0; i < length; ++i) R::step(s, R::load(run[i * step]), r + i);
    r += length;
    coord[inner] += length;
    for (int d = inner; d > 0 && coord[d] == it.red_sizes[d]; --d) {
      coord[d] = 0;
      ++coord[d - 1];
    }
  }
  return s;
}

template <ReduceOp Op, class T>
void reduce_typed(const ReduceIter& it) {
  using R = functors::Reducer<Op, T>;
  using Out = typename R::Out;
  const T* x = static_cast<const T*>(it.input);
  auto write = [&](int64_t o, const typename R::State& s) {
    if (it.values) static_cast<Out*>(it.values)[o] = R::finish(s, it.scale);
    if (it.indices) it.indices[o] = s.index < 0 ? 0 : s.index;
  };
  const int64_t total = it.outputs * std::max<int64_t>(it.reduced, 1);
  const int chunks = detail::threads_for(it.reduced);
  if (chunks <= 1 || it.outputs >= detail::max_threads()) {
    detail::parallel_for(it.outputs, std::max<int64_t>(1, kParallelGrain * it.outputs / total),
                         [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) write(o, reduce_range<R>(it, x + output_offset(it, o), 0, it.reduced));
    });
    return;
  }
  std::vector<typename R::State> partial(chunks);
  for (int64_t o = 0; o < it.outputs; ++o) {
    const T* base = x + output_offset(it, o);
#pragma omp parallel for num_threads(chunks)
    for (int c = 0; c < chunks; ++c)
      partial[c] = reduce_range<R>(it, base, it.reduced * c / chunks, it.reduced * (c + 1) / chunks);
    typename R::State s = partial[0];
    for (int c = 1; c < chunks; ++c) s = R::combine(s, partial[c]);
    write(o, s);
  }
}

}  // namespace

void reduce(ReduceOp op, DType dtype, const ReduceIter& it) {
  if (it.outputs == 0) return;
  functors::visit_reduce_op(op, [&](auto op_tag) {
    visit_dtype(dtype, [&](auto tag) { reduce_typed<decltype(op_tag)::value, typename decltype(tag)::type>(it); });
  });
}

void increment_int64(int64_t* counter, int64_t by) { *counter += by; }

}  // namespace dlcore::kernels::cpu
