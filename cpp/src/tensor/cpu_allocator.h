// Host memory for CPU tensors: 64-byte aligned blocks, and a bounded cache of large ones.
//
// glibc hands blocks of a megabyte and more back to the kernel when they are freed (mmap), so every
// new activation of a training step page-faults its memory in again on first touch: ~8% of a
// CifarVGG step on the CPU. Blocks of at least kCachedMin bytes are therefore kept when a tensor
// frees them, up to kCacheLimit bytes in all, and handed to the next tensor of the same size class
// (sizes rounded up to 1/16 of their power of two: at most 6.25% slack); they are mapped from the
// kernel directly, not taken from malloc. Smaller blocks come from malloc, which recycles them well
// itself. A failed allocation empties the cache and retries.
#pragma once
#include <cstddef>

namespace dlcore::cpu_allocator {

constexpr size_t kCachedMin = size_t{1} << 20;   // 1 MiB
constexpr size_t kCacheLimit = size_t{1} << 30;  // 1 GiB held at most

// At least `nbytes` bytes, 64-byte aligned (nbytes > 0); throws std::runtime_error when out of memory.
void* allocate(size_t nbytes);
// Gives back a block from allocate(nbytes), with the same nbytes.
void deallocate(void* data, size_t nbytes);
// Frees every cached block; the bytes the cache holds now.
void empty_cache();
size_t cached_bytes();
// The size class `nbytes` is allocated with (a multiple of 64).
size_t rounded_size(size_t nbytes);

}  // namespace dlcore::cpu_allocator
