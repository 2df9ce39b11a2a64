// The CUDA runtime entry points for a build made without nvcc: dl.cuda.is_available() is False and
// anything that would touch a GPU raises a RuntimeError saying how the module was built.
#include <stdexcept>

#include "dlcore/cuda_runtime.h"

namespace dlcore {
[[noreturn]] void throw_no_cuda(const char* what) {
  throw std::runtime_error(std::string("dlcore was built without CUDA (") + what +
                           "): rebuild on a machine with nvcc to use device='cuda'");
}
}  // namespace dlcore

namespace dlcore::cuda {
bool is_available() { return false; }
int device_count() { return 0; }
void ensure_usable() { throw_no_cuda("ensure_usable"); }
void* allocate(size_t) { throw_no_cuda("allocate"); }
void deallocate(void*) { throw_no_cuda("deallocate"); }
size_t memory_allocated() { return 0; }
size_t max_memory_allocated() { return 0; }
size_t memory_reserved() { return 0; }
void reset_peak_memory_stats() {}
void empty_cache() {}
void copy_host_to_device(void*, const void*, size_t) { throw_no_cuda("copy_host_to_device"); }
void copy_device_to_host(void*, const void*, size_t) { throw_no_cuda("copy_device_to_host"); }
void copy_device_to_device(void*, const void*, size_t) { throw_no_cuda("copy_device_to_device"); }
void memset_zero(void*, size_t) { throw_no_cuda("memset_zero"); }
void synchronize() {}
Graph::~Graph() = default;
void Graph::capture_begin() { throw_no_cuda("CUDAGraph.capture_begin"); }
void Graph::capture_end() { throw_no_cuda("CUDAGraph.capture_end"); }
void Graph::capture_abort() {}
void Graph::replay() { throw_no_cuda("CUDAGraph.replay"); }
void Graph::reset() {}
bool is_capturing() { return false; }
void check_not_capturing(const char*) {}
}  // namespace dlcore::cuda
