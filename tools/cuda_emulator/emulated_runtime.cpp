// The host side of the CUDA emulator (see cuda_runtime.h): the block thread pool, device memory
// bookkeeping, copies, and graph capture/replay.
#include "cuda_runtime.h"
#include <cstdio>
#include <unordered_map>

namespace emu {
CUgraph_st* capture = nullptr;
static std::mutex mem_mutex;
static std::unordered_map<void*, size_t> live;
static int last_error = 0;

ThreadState& tls() {
  thread_local ThreadState state;
  return state;
}
void set_last_error(int e) { last_error = e; }

namespace {
struct Pool {
  std::vector<std::thread> workers;
  std::mutex m;
  std::condition_variable cv, done_cv;
  long generation = 0;
  int active = 0, remaining = 0;
  const std::function<void(int)>* job = nullptr;
  Pool() {
    for (int t = 0; t < 1024; ++t)
      workers.emplace_back([this, t] {
        long seen = 0;
        for (;;) {
          const std::function<void(int)>* j;
          {
            std::unique_lock<std::mutex> lock(m);
            cv.wait(lock, [&] { return generation != seen; });
            seen = generation;
            if (t >= active) continue;
            j = job;
          }
          (*j)(t);
          std::lock_guard<std::mutex> lock(m);
          if (--remaining == 0) done_cv.notify_one();
        }
      });
    for (auto& w : workers) w.detach();
  }
  void run(int threads, const std::function<void(int)>& f) {
    std::unique_lock<std::mutex> lock(m);
    job = &f;
    active = threads;
    remaining = threads;
    ++generation;
    cv.notify_all();
    done_cv.wait(lock, [&] { return remaining == 0; });
  }
};
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}
}  // namespace

void run_grid(dim3 grid, dim3 block, const std::function<void()>& body) {
  const int threads = block.x * block.y * block.z;
  const int warps = (threads + 31) / 32;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        std::barrier<> block_barrier(threads);
        std::vector<Warp> warp_state(warps);
        for (int w = 0; w < warps; ++w)
          warp_state[w].barrier = std::make_unique<std::barrier<>>(std::min(32, threads - 32 * w));
        const std::function<void(int)> f = [&](int t) {
          ThreadState& s = tls();
          s.thread_idx = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
          s.block_idx = dim3(bx, by, bz);
          s.block_dim = block;
          s.grid_dim = grid;
          s.block_barrier = &block_barrier;
          s.warp = &warp_state[t / 32];
          body();
          s.warp->barrier->arrive_and_drop();
          block_barrier.arrive_and_drop();
        };
        pool().run(threads, f);
      }
}
}  // namespace emu

const char* cudaGetErrorString(cudaError_t e) { return e == cudaSuccess ? "no error" : "emulated error"; }
const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    default: return "cudaErrorOther";
  }
}
cudaError_t cudaGetLastError() {
  const int e = emu::last_error;
  emu::last_error = 0;
  return static_cast<cudaError_t>(e);
}
cudaError_t cudaGetDeviceCount(int* count) { *count = 1; return cudaSuccess; }
cudaError_t cudaGetDevice(int* device) { *device = 0; return cudaSuccess; }
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int) {
  std::snprintf(prop->name, sizeof(prop->name), "dlcore CUDA emulator");
  prop->major = 9;
  prop->minor = 0;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr, int) {
  const char* sms = std::getenv("DLCORE_EMULATED_SMS");
  *value = sms ? std::atoi(sms) : 132;
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) { *s = new CUstream_st; return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return emu::capture ? cudaErrorInvalidValue : cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaMalloc(void** p, size_t n) {
  std::lock_guard<std::mutex> lock(emu::mem_mutex);
  *p = std::aligned_alloc(256, (n + 255) / 256 * 256);
  // Poison fresh memory so kernels that read before writing are caught.
  std::memset(*p, 0xFF, n);
  emu::live[*p] = n;
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  std::lock_guard<std::mutex> lock(emu::mem_mutex);
  auto it = emu::live.find(p);
  if (it == emu::live.end()) return cudaErrorInvalidValue;
  emu::live.erase(it);
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaHostAlloc(void** p, size_t n, unsigned) { *p = std::calloc(1, n); return cudaSuccess; }
cudaError_t cudaHostGetDevicePointer(void** d, void* h, unsigned) { *d = h; return cudaSuccess; }
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind kind, cudaStream_t) {
  if (emu::capture) {
    if (kind != cudaMemcpyDeviceToDevice) return cudaErrorInvalidValue;  // host memory: not capturable here
    emu::capture->ops.push_back([=] { std::memmove(dst, src, n); });
    return cudaSuccess;
  }
  std::memmove(dst, src, n);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* dst, int v, size_t n, cudaStream_t) {
  if (emu::capture) {
    emu::capture->ops.push_back([=] { std::memset(dst, v, n); });
    return cudaSuccess;
  }
  std::memset(dst, v, n);
  return cudaSuccess;
}
cudaError_t cudaStreamBeginCapture(cudaStream_t, cudaStreamCaptureMode) {
  if (emu::capture) return cudaErrorInvalidValue;
  emu::capture = new CUgraph_st;
  return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t, cudaGraph_t* g) {
  if (!emu::capture) return cudaErrorInvalidValue;
  *g = emu::capture;
  emu::capture = nullptr;
  return cudaSuccess;
}
cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t* e, cudaGraph_t g, unsigned long long) {
  *e = new CUgraphExec_st{g->ops};
  return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t) {
  if (emu::capture) return cudaErrorInvalidValue;
  for (auto& op : e->ops) op();
  return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e) { delete e; return cudaSuccess; }
cudaError_t cudaGraphDestroy(cudaGraph_t g) { delete g; return cudaSuccess; }
