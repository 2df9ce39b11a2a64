// dlcore's view of the CUDA runtime: device discovery, the caching allocator, copies, the stream.
// Declared without any CUDA header so the CPU-only parts of the engine can include it; cuda/
// implements it, and a build without nvcc links cpp/src/tensor/cuda_unavailable.cpp instead.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dlcore::cuda {

bool is_available();          // a driver and at least one usable device; never throws
int device_count();
// Raises a RuntimeError naming the compiled architectures when the GPU cannot run this build.
void ensure_usable();

// Caching allocator: blocks are kept and reused, so a steady training step never calls cudaMalloc.
void* allocate(size_t nbytes);
void deallocate(void* ptr);
size_t memory_allocated();    // bytes held by live tensors
size_t max_memory_allocated();
size_t memory_reserved();     // bytes obtained from cudaMalloc, cached or live
void reset_peak_memory_stats();
void empty_cache();

// Asynchronous on dlcore's stream unless named otherwise.
void copy_host_to_device(void* dst, const void* src, size_t nbytes);
void copy_device_to_host(void* dst, const void* src, size_t nbytes);   // waits for the stream
void copy_device_to_device(void* dst, const void* src, size_t nbytes);
void memset_zero(void* dst, size_t nbytes);
// Waits for all queued work; raises any error a kernel recorded (e.g. a target out of range).
void synchronize();

}  // namespace dlcore::cuda
