// Private to cuda/: what every kernel file needs from the runtime. Errors from CUDA calls and launches
// become std::runtime_error naming the op and CUDA's own message, work goes to the current stream of
// the current device, and kernels can record errors (a bad target, say) in a flag that
// synchronize() reports.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "dlcore/cuda_runtime.h"

namespace dlcore::cuda {

// The most devices dlcore addresses (per-device state lives in fixed arrays of this size).
constexpr int kMaxDevices = 64;

// The current stream of the current device: where every kernel and copy is enqueued. Streams are
// created on first use, after ensure_usable() has confirmed this build can run on the device.
cudaStream_t stream();

// Codes kernels store in the device error flag; runtime.cu maps each to its message.
enum DeviceErrorCode : int {
  kNoDeviceError = 0,
  kCrossEntropyTargetOutOfRange = 1,
};

// Device-visible pointer to the current device's error flag. Kernels only ever set it;
// synchronize() and copy_device_to_host() read and clear it.
int* device_error_flag();
// Reads and clears the current device's flag, raising the recorded error; only meaningful once the
// work that may have set it has been waited for.
void raise_recorded_device_error();

// The caching allocator's private pools, used by Graph: begin_pool() routes allocations and frees
// to a new pool and returns its id; end_pool() routes them back to the shared pool; release_pool()
// hands a pool's blocks back to the shared pool.
int begin_pool();
void end_pool();
void release_pool(int pool);

[[noreturn]] void throw_cuda_error(cudaError_t error, const char* what, const char* file, int line);

// The CUDA kernels index in 32 bits where the CPU kernels take any size, so every launcher checks
// its counts and refuses one past this limit, always the same way: a std::runtime_error (Python
// RuntimeError) naming the op, the count and the limit.
constexpr int64_t kMaxInt32Index = 2147483647;
[[noreturn]] inline void throw_int32_index_limit(const std::string& op_and_count) {
  throw std::runtime_error(op_and_count + " exceeds the CUDA kernels' 32-bit indexing limit (" +
                           std::to_string(kMaxInt32Index) + ")");
}

// Grid for a grid-stride loop over n items: enough blocks to fill the device, never more than
// the work needs.
inline unsigned int grid_stride_blocks(int64_t n, int threads_per_block) {
  const int64_t needed = (n + threads_per_block - 1) / threads_per_block;
  const int64_t cap = static_cast<int64_t>(multiprocessor_count()) * 32;
  return static_cast<unsigned int>(std::max<int64_t>(1, std::min(needed, cap)));
}

// Scratch memory for one op from the caching allocator, returned when the op's host code ends.
// Returning it while the op's kernels are still queued is safe: the block returns to the pool of the
// stream they were enqueued on, and whoever gets it next enqueues behind them on that stream.
class Workspace {
 public:
  explicit Workspace(size_t nbytes) : ptr_(allocate(nbytes)) {}
  ~Workspace() { deallocate(ptr_); }
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  template <typename T>
  T* as() const { return static_cast<T*>(ptr_); }

 private:
  void* ptr_;
};

#ifdef __CUDACC__
// A plain store, not an atomic: the flag lives in mapped host memory, where device atomics are not
// guaranteed, and any recorded code is a correct report when several kernels fail.
__device__ inline void record_device_error(int* flag, int code) {
  *static_cast<volatile int*>(flag) = code;
}

// Grid-stride loops: `for (int64_t i = grid_stride_begin(); i < n; i += grid_stride_step())`.
__device__ inline int64_t grid_stride_begin() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline int64_t grid_stride_step() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }
#endif

}  // namespace dlcore::cuda

// Wraps a CUDA runtime call: a failure throws std::runtime_error with the call's text and the
// CUDA error string.
#define DLCORE_CUDA_CHECK(call)                                                   \
  do {                                                                            \
    const cudaError_t dlcore_cuda_status_ = (call);                               \
    if (dlcore_cuda_status_ != cudaSuccess)                                       \
      ::dlcore::cuda::throw_cuda_error(dlcore_cuda_status_, #call, __FILE__, __LINE__); \
  } while (0)

// Placed right after a kernel launch: reports a bad launch (or an earlier asynchronous failure)
// naming the op that launched.
#define DLCORE_CUDA_CHECK_LAUNCH(op_name)                                         \
  do {                                                                            \
    const cudaError_t dlcore_cuda_status_ = cudaGetLastError();                   \
    if (dlcore_cuda_status_ != cudaSuccess)                                       \
      ::dlcore::cuda::throw_cuda_error(dlcore_cuda_status_, op_name, __FILE__, __LINE__); \
  } while (0)
