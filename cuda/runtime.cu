// dlcore's CUDA runtime: device discovery, the architecture check, copies, and the per-device error
// flag that lets kernels report bad inputs (a target out of range) without a host round trip; the
// next wait turns the flag into an exception.
#include <algorithm>
#include <array>
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

// Per-device state lives on the heap and is never destroyed, so tensors released during static
// destruction (after main returns) never touch a dead object.
struct DeviceState {
  std::once_flag usable_once;
  std::once_flag flag_once;
  std::once_flag sm_once;
  int* error_flag_host = nullptr;    // mapped pinned memory: the host reads it after a wait
  int* error_flag_device = nullptr;  // the same int as kernels see it
  int multiprocessors = 0;
};

DeviceState& state() {
  static auto* devices = new std::array<DeviceState, kMaxDevices>();
  return (*devices)[current_device()];
}

}  // namespace

void raise_recorded_device_error() {
  DeviceState& s = state();
  if (s.error_flag_host == nullptr) return;
  volatile int* flag = s.error_flag_host;
  const int code = *flag;
  if (code != kNoDeviceError) {
    *flag = kNoDeviceError;
    throw std::runtime_error(device_error_message(code));
  }
}

void throw_cuda_error(cudaError_t error, const char* what, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(error) +
                           " (" + cudaGetErrorName(error) + ", " + (base ? base + 1 : file) + ":" +
                           std::to_string(line) + ")");
}

bool is_available() { return device_count() > 0; }

int device_count() {
  // Asked on every device switch; the count cannot change within a process, so it is read once.
  static const int count = [] {
    int n = 0;
    // No driver, no device or a driver too old for this runtime all mean "not available".
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      (void)cudaGetLastError();
      return 0;
    }
    return std::min(n, kMaxDevices);
  }();
  return count;
}

namespace {
cudaDeviceProp device_properties(int device) {
  device = device < 0 ? current_device() : device;
  if (device >= device_count())
    throw std::runtime_error("CUDA device index " + std::to_string(device) + " is out of range: " +
                             std::to_string(device_count()) + " visible");
  cudaDeviceProp properties;
  DLCORE_CUDA_CHECK(cudaGetDeviceProperties(&properties, device));
  return properties;
}
}  // namespace

std::string device_name(int device) { return device_properties(device).name; }

std::pair<int, int> device_capability(int device) {
  const cudaDeviceProp properties = device_properties(device);
  return {properties.major, properties.minor};
}

void ensure_usable() {
  std::call_once(state().usable_once, [] {
    if (!is_available())
      throw std::runtime_error("CUDA is not available: no CUDA driver or no CUDA device found");
    cudaFuncAttributes attributes;
    const cudaError_t probe = cudaFuncGetAttributes(&attributes, architecture_probe_kernel);
    if (probe == cudaSuccess) return;
    (void)cudaGetLastError();
    cudaDeviceProp properties;
    std::string gpu = "the current GPU";
    if (cudaGetDeviceProperties(&properties, current_device()) == cudaSuccess) {
      gpu = std::string("GPU '") + properties.name + "' (compute capability " +
            std::to_string(properties.major) + "." + std::to_string(properties.minor) + ")";
    }
    throw std::runtime_error(
        "dlcore's CUDA kernels cannot run on " + gpu + ": this build was compiled for CUDA "
        "architectures " DLCORE_CUDA_ARCHITECTURES " (" + cudaGetErrorString(probe) +
        "). Rebuild with -DCMAKE_CUDA_ARCHITECTURES set to include this GPU's compute capability.");
  });
}

int multiprocessor_count() {
  DeviceState& s = state();
  std::call_once(s.sm_once, [&s] {
    DLCORE_CUDA_CHECK(
        cudaDeviceGetAttribute(&s.multiprocessors, cudaDevAttrMultiProcessorCount, current_device()));
  });
  return s.multiprocessors;
}

int* device_error_flag() {
  DeviceState& s = state();
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

void copy_between_devices(void* dst, int dst_device, const void* src, int src_device, size_t nbytes) {
  if (nbytes == 0) return;
  if (dst_device == src_device) {
    DeviceGuard guard(dst_device);
    return copy_device_to_device(dst, src, nbytes);
  }
  // The copy runs on the source's current stream, after the destination's queued work (which may
  // still use the destination block), and the destination's later work waits for it; each block
  // thus stays used only in the order of its own stream.
  const Stream src_stream = current_stream(src_device);
  const Stream dst_stream = current_stream(dst_device);
  stream_wait_stream(src_stream, dst_stream);
  {
    DeviceGuard guard(src_device);
    DLCORE_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_device, src, src_device, nbytes, src_stream.handle));
  }
  stream_wait_stream(dst_stream, src_stream);
}

void memset_zero(void* dst, size_t nbytes) {
  if (nbytes == 0) return;
  DLCORE_CUDA_CHECK(cudaMemsetAsync(dst, 0, nbytes, stream()));
}

void synchronize(int device) {
  check_not_capturing("synchronize");
  DeviceGuard guard(device);
  ensure_usable();
  DLCORE_CUDA_CHECK(cudaDeviceSynchronize());
  raise_recorded_device_error();
}

}  // namespace dlcore::cuda
