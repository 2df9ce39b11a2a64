// Whole-tensor reductions and row argmax for the CPU backend (loss means, accuracy counts).
// Sums run in float blocks that vectorise, combined in double so long tensors stay accurate.
#include <algorithm>
#include <cmath>

#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {
namespace {

constexpr int64_t kSumBlock = 4096;

double sum_range(const float* x, int64_t begin, int64_t end) {
  double total = 0.0;
  for (int64_t block = begin; block < end; block += kSumBlock) {
    const int64_t stop = std::min(end, block + kSumBlock);
    float partial = 0.0f;
#pragma omp simd reduction(+ : partial)
    for (int64_t i = block; i < stop; ++i) partial += x[i];
    total += partial;
  }
  return total;
}

}  // namespace

void sum_all(const float* x, float* y, int64_t n) {
  const int threads = detail::threads_for(n, detail::kParallelGrain * 4);
  double total = 0.0;
  if (threads <= 1) {
    total = sum_range(x, 0, n);
  } else {
#pragma omp parallel num_threads(threads) reduction(+ : total)
    {
      const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
      total += sum_range(x, n * t / nt, n * (t + 1) / nt);
    }
  }
  y[0] = static_cast<float>(total);
}

void increment_int64(int64_t* counter, int64_t by) { *counter += by; }

void sum_all_int64(const int64_t* x, int64_t* y, int64_t n) {
  int64_t total = 0;
#pragma omp simd reduction(+ : total)
  for (int64_t i = 0; i < n; ++i) total += x[i];
  y[0] = total;
}

// NaN counts as the maximum and the first one wins, as in torch.argmax.
void argmax_rows(const float* x, int64_t* y, int64_t N, int64_t C) {
  detail::parallel_for(N, detail::kParallelGrain / (C > 0 ? C : 1) + 1,
                       [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const float* row = x + n * C;
      int64_t best = 0;
      for (int64_t c = 1; c < C; ++c) {
        if (std::isnan(row[best])) break;
        if (row[c] > row[best] || std::isnan(row[c])) best = c;
      }
      y[n] = best;
    }
  });
}

}  // namespace dlcore::kernels::cpu
