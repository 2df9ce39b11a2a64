// CPU kernels of advanced indexing: a gather and a scatter through int64 element offsets over the
// iteration space the op layer builds (IndexIter, kernels.h), and nonzero. The gather runs on all
// threads; the scatter runs on one, so that repeated positions accumulate without atomics and
// "some write wins" never becomes a data race. Math shared with CUDA: kernels/index_functors.h.
#include "cpu_parallel.h"
#include "dlcore/kernels.h"
#include "../index_functors.h"
#include "strided_runs.h"

namespace dlcore::kernels::cpu {
namespace {

template <class T>
void gather_typed(const T* data, const int64_t* offsets, T* out, const IndexIter& it) {
  const int64_t* strides[3] = {it.data_strides, it.offset_strides, it.other_strides};
  const int inner = it.ndim - 1;
  const int64_t ds = it.data_strides[inner], os = it.offset_strides[inner], ts = it.other_strides[inner];
  detail::parallel_for(it.numel(), detail::kParallelGrain, [&](int64_t begin, int64_t end) {
    detail::for_each_run(it.ndim, it.sizes, 3, strides, begin, end, [&](const int64_t* off, int64_t, int64_t length) {
      const T* src = data + off[0];
      const int64_t* o = offsets + off[1];
      T* dst = out + off[2];
      if (os == 0) {  // a run along a dimension no index picks: one offset for the whole run (rows of x[idx])
        const T* row = src + o[0];
        for (int64_t j = 0; j < length; ++j) dst[j * ts] = row[j * ds];
      } else {
        for (int64_t j = 0; j < length; ++j) dst[j * ts] = src[j * ds + o[j * os]];
      }
    });
  });
}

template <ScatterMode Mode, class T>
void scatter_typed(T* data, const int64_t* offsets, const T* values, const IndexIter& it) {
  const int64_t* strides[3] = {it.data_strides, it.offset_strides, it.other_strides};
  const int inner = it.ndim - 1;
  const int64_t ds = it.data_strides[inner], os = it.offset_strides[inner], vs = it.other_strides[inner];
  detail::for_each_run(it.ndim, it.sizes, 3, strides, 0, it.numel(), [&](const int64_t* off, int64_t, int64_t length) {
    T* dst = data + off[0];
    const int64_t* o = offsets + off[1];
    const T* src = values + off[2];
    for (int64_t j = 0; j < length; ++j) {
      T& target = dst[j * ds + o[j * os]];
      target = functors::scatter_combine<Mode>(target, src[j * vs]);
    }
  });
}

}  // namespace

void index_gather(DType dtype, const void* data, const int64_t* offsets, void* out, const IndexIter& it) {
  if (it.numel() == 0) return;
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    gather_typed(static_cast<const T*>(data), offsets, static_cast<T*>(out), it);
  });
}

void index_scatter(DType dtype, void* data, const int64_t* offsets, const void* values, const IndexIter& it,
                   ScatterMode mode) {
  if (it.numel() == 0) return;
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* d = static_cast<T*>(data);
    const T* v = static_cast<const T*>(values);
    switch (mode) {
      case ScatterMode::Assign: return scatter_typed<ScatterMode::Assign>(d, offsets, v, it);
      case ScatterMode::Add: return scatter_typed<ScatterMode::Add>(d, offsets, v, it);
      case ScatterMode::Multiply: return scatter_typed<ScatterMode::Multiply>(d, offsets, v, it);
    }
  });
}

void nonzero(DType dtype, const void* x, int64_t* out, const NonzeroShape& s) {
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = static_cast<const T*>(x);
    const int64_t n = s.numel();
    int64_t coord[kMaxDims] = {};
    for (int64_t i = 0; i < n; ++i) {
      if (functors::is_nonzero(p[i])) {
        for (int d = 0; d < s.ndim; ++d) *out++ = coord[d];
      }
      for (int d = s.ndim - 1; d >= 0; --d) {  // the next row-major coordinate
        if (++coord[d] < s.sizes[d]) break;
        coord[d] = 0;
      }
    }
  });
}

}  // namespace dlcore::kernels::cpu
