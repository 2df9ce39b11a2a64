// CPU kernels of advanced indexing: a gather and a scatter through int64 element offsets over the
// iteration space the op layer builds (IndexIter, kernels.h), and nonzero. The gather splits its
// elements across threads. The scatter splits only along a dimension with a nonzero data stride,
// which by the kernels' contract never addresses one element twice, so repeated positions combine
// without atomics and "some write wins" never becomes a data race; a scatter with no such
// dimension (take's gradient) runs on one thread. Math shared with CUDA: kernels/index_functors.h.
#include <algorithm>
#include <vector>

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
void scatter_serial(T* data, const int64_t* offsets, const T* values, const IndexIter& it) {
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

template <ScatterMode Mode, class T>
void scatter_typed(T* data, const int64_t* offsets, const T* values, const IndexIter& it) {
  // The outermost dimension that moves through the data itself: threads take slices of it.
  int split = -1;
  for (int d = 0; d < it.ndim && split < 0; ++d)
    if (it.data_strides[d] != 0 && it.sizes[d] > 1) split = d;
  const int64_t n = it.numel();
  if (split < 0 || detail::threads_for(n) <= 1) return scatter_serial<Mode>(data, offsets, values, it);
  const int64_t size = it.sizes[split];
  detail::parallel_for(size, std::max<int64_t>(1, detail::kParallelGrain * size / n), [&](int64_t begin, int64_t end) {
    IndexIter part = it;
    part.sizes[split] = end - begin;
    scatter_serial<Mode>(data + begin * it.data_strides[split], offsets + begin * it.offset_strides[split],
                         values + begin * it.other_strides[split], part);
  });
}

// Counts and writes the nonzero coordinates of elements [begin, end), a run of the innermost
// dimension at a time (out == nullptr: count only). Writes go through a small block written
// without branches (every element's coordinates land in the next free row, which only a nonzero
// keeps): a data-dependent branch per element would mispredict at every other mask bit.
template <class T>
int64_t nonzero_range(const T* p, const NonzeroShape& s, int64_t begin, int64_t end, int64_t* out) {
  constexpr int64_t kBlock = 256;
  const int inner = s.ndim - 1;
  const int64_t row = s.sizes[inner];
  int64_t count = 0;
  int64_t coord[kMaxDims] = {};
  int64_t block[(kBlock + 1) * kMaxDims];
  for (int64_t start = begin; start < end;) {
    int64_t rest = start;
    for (int d = inner; d >= 0; --d) {
      coord[d] = rest % s.sizes[d];
      rest /= s.sizes[d];
    }
    const int64_t length = std::min(row - coord[inner], end - start);
    const T* run = p + start;
    if (out == nullptr) {
      for (int64_t j = 0; j < length; ++j) count += functors::is_nonzero(run[j]) ? 1 : 0;
    } else {
      for (int64_t b = 0; b < length; b += kBlock) {
        const int64_t stop = std::min(length, b + kBlock);
        int64_t kept = 0;
        for (int64_t j = b; j < stop; ++j) {
          int64_t* slot = block + kept * s.ndim;
          for (int d = 0; d < inner; ++d) slot[d] = coord[d];
          slot[inner] = coord[inner] + j;
          kept += functors::is_nonzero(run[j]) ? 1 : 0;
        }
        std::copy(block, block + kept * s.ndim, out);
        out += kept * s.ndim;
        count += kept;
      }
    }
    start += length;
  }
  return count;
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

void nonzero_count(DType dtype, const void* x, int64_t* count, const NonzeroShape& s) {
  const int64_t n = s.numel();
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = static_cast<const T*>(x);
    const int chunks = detail::threads_for(n);
    std::vector<int64_t> counts(chunks, 0);
    detail::parallel_for(chunks, 1, [&](int64_t first, int64_t last) {
      for (int64_t c = first; c < last; ++c)
        for (int64_t i = n * c / chunks; i < n * (c + 1) / chunks; ++i) counts[c] += functors::is_nonzero(p[i]) ? 1 : 0;
    });
    *count = 0;
    for (int64_t c : counts) *count += c;
  });
}

void nonzero(DType dtype, const void* x, int64_t* out, const NonzeroShape& s) {
  const int64_t n = s.numel();
  if (n == 0 || s.ndim == 0) return;
  visit_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* p = static_cast<const T*>(x);
    // Each thread counts its share, then writes it after the shares before it: the output keeps
    // row-major order whatever the thread count.
    const int chunks = detail::threads_for(n);
    if (chunks <= 1) {
      nonzero_range(p, s, 0, n, out);
      return;
    }
    std::vector<int64_t> starts(chunks + 1, 0);
    auto bounds = [&](int64_t c) { return n * c / chunks; };
    detail::parallel_for(chunks, 1, [&](int64_t first, int64_t last) {
      for (int64_t c = first; c < last; ++c) starts[c + 1] = nonzero_range<T>(p, s, bounds(c), bounds(c + 1), nullptr);
    });
    for (int c = 0; c < chunks; ++c) starts[c + 1] += starts[c];
    detail::parallel_for(chunks, 1, [&](int64_t first, int64_t last) {
      for (int64_t c = first; c < last; ++c) nonzero_range(p, s, bounds(c), bounds(c + 1), out + starts[c] * s.ndim);
    });
  });
}

}  // namespace dlcore::kernels::cpu
