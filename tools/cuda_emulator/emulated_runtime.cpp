// The host side of the CUDA emulator (see cuda_runtime.h): blocks run as fibers, devices, device
// memory bookkeeping, streams and events, copies, and graph capture/replay.
#include "cuda_runtime.h"
#include <sys/mman.h>
#include <ucontext.h>

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

namespace {
// ---- blocks as fibers ---------------------------------------------------------------------------
// A block's threads are ucontext fibers on the launching host thread: each runs until it finishes or
// waits at a barrier, then the scheduler runs the next; once every live thread waits, the barrier
// they wait at opens. No OS threads, no locks, and the same interleaving every run.
constexpr int kMaxBlockThreads = 1024;
constexpr size_t kFiberStackBytes = 256 * 1024;  // kernels keep register tiles and loop state here
constexpr size_t kGuardBytes = 4096;             // below each stack: an overflow faults, not corrupts

enum class Wait : unsigned char { None, Block, Warp, Done };

struct Fiber {
  ucontext_t context;
  void* mapping = nullptr;  // guard page + stack, mapped on first use and kept for later blocks
  ThreadState state;
  Wait wait = Wait::None;
};

struct BlockRunner {
  Fiber fibers[kMaxBlockThreads];
  Warp warps[kMaxBlockThreads / 32];
  ucontext_t scheduler;
  int running = -1;
  const std::function<void()>* body = nullptr;
  ~BlockRunner() {
    for (Fiber& f : fibers)
      if (f.mapping) munmap(f.mapping, kGuardBytes + kFiberStackBytes);
  }
};

thread_local ThreadState host_state;  // what threadIdx & co. read outside kernels
thread_local ThreadState* current_state = &host_state;
thread_local std::unique_ptr<BlockRunner> runner;
std::mutex launch_mutex;  // __shared__ arrays are statics: one grid runs at a time

[[noreturn]] void fatal(const char* what, const dim3& block) {
  std::fprintf(stderr, "CUDA emulator: %s in block (%u, %u, %u)\n", what, block.x, block.y, block.z);
  std::abort();
}

void fiber_main() {
  BlockRunner& r = *runner;
  (*r.body)();
  r.fibers[r.running].wait = Wait::Done;  // returning resumes the scheduler (uc_link)
}

void wait_at(Wait barrier) {
  BlockRunner& r = *runner;
  Fiber& f = r.fibers[r.running];
  f.wait = barrier;
  swapcontext(&f.context, &r.scheduler);
}

void prepare_fiber(BlockRunner& r, int t, const dim3& block, const dim3& block_idx, const dim3& grid) {
  Fiber& f = r.fibers[t];
  if (!f.mapping) {
    f.mapping = mmap(nullptr, kGuardBytes + kFiberStackBytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (f.mapping == MAP_FAILED) {
      f.mapping = nullptr;
      fatal("cannot map a thread's stack", block_idx);
    }
    mprotect(f.mapping, kGuardBytes, PROT_NONE);
  }
  f.state.thread_idx = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
  f.state.block_idx = block_idx;
  f.state.block_dim = block;
  f.state.grid_dim = grid;
  f.state.lane = t % 32;
  f.state.warp = &r.warps[t / 32];
  f.wait = Wait::None;
  getcontext(&f.context);
  f.context.uc_stack.ss_sp = static_cast<char*>(f.mapping) + kGuardBytes;
  f.context.uc_stack.ss_size = kFiberStackBytes;
  f.context.uc_link = &r.scheduler;
  makecontext(&f.context, fiber_main, 0);
}

// Opens the barriers that every live thread they concern has reached: a warp's exchange point
// once its live lanes wait there, __syncthreads once the whole block does.
bool open_barriers(BlockRunner& r, int threads) {
  bool opened = false;
  bool all_at_block = true;
  for (int w = 0; w * 32 < threads; ++w) {
    const int end = std::min(threads, 32 * (w + 1));
    int live = 0, at_warp = 0;
    for (int t = 32 * w; t < end; ++t) {
      live += r.fibers[t].wait != Wait::Done;
      at_warp += r.fibers[t].wait == Wait::Warp;
      all_at_block = all_at_block && (r.fibers[t].wait == Wait::Done || r.fibers[t].wait == Wait::Block);
    }
    if (live > 0 && at_warp == live) {
      for (int t = 32 * w; t < end; ++t) r.fibers[t].wait = Wait::None;
      opened = true;
    }
  }
  if (!opened && all_at_block) {
    for (int t = 0; t < threads; ++t)
      if (r.fibers[t].wait == Wait::Block) r.fibers[t].wait = Wait::None;
    opened = true;
  }
  return opened;
}

void run_block(BlockRunner& r, int threads, const dim3& block, const dim3& block_idx, const dim3& grid,
               bool descending) {
  for (int t = 0; t < threads; ++t) prepare_fiber(r, t, block, block_idx, grid);
  int live = threads;
  while (live > 0) {
    for (int i = 0; i < threads; ++i) {
      const int t = descending ? threads - 1 - i : i;
      Fiber& f = r.fibers[t];
      if (f.wait != Wait::None) continue;
      r.running = t;
      current_state = &f.state;
      swapcontext(&r.scheduler, &f.context);
      live -= f.wait == Wait::Done;
    }
    current_state = &host_state;
    if (live > 0 && !open_barriers(r, threads))
      fatal("threads wait at different barriers (a __syncthreads or shuffle not reached by all)", block_idx);
  }
}
}  // namespace

ThreadState& tls() { return *current_state; }
void sync_block() { wait_at(Wait::Block); }
void sync_warp() { wait_at(Wait::Warp); }
void set_last_error(int e) { last_error = e; }

void run_grid(dim3 grid, dim3 block, const std::function<void()>& body) {
  const int threads = static_cast<int>(block.x * block.y * block.z);
  if (threads > kMaxBlockThreads) fatal("more than 1024 threads", dim3(0, 0, 0));
  std::lock_guard<std::mutex> lock(launch_mutex);
  if (!runner) runner = std::make_unique<BlockRunner>();
  BlockRunner& r = *runner;
  r.body = &body;
  uint64_t linear = 0;
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx)
        run_block(r, threads, block, dim3(bx, by, bz), grid, (linear++ % 2) == 1);
  r.body = nullptr;
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
