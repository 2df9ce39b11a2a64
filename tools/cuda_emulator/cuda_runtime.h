// A CPU emulation of the part of the CUDA runtime and device language that dlcore's cuda/ sources use,
// so the CUDA backend's tests (tests_cpp/test_cuda_*, and the device=cuda Python tests) run on
// machines without a GPU: `cmake -DDLCORE_CUDA=EMULATED` translates cuda/*.cu with
// translate_launches.py and compiles them as C++20 with this header force-included.
//
// Model: a launch runs its blocks one after another on the launching host thread (launches from
// several host threads take turns); each block runs as blockDim fibers that switch only where a GPU
// thread would wait, at __syncthreads and at the exchange points of warp shuffles, so shared-memory
// tiling and reductions behave as on a GPU. Blocks alternate the order their threads run in
// (ascending, then descending), so a read of shared memory that lacks its barrier sees unwritten
// data in one of the two orders; threads waiting at different barriers (a divergent __syncthreads)
// abort the process with a message naming the block, where a GPU would hang. cudaMalloc poisons memory with 0xFF so reads of unwritten memory give
// NaNs. DLCORE_EMULATED_SMS sets the reported multiprocessor count (default 132, an H100), which
// grid-stride kernels and split-K size their grids by. Graph capture records launches, copies and
// memsets queued on the captured stream and replays them.
//
// Devices: DLCORE_EMULATED_DEVICES (default 2) devices share host memory, but each allocation
// remembers its device and the emulator enforces CUDA's rules where a real GPU would fail: a kernel
// must launch on a stream of the current device, and a raw pointer argument that points into
// another device's allocation fails the launch with cudaErrorIllegalAddress (as on GPUs without peer
// access); device-to-device copies and memsets must stay on one device (cudaMemcpyPeerAsync crosses);
// an event records only on a stream of its own device. Pointers inside struct arguments are not
// checked. Streams and events are synchronous: work runs when queued, so an event completes when
// recorded and elapsed_time measures host time between records. Not modelled: concurrency between
// blocks or streams, the memory model, fast-math rounding, and anything cuda/ does not use (a new
// intrinsic or runtime call must be added here).
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <chrono>
#include <tuple>
#include <type_traits>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }

using std::isnan;
template <class T> inline T min(T a, T b) { return b < a ? b : a; }
template <class T> inline T max(T a, T b) { return a < b ? b : a; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }

namespace emu {
struct Warp {
  alignas(8) unsigned char slots[32][8];  // one value per lane, exchanged at a shuffle
};
struct ThreadState {
  dim3 thread_idx, block_idx, block_dim, grid_dim;
  int lane = 0;  // linear thread index % 32
  Warp* warp = nullptr;
};
ThreadState& tls();
void sync_block();  // __syncthreads: waits until every live thread of the block has arrived
void sync_warp();   // a shuffle's exchange point: waits for the live threads of this thread's warp
void run_grid(dim3 grid, dim3 block, const std::function<void()>& body);
void set_last_error(int e);
}  // namespace emu

#define threadIdx (::emu::tls().thread_idx)
#define blockIdx (::emu::tls().block_idx)
#define blockDim (::emu::tls().block_dim)
#define gridDim (::emu::tls().grid_dim)

inline void __syncthreads() { emu::sync_block(); }

template <class T>
T __shfl_xor_sync(unsigned, T value, int offset) {
  static_assert(sizeof(T) <= 8);
  emu::Warp& w = *emu::tls().warp;
  const int lane = emu::tls().lane;
  std::memcpy(w.slots[lane], &value, sizeof(T));
  emu::sync_warp();
  T out;
  std::memcpy(&out, w.slots[lane ^ offset], sizeof(T));
  emu::sync_warp();
  return out;
}

inline int atomicCAS(int* address, int compare, int value) {
  std::atomic_ref<int> ref(*address);
  ref.compare_exchange_strong(compare, value);
  return compare;
}
inline unsigned long long atomicCAS(unsigned long long* address, unsigned long long compare, unsigned long long value) {
  std::atomic_ref<unsigned long long> ref(*address);
  ref.compare_exchange_strong(compare, value);
  return compare;
}
// atomicAdd returns the old value, as CUDA's does (the scatter kernels' accumulate mode).
template <class T>
inline T atomicAdd(T* address, T value) {
  static_assert(std::is_same_v<T, int> || std::is_same_v<T, unsigned long long> || std::is_same_v<T, float> ||
                std::is_same_v<T, double>, "CUDA's atomicAdd overloads only");
  return std::atomic_ref<T>(*address).fetch_add(value);
}

// ---- runtime API -------------------------------------------------------------------------
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorNoKernelImageForDevice = 209,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorStreamCaptureUnsupported = 900,
};
enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };
struct CUgraph_st;
struct CUstream_st {
  int device = 0;
  CUgraph_st* capture = nullptr;  // non-null while the stream is being captured
};
using cudaStream_t = CUstream_st*;
struct CUevent_st {
  int device = 0;
  unsigned flags = 0;
  bool recorded = false;
  std::chrono::steady_clock::time_point time;
};
using cudaEvent_t = CUevent_st*;
constexpr unsigned cudaStreamNonBlocking = 1;
constexpr unsigned cudaEventDefault = 0;
constexpr unsigned cudaEventBlockingSync = 1;
constexpr unsigned cudaEventDisableTiming = 2;
constexpr unsigned cudaHostAllocMapped = 2;
struct cudaFuncAttributes { int numRegs; };
struct cudaDeviceProp { char name[256]; int major, minor; };

const char* cudaGetErrorString(cudaError_t e);
const char* cudaGetErrorName(cudaError_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
template <class F> cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* a, F) { a->numRegs = 0; return cudaSuccess; }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamQuery(cudaStream_t s);
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t cudaEventQuery(cudaEvent_t e);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaMalloc(void** p, size_t n);
cudaError_t cudaFree(void* p);
cudaError_t cudaHostAlloc(void** p, size_t n, unsigned flags);
cudaError_t cudaHostGetDevicePointer(void** d, void* h, unsigned flags);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind, cudaStream_t);
cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device, size_t n, cudaStream_t);
cudaError_t cudaMemsetAsync(void* dst, int v, size_t n, cudaStream_t);
// ---- graphs: while capturing, launches/copies/memsets are recorded, replayed by cudaGraphLaunch ----
enum cudaStreamCaptureMode { cudaStreamCaptureModeGlobal = 0, cudaStreamCaptureModeThreadLocal = 1, cudaStreamCaptureModeRelaxed = 2 };
struct CUgraph_st { std::vector<std::function<void()>> ops; };
struct CUgraphExec_st { std::vector<std::function<void()>> ops; };
using cudaGraph_t = CUgraph_st*;
using cudaGraphExec_t = CUgraphExec_st*;
cudaError_t cudaStreamBeginCapture(cudaStream_t, cudaStreamCaptureMode);
cudaError_t cudaStreamEndCapture(cudaStream_t, cudaGraph_t*);
cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t*, cudaGraph_t, unsigned long long);
cudaError_t cudaGraphLaunch(cudaGraphExec_t, cudaStream_t);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t);
cudaError_t cudaGraphDestroy(cudaGraph_t);

namespace emu {
int current_device();
// The device of the allocation `p` points into, or -1 when it is not device memory (host memory,
// null, a pointer past every allocation).
int device_of(const void* p);

template <class T>
bool on_other_device(const T& value, int device) {
  if constexpr (std::is_pointer_v<T>) {
    const int owner = device_of(static_cast<const void*>(value));
    return owner >= 0 && owner != device;
  } else {
    return false;
  }
}

template <class... Params, class... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, cudaStream_t stream, Args&&... args) {
  if (block.x * block.y * block.z > 1024 || block.x * block.y * block.z == 0 || grid.y > 65535 ||
      grid.z > 65535 || grid.x == 0) {
    set_last_error(cudaErrorInvalidConfiguration);
    return;
  }
  const int device = current_device();
  if (stream != nullptr && stream->device != device) {  // a stream of another device
    set_last_error(cudaErrorInvalidResourceHandle);
    return;
  }
  std::tuple<std::decay_t<Params>...> params(std::forward<Args>(args)...);
  const bool foreign = std::apply([&](const auto&... p) { return (on_other_device(p, device) || ...); }, params);
  if (foreign) {
    set_last_error(cudaErrorIllegalAddress);
    return;
  }
  if (stream != nullptr && stream->capture != nullptr) {
    stream->capture->ops.push_back([=] { run_grid(grid, block, [&] { std::apply([&](const auto&... p) { kernel(p...); }, params); }); });
    return;
  }
  run_grid(grid, block, [&] { std::apply([&](const auto&... p) { kernel(p...); }, params); });
}
}  // namespace emu
