// Helpers shared by the CPU kernel files: when to fork OpenMP threads, and per-thread scratch
// buffers that grow once and are reused, so a training step does no malloc in steady state.
// Internal to cpp/src/kernels/cpu; not part of the public kernel interface.
#pragma once
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <atomic>
#include <new>

namespace dlcore::kernels::cpu::detail {

// Forking a team costs a few microseconds; below this many simple element operations a single
// thread finishes first.
constexpr int64_t kParallelGrain = 32768;

// The grain (items per thread, at least 1) for items that each cost `work_per_item` element
// operations; 0-cost items (an empty dimension) count as 1, so no caller divides by zero.
inline int64_t grain_for(int64_t work_per_item) {
  return kParallelGrain / (work_per_item > 0 ? work_per_item : 1) + 1;
}

// The process-wide thread count (set_num_threads; 0 until set: OpenMP's default).
inline std::atomic<int>& thread_count_setting() {
  static std::atomic<int> count{0};
  return count;
}
inline int max_threads() {
  const int n = thread_count_setting().load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
}

// Threads worth using for `work` units of `grain` each (1 inside an existing parallel region).
inline int threads_for(int64_t work, int64_t grain = kParallelGrain) {
  if (omp_in_parallel()) return 1;
  const int64_t max_threads = detail::max_threads();
  const int64_t useful = work / (grain > 0 ? grain : 1);
  if (useful <= 1) return 1;
  return static_cast<int>(useful < max_threads ? useful : max_threads);
}

// Runs fn(begin, end) over [0, n) split into one contiguous range per thread; a single call on
// the caller's thread when n is below two grains.
template <class Fn>
void parallel_for(int64_t n, int64_t grain, Fn&& fn) {
  const int threads = threads_for(n, grain);
  if (threads <= 1) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num();
    const int64_t nt = omp_get_num_threads();
    const int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    if (end > begin) fn(begin, end);
  }
}

// A grow-only, 64-byte aligned float buffer owned by one thread.
class ScratchBuffer {
 public:
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer() { std::free(data_); }

  float* get(size_t count) {
    if (count > capacity_) {
      std::free(data_);
      const size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (data_ == nullptr) throw std::bad_alloc();
      capacity_ = bytes / sizeof(float);
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

// Named slots so callers on the same thread never hand out the same buffer twice.
enum class ScratchSlot : int {
  GemmPackA,
  GemmPackB,
  ConvColumns,   // im2col matrix or wide output of one image
  ConvPadded,    // one image's zero-padded input planes
  ConvGradWide,  // one image's output gradient spread to the padded width
  ConvPartial,   // a thread's share of the weight gradient
  ConvWeights,   // flipped weights for the input gradient
  WinogradWeights,   // transformed weights U, or the weight gradient dU being summed
  WinogradPadded,    // the input with its zero padding made explicit
  WinogradTiles,     // a chunk's transformed input tiles V
  WinogradProducts,  // a chunk's GEMM products M, or transformed output-gradient tiles W
  Count
};

inline float* thread_scratch(ScratchSlot slot, size_t count) {
  thread_local ScratchBuffer buffers[static_cast<int>(ScratchSlot::Count)];
  return buffers[static_cast<int>(slot)].get(count);
}

}  // namespace dlcore::kernels::cpu::detail
