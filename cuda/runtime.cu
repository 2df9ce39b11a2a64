// dlcore's CUDA runtime: device discovery, the architecture check, the one stream all work runs on,
// copies, and the device error flag that lets kernels report bad inputs (a target out of range)
// without a host round trip; the next wait turns the flag into an exception.
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include "cuda_check.h"
#include "dlcore/cuda_runtime.h"

#ifndef DLCORE_CUDA_ARCHITECTURES
#define DLCORE_CUDA_ARCHITECTURES "unknown (DLCORE_CUDA_ARCHITECTURES not set by the build)"
#endif

namespace dlcore::cuda {
namespace {

// An empty kernel whose attributes can only be read when this binary holds code the device runs.
__global__ void architecture_probe_kernel() {}

const char* device_error_message(int code) {
  switch (code) {
    case kCrossEntropyTargetOutOfRange:
      return "cross_entropy: target out of range [0, C)";
    default:
      return "a dlcore CUDA kernel reported an unknown error";
  }
}

// The runtime's state lives on the heap and is never destroyed, so tensors released during static
// destruction (after main returns) never touch a dead object.
struct RuntimeState {
  std::once_flag usable_once;
  std::once_flag stream_once;
  std::once_flag flag_once;
  std::once_flag sm_once;
  cudaStream_t stream = nullptr;
  int* error_flag_host = nullptr;    // mapped pinned memory: the host reads it after a wait
  int* error_flag_device = nullptr;  // the same int as kernels see it
  int multiprocessors = 0;
};

RuntimeState& state() {
  static RuntimeState* runtime_state = new RuntimeState();
  return *runtime_state;
}

// Reads and clears the flag; only meaningful once the stream has been waited on.
void raise_recorded_device_error() {
  RuntimeState& s = state();
  if (s.error_flag_host == nullptr) return;
  volatile int* flag = s.error_flag_host;
  const int code = *flag;
  if (code != kNoDeviceError) {
    *flag = kNoDeviceError;
    throw std::runtime_error(device_error_message(code));
  }
}

}  // namespace

void throw_cuda_error(cudaError_t error, const char* what, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(error) +
                           " (" + cudaGetErrorName(error) + ", " + (base ? base + 1 : file) + ":" +
                           std::to_string(line) + ")");
}

bool is_available() { return device_count() > 0; }

int device_count() {
  int count = 0;
  // No driver, no device or a driver too old for this runtime all mean "not available".
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
}

void ensure_usable() {
  std::call_once(state().usable_once, [] {
    if (!is_available())
      throw std::runtime_error("CUDA is not available: no CUDA driver or no CUDA device found");
    cudaFuncAttributes attributes;
    const cudaError_t probe = cudaFuncGetAttributes(&attributes, architecture_probe_kernel);
    if (probe == cudaSuccess) return;
    (void)cudaGetLastError();
    int device = 0;
    cudaDeviceProp properties;
    std::string gpu = "the current GPU";
    if (cudaGetDevice(&device) == cudaSuccess &&
        cudaGetDeviceProperties(&properties, device) == cudaSuccess) {
      gpu = std::string("GPU '") + properties.name + "' (compute capability " +
            std::to_string(properties.major) + "." + std::to_string(properties.minor) + ")";
    }
    throw std::runtime_error(
        "dlcore's CUDA kernels cannot run on " + gpu + ": this build was compiled for CUDA "
        "architectures " DLCORE_CUDA_ARCHITECTURES " (" + cudaGetErrorString(probe) +
        "). Rebuild with -DCMAKE_CUDA_ARCHITECTURES set to include this GPU's compute capability.");
  });
}

cudaStream_t stream() {
  RuntimeState& s = state();
  std::call_once(s.stream_once, [&s] {
    ensure_usable();
    DLCORE_CUDA_CHECK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking));
  });
  return s.stream;
}

int multiprocessor_count() {
  RuntimeState& s = state();
  std::call_once(s.sm_once, [&s] {
    int device = 0;
    DLCORE_CUDA_CHECK(cudaGetDevice(&device));
    DLCORE_CUDA_CHECK(
        cudaDeviceGetAttribute(&s.multiprocessors, cudaDevAttrMultiProcessorCount, device));
  });
  return s.multiprocessors;
}

int* device_error_flag() {
  RuntimeState& s = state();
  std::call_once(s.flag_once, [&s] {
    ensure_usable();
    // Mapped pinned memory: kernels write it rarely (only on an error) and the host can read it
    // after any wait without an extra copy, so checking it costs nothing on the common path.
    void* host = nullptr;
    DLCORE_CUDA_CHECK(cudaHostAlloc(&host, sizeof(int), cudaHostAllocMapped));
    s.error_flag_host = static_cast<int*>(host);
    *s.error_flag_host = kNoDeviceError;
    void* device = nullptr;
    DLCORE_CUDA_CHECK(cudaHostGetDevicePointer(&device, host, 0));
    s.error_flag_device = static_cast<int*>(device);
  });
  return s.error_flag_device;
}

void copy_host_to_device(void* dst, const void* src, size_t nbytes) {
  if (nbytes == 0) return;
  check_not_capturing("copying host data to the GPU");
  // From pageable memory the call returns once the source has been staged, so the caller may
  // free or reuse src immediately.
  DLCORE_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, stream()));
}

void copy_device_to_host(void* dst, const void* src, size_t nbytes) {
  if (nbytes == 0) return;
  check_not_capturing("reading GPU data on the host (item, numpy, cpu)");
  DLCORE_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToHost, stream()));
  DLCORE_CUDA_CHECK(cudaStreamSynchronize(stream()));
  raise_recorded_device_error();
}

void copy_device_to_device(void* dst, const void* src, size_t nbytes) {
  if (nbytes == 0) return;
  DLCORE_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, stream()));
}

void memset_zero(void* dst, size_t nbytes) {
  if (nbytes == 0) return;
  DLCORE_CUDA_CHECK(cudaMemsetAsync(dst, 0, nbytes, stream()));
}

void synchronize() {
  check_not_capturing("synchronize");
  DLCORE_CUDA_CHECK(cudaStreamSynchronize(stream()));
  raise_recorded_device_error();
}

}  // namespace dlcore::cuda
