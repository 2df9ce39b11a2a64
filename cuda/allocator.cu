// The CUDA caching allocator. cudaMalloc and cudaFree are slow and synchronise the device, so blocks
// freed by tensors are kept in size-ordered free lists and handed out again; a training step whose
// shapes repeat reaches a steady state with no cudaMalloc at all.
//
// Reuse without events is safe because all dlcore work runs on one stream: a block freed on the
// host may still be read by queued kernels, but any kernel that later receives the block is
// enqueued behind them on the same stream, so stream order serialises old and new users.
//
// CUDA graphs: while a graph is captured, blocks are allocated from and freed into a pool private
// to it (pool ids > 0; 0 is the shared pool). Its addresses are baked into the graph, so they stay
// out of the shared pool, whoever frees them, until the graph releases its pool.
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

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
  int pool;
};

class CachingAllocator {
 public:
  void* allocate(size_t nbytes) {
    if (nbytes == 0) return nullptr;
    ensure_usable();
    const size_t size = size_class(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    void* ptr = take_cached_block(size);
    if (ptr == nullptr) {
      ptr = malloc_from_device(size, nbytes);
      live_blocks_.emplace(ptr, Block{size, current_pool_});
      reserved_ += size;
    }
    allocated_ += live_blocks_.at(ptr).size;
    peak_allocated_ = std::max(peak_allocated_, allocated_);
    return ptr;
  }

  void deallocate(void* ptr) {
    if (ptr == nullptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_blocks_.find(ptr);
    if (it == live_blocks_.end())
      throw std::invalid_argument("dlcore::cuda::deallocate: pointer was not allocated by dlcore");
    Block block = it->second;
    // A block freed during a capture may have been used by the graph: it joins the graph's pool.
    if (current_pool_ != 0) block.pool = current_pool_;
    allocated_ -= block.size;
    free_blocks_[block.pool].emplace(block.size, ptr);
    live_blocks_.erase(it);
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
    auto it = free_blocks_.find(pool);
    if (it != free_blocks_.end()) {
      free_blocks_[0].insert(it->second.begin(), it->second.end());
      free_blocks_.erase(it);
    }
    for (auto& [ptr, block] : live_blocks_)  // tensors still alive return to the shared pool when freed
      if (block.pool == pool) block.pool = 0;
  }

  size_t allocated() {
    std::lock_guard<std::mutex> lock(mutex_);
    return allocated_;
  }
  size_t peak_allocated() {
    std::lock_guard<std::mutex> lock(mutex_);
    return peak_allocated_;
  }
  size_t reserved() {
    std::lock_guard<std::mutex> lock(mutex_);
    return reserved_;
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    peak_allocated_ = allocated_;
  }
  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached_blocks();
  }

 private:
  // Best fit among the current pool's cached blocks, accepted only when it wastes at most a quarter
  // of the request, so a small tensor never pins a large block.
  void* take_cached_block(size_t size) {
    std::multimap<size_t, void*>& free = free_blocks_[current_pool_];
    auto it = free.lower_bound(size);
    if (it == free.end() || it->first > size + size / 4) return nullptr;
    void* ptr = it->second;
    live_blocks_.emplace(ptr, Block{it->first, current_pool_});
    free.erase(it);
    return ptr;
  }

  void* malloc_from_device(size_t size, size_t requested) {
    void* ptr = nullptr;
    cudaError_t status = cudaMalloc(&ptr, size);
    // Freeing cached blocks waits for the device, which a capture cannot do.
    if (status == cudaErrorMemoryAllocation && current_pool_ == 0 && !free_blocks_[0].empty()) {
      (void)cudaGetLastError();  // out of memory is not sticky; clear it before retrying
      release_cached_blocks();
      status = cudaMalloc(&ptr, size);
    }
    if (status == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      throw std::runtime_error("CUDA out of memory: tried to allocate " + mebibytes(requested) +
                               " (dlcore holds " + mebibytes(allocated_) + " in tensors, " +
                               mebibytes(reserved_) + " reserved in total)");
    }
    if (status != cudaSuccess) throw_cuda_error(status, "cudaMalloc (allocate)", __FILE__, __LINE__);
    return ptr;
  }

  // Returns the shared pool's cached blocks to the driver (graph pools stay reserved).
  void release_cached_blocks() {
    std::multimap<size_t, void*>& free = free_blocks_[0];
    if (free.empty()) return;
    check_not_capturing("empty_cache");
    // Cached blocks may still be read by queued kernels; wait for them before giving memory back.
    DLCORE_CUDA_CHECK(cudaDeviceSynchronize());
    for (const auto& [size, ptr] : free) {
      DLCORE_CUDA_CHECK(cudaFree(ptr));
      reserved_ -= size;
    }
    free.clear();
  }

  std::mutex mutex_;
  std::map<int, std::multimap<size_t, void*>> free_blocks_;  // pool -> size -> cached block
  std::unordered_map<void*, Block> live_blocks_;             // block in use -> its size and pool
  int current_pool_ = 0;  // where allocations and frees go: 0, or the pool of the graph being captured
  int last_pool_ = 0;
  size_t allocated_ = 0;
  size_t peak_allocated_ = 0;
  size_t reserved_ = 0;
};

// Never destroyed: tensors released during static destruction must still find it.
CachingAllocator& caching_allocator() {
  static CachingAllocator* allocator = new CachingAllocator();
  return *allocator;
}

}  // namespace

void* allocate(size_t nbytes) { return caching_allocator().allocate(nbytes); }
void deallocate(void* ptr) { caching_allocator().deallocate(ptr); }
size_t memory_allocated() { return caching_allocator().allocated(); }
size_t max_memory_allocated() { return caching_allocator().peak_allocated(); }
size_t memory_reserved() { return caching_allocator().reserved(); }
void reset_peak_memory_stats() { caching_allocator().reset_peak(); }
void empty_cache() { caching_allocator().empty_cache(); }
int begin_pool() { return caching_allocator().begin_pool(); }
void end_pool() { caching_allocator().end_pool(); }
void release_pool(int pool) { caching_allocator().release_pool(pool); }

}  // namespace dlcore::cuda
