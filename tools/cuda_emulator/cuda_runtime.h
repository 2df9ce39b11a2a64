// A CPU emulation of the part of the CUDA runtime and device language that dlcore's cuda/ sources use,
// so the CUDA backend's tests (tests_cpp/test_cuda_*, and the device=cuda Python tests) run on
// machines without a GPU: `cmake -DDLCORE_CUDA=EMULATED` translates cuda/*.cu with
// translate_launches.py and compiles them as C++20 with this header force-included.
//
// Model: a launch runs its blocks one after another; each block runs as blockDim OS threads from a
// pool, __syncthreads is a std::barrier and warp shuffles exchange through a per-warp barrier, so
// shared-memory tiling, reductions and missing barriers behave as on a GPU (a race shows up as a
// wrong result or a hang). cudaMalloc poisons memory with 0xFF so reads of unwritten memory give
// NaNs. DLCORE_EMULATED_SMS sets the reported multiprocessor count (default 132, an H100), which
// grid-stride kernels and split-K size their grids by. Graph capture records launches, copies and
// memsets and replays them. Not modelled: concurrency between blocks, the memory model, fast-math
// rounding, and anything cuda/ does not use (a new intrinsic must be added here).
#pragma once
#include <algorithm>
#include <atomic>
#include <barrier>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
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
  std::unique_ptr<std::barrier<>> barrier;
  alignas(8) unsigned char slots[32][8];
};
struct ThreadState {
  dim3 thread_idx, block_idx, block_dim, grid_dim;
  std::barrier<>* block_barrier = nullptr;
  Warp* warp = nullptr;
};
ThreadState& tls();
void run_grid(dim3 grid, dim3 block, const std::function<void()>& body);
void set_last_error(int e);
}  // namespace emu

#define threadIdx (::emu::tls().thread_idx)
#define blockIdx (::emu::tls().block_idx)
#define blockDim (::emu::tls().block_dim)
#define gridDim (::emu::tls().grid_dim)

inline void __syncthreads() { emu::tls().block_barrier->arrive_and_wait(); }

template <class T>
T __shfl_xor_sync(unsigned, T value, int offset) {
  static_assert(sizeof(T) <= 8);
  emu::Warp& w = *emu::tls().warp;
  const int lane = threadIdx.x % 32;
  std::memcpy(w.slots[lane], &value, sizeof(T));
  w.barrier->arrive_and_wait();
  T out;
  std::memcpy(&out, w.slots[lane ^ offset], sizeof(T));
  w.barrier->arrive_and_wait();
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
  cudaErrorNoKernelImageForDevice = 209,
};
enum cudaMemcpyKind { cudaMemcpyHostToDevice = 1, cudaMemcpyDeviceToHost = 2, cudaMemcpyDeviceToDevice = 3 };
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };
struct CUstream_st {};
using cudaStream_t = CUstream_st*;
constexpr unsigned cudaStreamNonBlocking = 1;
constexpr unsigned cudaHostAllocMapped = 2;
struct cudaFuncAttributes { int numRegs; };
struct cudaDeviceProp { char name[256]; int major, minor; };

const char* cudaGetErrorString(cudaError_t e);
const char* cudaGetErrorName(cudaError_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
template <class F> cudaError_t cudaFuncGetAttributes(cudaFuncAttributes* a, F) { a->numRegs = 0; return cudaSuccess; }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaMalloc(void** p, size_t n);
cudaError_t cudaFree(void* p);
cudaError_t cudaHostAlloc(void** p, size_t n, unsigned flags);
cudaError_t cudaHostGetDevicePointer(void** d, void* h, unsigned flags);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind, cudaStream_t);
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
extern CUgraph_st* capture;  // non-null while a stream is being captured
}

namespace emu {

template <class... Params, class... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, Args&&... args) {
  if (block.x * block.y * block.z > 1024 || block.x * block.y * block.z == 0 || grid.y > 65535 ||
      grid.z > 65535 || grid.x == 0) {
    set_last_error(cudaErrorInvalidConfiguration);
    return;
  }
  std::tuple<std::decay_t<Params>...> params(std::forward<Args>(args)...);
  if (capture) {
    capture->ops.push_back([=] { run_grid(grid, block, [&] { std::apply([&](const auto&... p) { kernel(p...); }, params); }); });
    return;
  }
  run_grid(grid, block, [&] { std::apply([&](const auto&... p) { kernel(p...); }, params); });
}
}  // namespace emu
