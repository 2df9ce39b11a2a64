// The CUDA caching allocator. cudaMalloc and cudaFree are slow and synchronise the device, so blocks
// freed by tensors are kept in size-ordered free lists and handed out again; a training step whose
// shapes repeat reaches a steady state with no cudaMalloc at all.
//
// Reuse without events is safe because all dlcore work runs on one stream: a block freed on the
// host may still be read by queued kernels, but any kernel that later receives the block is
// enqueued behind them on the same stream, so stream order serialises old and new users.
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

class CachingAllocator {
 public:
  void* allocate(size_t nbytes) {
    if (nbytes == 0) return nullptr;
    ensure_usable();
    const size_t size = size_class(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    void* ptr = take_cached_block(size);
    size_t block_size = size;
    if (ptr != nullptr) {
      block_size = live_blocks_.at(ptr);
    } else {
      ptr = malloc_from_device(size, nbytes);
      live_blocks_.emplace(ptr, size);
      reserved_ += size;
    }
    allocated_ += block_size;
    peak_allocated_ = std::max(peak_allocated_, allocated_);
    return ptr;
  }

  void deallocate(void* ptr) {
    if (ptr == nullptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_blocks_.find(ptr);
    if (it == live_blocks_.end())
      throw std::invalid_argument("dlcore::cuda::deallocate: pointer was not allocated by dlcore");
    allocated_ -= it->second;
    free_blocks_.emplace(it->second, ptr);
    live_blocks_.erase(it);
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
  // Best fit among cached blocks, accepted only when it wastes at most a quarter of the request,
  // so a small tensor never pins a large block.
  void* take_cached_block(size_t size) {
    auto it = free_blocks_.lower_bound(size);
    if (it == free_blocks_.end() || it->first > size + size / 4) return nullptr;
    void* ptr = it->second;
    live_blocks_.emplace(ptr, it->first);
    free_blocks_.erase(it);
    return ptr;
  }

  void* malloc_from_device(size_t size, size_t requested) {
    void* ptr = nullptr;
    cudaError_t status = cudaMalloc(&ptr, size);
    if (status == cudaErrorMemoryAllocation && !free_blocks_.empty()) {
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

  void release_cached_blocks() {
    if (free_blocks_.empty()) return;
    // Cached blocks may still be read by queued kernels; wait for them before giving memory back.
    DLCORE_CUDA_CHECK(cudaDeviceSynchronize());
    for (const auto& [size, ptr] : free_blocks_) {
      DLCORE_CUDA_CHECK(cudaFree(ptr));
      reserved_ -= size;
    }
    free_blocks_.clear();
  }

  std::mutex mutex_;
  std::multimap<size_t, void*> free_blocks_;        // size -> cached block
  std::unordered_map<void*, size_t> live_blocks_;   // block in use -> its size
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

}  // namespace dlcore::cuda
