// The CUDA caching allocator. cudaMalloc and cudaFree are slow and synchronise the device, so blocks
// freed by tensors are kept in size-ordered free lists and handed out again; a training step whose
// shapes repeat reaches a steady state with no cudaMalloc at all.
//
// Pools are kept per device and per stream. A block belongs to the stream that was current when it
// was allocated and returns to that stream's pool when freed: a block freed on the host may still be
// read by queued kernels, but the next user of the block is enqueued on the same stream, behind them.
// A block also used on another stream (record_stream) is not reused until events recorded on those
// streams at free time have completed, which allocate() polls.
//
// CUDA graphs: while a graph is captured, blocks are allocated from and freed into a pool private
// to it (pool ids > 0; 0 is the shared pool). Its addresses are baked into the graph, so they stay
// out of the shared pool, whoever frees them, until the graph releases its pool.
#include <array>
#include <cstdio>
#include <list>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cuda_check.h"
#include "dlcore/cuda_runtime.h"

namespace dlcore::cuda {
namespace {

constexpr size_t kSmallGranularity = 512;               // rounding for blocks up to 1 MiB
constexpr size_t kLargeThreshold = size_t{1} << 20;
constexpr size_t kLargeGranularity = size_t{2} << 20;   // rounding above 1 MiB

size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

size_t size_class(size_t nbytes) {
  return nbytes <= kLargeThreshold ? round_up(nbytes, kSmallGranularity)
                                   : round_up(nbytes, kLargeGranularity);
}

std::string mebibytes(size_t nbytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(nbytes) / (1 << 20));
  return text;
}

struct Block {
  size_t size;
  int device;
  cudaStream_t stream;                      // the stream it was allocated for
  int pool;
  std::vector<Stream> other_streams;        // further streams it was used on (record_stream)
};

// Where a free block waits for its next user: device, stream and pool (0 or a graph's).
using PoolKey = std::tuple<int, cudaStream_t, int>;

// A freed block that other streams may still be using: reusable once all its events completed.
struct PendingFree {
  void* ptr;
  Block block;
  std::vector<std::pair<int, cudaEvent_t>> events;  // (device, event) per other stream
};

struct DeviceCounters {
  size_t allocated = 0;
  size_t peak_allocated = 0;
  size_t reserved = 0;
};

class CachingAllocator {
 public:
  void* allocate(size_t nbytes) {
    if (nbytes == 0) return nullptr;
    ensure_usable();
    const size_t size = size_class(nbytes);
    const int device = current_device();
    const cudaStream_t owner = stream();
    std::lock_guard<std::mutex> lock(mutex_);
    if (!pending_.empty()) reclaim_completed_frees();
    const PoolKey key{device, owner, current_pool_};
    void* ptr = take_cached_block(key, size);
    DeviceCounters& counters = counters_[device];
    if (ptr == nullptr) {
      ptr = malloc_from_device(device, size, nbytes);
      live_blocks_.emplace(ptr, Block{size, device, owner, current_pool_, {}});
      counters.reserved += size;
    }
    counters.allocated += live_blocks_.at(ptr).size;
    counters.peak_allocated = std::max(counters.peak_allocated, counters.allocated);
    return ptr;
  }

  void deallocate(void* ptr) {
    if (ptr == nullptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_blocks_.find(ptr);
    if (it == live_blocks_.end())
      throw std::invalid_argument("dlcore::cuda::deallocate: pointer was not allocated by dlcore");
    Block block = std::move(it->second);
    live_blocks_.erase(it);
    counters_[block.device].allocated -= block.size;
    // A block freed during a capture may have been used by the graph: it joins the graph's pool,
    // which stays private until the graph is reset, so other streams' use needs no events.
    if (current_pool_ != 0) block.pool = current_pool_;
    if (block.pool == 0 && !block.other_streams.empty()) {
      PendingFree pending{ptr, block, {}};
      for (const Stream& other : block.other_streams) pending.events.emplace_back(other.device, record_event(other));
      pending_.push_back(std::move(pending));
      return;
    }
    free_blocks_[PoolKey{block.device, block.stream, block.pool}].emplace(block.size, ptr);
  }

  void record_stream(void* ptr, Stream other) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_blocks_.find(ptr);
    if (it == live_blocks_.end())
      throw std::invalid_argument("record_stream: the tensor's memory was not allocated by dlcore's CUDA allocator");
    Block& block = it->second;
    if (other.handle == block.stream && other.device == block.device) return;
    for (const Stream& known : block.other_streams)
      if (known == other) return;
    block.other_streams.push_back(other);
  }

  int begin_pool() {
    std::lock_guard<std::mutex> lock(mutex_);
    current_pool_ = ++last_pool_;
    return current_pool_;
  }
  void end_pool() {
    std::lock_guard<std::mutex> lock(mutex_);
    current_pool_ = 0;
  }
  void release_pool(int pool) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (pool == 0) return;
    for (auto it = free_blocks_.begin(); it != free_blocks_.end();) {
      const auto& [device, owner, block_pool] = it->first;
      if (block_pool != pool) {
        ++it;
        continue;
      }
      free_blocks_[PoolKey{device, owner, 0}].insert(it->second.begin(), it->second.end());
      it = free_blocks_.erase(it);
    }
    for (auto& [ptr, block] : live_blocks_)  // tensors still alive return to the shared pool when freed
      if (block.pool == pool) block.pool = 0;
  }

  size_t allocated(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    return counters_[resolve(device)].allocated;
  }
  size_t peak_allocated(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    return counters_[resolve(device)].peak_allocated;
  }
  size_t reserved(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    return counters_[resolve(device)].reserved;
  }
  void reset_peak(int device) {
    std::lock_guard<std::mutex> lock(mutex_);
    DeviceCounters& counters = counters_[resolve(device)];
    counters.peak_allocated = counters.allocated;
  }
  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int device = 0; device < device_count(); ++device) release_cached_blocks(device);
  }

 private:
  static int resolve(int device) {
    if (device < 0) return current_device();
    if (device >= kMaxDevices) throw std::runtime_error("CUDA device index " + std::to_string(device) + " is out of range");
    return device;
  }

  // Best fit among the pool's cached blocks, accepted only when it wastes at most a quarter of the
  // request, so a small tensor never pins a large block.
  void* take_cached_block(const PoolKey& key, size_t size) {
    auto pool = free_blocks_.find(key);
    if (pool == free_blocks_.end()) return nullptr;
    std::multimap<size_t, void*>& free = pool->second;
    auto it = free.lower_bound(size);
    if (it == free.end() || it->first > size + size / 4) return nullptr;
    void* ptr = it->second;
    const auto& [device, owner, block_pool] = key;
    live_blocks_.emplace(ptr, Block{it->first, device, owner, block_pool, {}});
    free.erase(it);
    return ptr;
  }

  // An event marking the work queued so far on `other`, created on its device.
  static cudaEvent_t record_event(const Stream& other) {
    DeviceGuard guard(other.device);
    cudaEvent_t event = nullptr;
    DLCORE_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
    DLCORE_CUDA_CHECK(cudaEventRecord(event, other.handle));
    return event;
  }

  // Moves pending frees whose events have all completed (or, with `wait`, all of them) to their
  // pools.
  void reclaim_completed_frees(bool wait = false) {
    for (auto it = pending_.begin(); it != pending_.end();) {
      auto& events = it->events;
      for (auto event = events.begin(); event != events.end();) {
        DeviceGuard guard(event->first);
        cudaError_t status = wait ? cudaEventSynchronize(event->second) : cudaEventQuery(event->second);
        if (status == cudaErrorNotReady) {
          (void)cudaGetLastError();
          ++event;
          continue;
        }
        DLCORE_CUDA_CHECK(status);
        DLCORE_CUDA_CHECK(cudaEventDestroy(event->second));
        event = events.erase(event);
      }
      if (!events.empty()) {
        ++it;
        continue;
      }
      const Block& block = it->block;
      free_blocks_[PoolKey{block.device, block.stream, block.pool}].emplace(block.size, it->ptr);
      it = pending_.erase(it);
    }
  }

  void* malloc_from_device(int device, size_t size, size_t requested) {
    void* ptr = nullptr;
    cudaError_t status = cudaMalloc(&ptr, size);
    // Freeing cached blocks waits for the device, which a capture cannot do.
    if (status == cudaErrorMemoryAllocation && current_pool_ == 0) {
      (void)cudaGetLastError();  // out of memory is not sticky; clear it before retrying
      release_cached_blocks(device);
      status = cudaMalloc(&ptr, size);
    }
    if (status == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      const DeviceCounters& counters = counters_[device];
      throw std::runtime_error("CUDA out of memory on cuda:" + std::to_string(device) + ": tried to allocate " +
                               mebibytes(requested) + " (dlcore holds " + mebibytes(counters.allocated) +
                               " in tensors, " + mebibytes(counters.reserved) + " reserved in total)");
    }
    if (status != cudaSuccess) throw_cuda_error(status, "cudaMalloc (allocate)", __FILE__, __LINE__);
    return ptr;
  }

  // Returns one device's cached blocks of the shared pool to the driver (graph pools stay reserved).
  void release_cached_blocks(int device) {
    bool any = false;
    for (const auto& [key, free] : free_blocks_) any |= std::get<0>(key) == device && std::get<2>(key) == 0 && !free.empty();
    for (const PendingFree& pending : pending_) any |= pending.block.device == device;
    if (!any) return;
    check_not_capturing("empty_cache");
    reclaim_completed_frees(/*wait=*/true);
    DeviceGuard guard(device);
    // Cached blocks may still be read by queued kernels; wait for them before giving memory back.
    DLCORE_CUDA_CHECK(cudaDeviceSynchronize());
    for (auto it = free_blocks_.begin(); it != free_blocks_.end();) {
      if (std::get<0>(it->first) != device || std::get<2>(it->first) != 0) {
        ++it;
        continue;
      }
      for (const auto& [size, ptr] : it->second) {
        DLCORE_CUDA_CHECK(cudaFree(ptr));
        counters_[device].reserved -= size;
      }
      it = free_blocks_.erase(it);
    }
  }

  std::mutex mutex_;
  std::map<PoolKey, std::multimap<size_t, void*>> free_blocks_;  // pool -> size -> cached block
  std::unordered_map<void*, Block> live_blocks_;                 // block in use -> where it belongs
  std::list<PendingFree> pending_;
  std::array<DeviceCounters, kMaxDevices> counters_{};
  int current_pool_ = 0;  // where allocations and frees go: 0, or the pool of the graph being captured
  int last_pool_ = 0;
};

// Never destroyed: tensors released during static destruction must still find it.
CachingAllocator& caching_allocator() {
  static CachingAllocator* allocator = new CachingAllocator();
  return *allocator;
}

}  // namespace

void* allocate(size_t nbytes) { return caching_allocator().allocate(nbytes); }
void deallocate(void* ptr) { caching_allocator().deallocate(ptr); }
void record_stream(void* ptr, Stream stream) { caching_allocator().record_stream(ptr, stream); }
size_t memory_allocated(int device) { return caching_allocator().allocated(device); }
size_t max_memory_allocated(int device) { return caching_allocator().peak_allocated(device); }
size_t memory_reserved(int device) { return caching_allocator().reserved(device); }
void reset_peak_memory_stats(int device) { caching_allocator().reset_peak(device); }
void empty_cache() { caching_allocator().empty_cache(); }
int begin_pool() { return caching_allocator().begin_pool(); }
void end_pool() { caching_allocator().end_pool(); }
void release_pool(int pool) { caching_allocator().release_pool(pool); }

}  // namespace dlcore::cuda
