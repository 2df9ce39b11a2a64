// The host side of the CUDA emulator (see cuda_runtime.h): the block thread pool, devices, device
// memory bookkeeping, streams and events, copies, and graph capture/replay.
#include "cuda_runtime.h"
#include <cstdio>
#include <map>

namespace emu {
namespace {
struct Allocation {
  size_t size;
  int device;
};
std::mutex mem_mutex;
std::map<const unsigned char*, Allocation> live;  // by start address, for finding the one a pointer is in
thread_local int current = 0;                    // cudaSetDevice is per host thread
}  // namespace
static int last_error = 0;

int device_count() {
  static const int count = [] {
    const char* devices = std::getenv("DLCORE_EMULATED_DEVICES");
    return devices ? std::max(0, std::atoi(devices)) : 2;
  }();
  return count;
}
int current_device() { return current; }

int device_of(const void* p) {
  if (p == nullptr) return -1;
  const auto* byte = static_cast<const unsigned char*>(p);
  std::lock_guard<std::mutex> lock(mem_mutex);
  auto it = live.upper_bound(byte);
  if (it == live.begin()) return -1;
  --it;
  return byte < it->first + std::max<size_t>(it->second.size, 1) ? it->second.device : -1;
}

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

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    default: return "emulated error";
  }
}
const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    default: return "cudaErrorOther";
  }
}
cudaError_t cudaGetLastError() {
  const int e = emu::last_error;
  emu::last_error = 0;
  return static_cast<cudaError_t>(e);
}
cudaError_t cudaGetDeviceCount(int* count) {
  *count = emu::device_count();
  return *count > 0 ? cudaSuccess : cudaErrorNoDevice;
}
cudaError_t cudaGetDevice(int* device) { *device = emu::current; return cudaSuccess; }
cudaError_t cudaSetDevice(int device) {
  if (device < 0 || device >= emu::device_count()) return cudaErrorInvalidDevice;
  emu::current = device;
  return cudaSuccess;
}
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
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = new CUstream_st{emu::current, nullptr};
  return cudaSuccess;
}
// Work runs when it is queued, so a stream is always idle and an event complete once recorded.
cudaError_t cudaStreamSynchronize(cudaStream_t s) { return s && s->capture ? cudaErrorStreamCaptureUnsupported : cudaSuccess; }
cudaError_t cudaStreamQuery(cudaStream_t s) { return s && s->capture ? cudaErrorStreamCaptureUnsupported : cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t e, unsigned) { return e ? cudaSuccess : cudaErrorInvalidResourceHandle; }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags) {
  *e = new CUevent_st{emu::current, flags, false, {}};
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
  const int stream_device = s ? s->device : emu::current;
  if (!e || e->device != stream_device) return cudaErrorInvalidResourceHandle;  // CUDA: same device only
  e->recorded = true;
  e->time = std::chrono::steady_clock::now();
  return cudaSuccess;
}
cudaError_t cudaEventQuery(cudaEvent_t e) { return e ? cudaSuccess : cudaErrorInvalidResourceHandle; }
cudaError_t cudaEventSynchronize(cudaEvent_t e) { return e ? cudaSuccess : cudaErrorInvalidResourceHandle; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!start || !end || !start->recorded || !end->recorded || start->device != end->device ||
      (start->flags & cudaEventDisableTiming) || (end->flags & cudaEventDisableTiming))
    return cudaErrorInvalidResourceHandle;
  *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaMalloc(void** p, size_t n) {
  std::lock_guard<std::mutex> lock(emu::mem_mutex);
  *p = std::aligned_alloc(256, (n + 255) / 256 * 256);
  // Poison fresh memory so kernels that read before writing are caught.
  std::memset(*p, 0xFF, n);
  emu::live[static_cast<const unsigned char*>(*p)] = {n, emu::current};
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  std::lock_guard<std::mutex> lock(emu::mem_mutex);
  auto it = emu::live.find(static_cast<const unsigned char*>(p));
  if (it == emu::live.end()) return cudaErrorInvalidValue;
  if (it->second.device != emu::current) return cudaErrorInvalidDevicePointer;
  emu::live.erase(it);
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaHostAlloc(void** p, size_t n, unsigned) { *p = std::calloc(1, n); return cudaSuccess; }
cudaError_t cudaHostGetDevicePointer(void** d, void* h, unsigned) { *d = h; return cudaSuccess; }
namespace {
// Device memory the call names must belong to `device` (host memory is not checked).
bool device_memory_elsewhere(const void* p, int device) {
  const int owner = emu::device_of(p);
  return owner >= 0 && owner != device;
}
// Runs `op` now, or records it when the stream is being captured.
cudaError_t run_or_record(cudaStream_t s, std::function<void()> op) {
  if (s && s->capture) {
    s->capture->ops.push_back(std::move(op));
    return cudaSuccess;
  }
  op();
  return cudaSuccess;
}
}  // namespace

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t n, cudaMemcpyKind kind, cudaStream_t s) {
  // One device's copy: crossing devices takes cudaMemcpyPeerAsync.
  if (device_memory_elsewhere(dst, emu::current) || device_memory_elsewhere(src, emu::current)) return cudaErrorInvalidValue;
  if (s && s->capture && kind != cudaMemcpyDeviceToDevice) return cudaErrorStreamCaptureUnsupported;  // host memory
  return run_or_record(s, [=] { std::memmove(dst, src, n); });
}
cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device, size_t n, cudaStream_t s) {
  if (emu::device_of(dst) != dst_device || emu::device_of(src) != src_device) return cudaErrorInvalidValue;
  return run_or_record(s, [=] { std::memmove(dst, src, n); });
}
cudaError_t cudaMemsetAsync(void* dst, int v, size_t n, cudaStream_t s) {
  if (device_memory_elsewhere(dst, emu::current)) return cudaErrorInvalidValue;
  return run_or_record(s, [=] { std::memset(dst, v, n); });
}
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode) {
  if (!s || s->capture) return cudaErrorInvalidValue;  // the legacy stream cannot be captured
  s->capture = new CUgraph_st;
  return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t* g) {
  if (!s || !s->capture) return cudaErrorInvalidValue;
  *g = s->capture;
  s->capture = nullptr;
  return cudaSuccess;
}
cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t* e, cudaGraph_t g, unsigned long long) {
  *e = new CUgraphExec_st{g->ops};
  return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s) {
  if (s && s->capture) return cudaErrorInvalidValue;
  for (auto& op : e->ops) op();
  return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e) { delete e; return cudaSuccess; }
cudaError_t cudaGraphDestroy(cudaGraph_t g) { delete g; return cudaSuccess; }
