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
int current_device() { return 0; }
std::string device_name(int) { throw_no_cuda("get_device_name"); }
std::pair<int, int> device_capability(int) { throw_no_cuda("get_device_capability"); }
int multiprocessor_count() { throw_no_cuda("multiprocessor_count"); }
void set_device(int) { throw_no_cuda("set_device"); }
DeviceGuard::DeviceGuard(int index) {
  if (index >= 0) throw_no_cuda("device guard");
}
DeviceGuard::~DeviceGuard() = default;
Stream default_stream(int) { throw_no_cuda("default_stream"); }
Stream current_stream(int) { throw_no_cuda("current_stream"); }
Stream stream_from_pool(int) { throw_no_cuda("Stream"); }
void set_current_stream(Stream) { throw_no_cuda("set_stream"); }
bool stream_query(Stream) { throw_no_cuda("Stream.query"); }
void stream_synchronize(Stream) { throw_no_cuda("Stream.synchronize"); }
void stream_wait_stream(Stream, Stream) { throw_no_cuda("Stream.wait_stream"); }
Event::Event(bool, bool) { throw_no_cuda("Event"); }
Event::~Event() = default;
void Event::record(Stream) { throw_no_cuda("Event.record"); }
void Event::wait(Stream) { throw_no_cuda("Event.wait"); }
bool Event::query() const { throw_no_cuda("Event.query"); }
void Event::synchronize() const { throw_no_cuda("Event.synchronize"); }
float Event::elapsed_time(const Event&) const { throw_no_cuda("Event.elapsed_time"); }
void* allocate(size_t) { throw_no_cuda("allocate"); }
void deallocate(void*) { throw_no_cuda("deallocate"); }
void record_stream(void*, Stream) { throw_no_cuda("record_stream"); }
size_t memory_allocated(int) { return 0; }
size_t max_memory_allocated(int) { return 0; }
size_t memory_reserved(int) { return 0; }
void reset_peak_memory_stats(int) {}
void empty_cache() {}
void copy_host_to_device(void*, const void*, size_t) { throw_no_cuda("copy_host_to_device"); }
void copy_device_to_host(void*, const void*, size_t) { throw_no_cuda("copy_device_to_host"); }
void copy_device_to_device(void*, const void*, size_t) { throw_no_cuda("copy_device_to_device"); }
void copy_between_devices(void*, int, const void*, int, size_t) { throw_no_cuda("copy_between_devices"); }
void memset_zero(void*, size_t) { throw_no_cuda("memset_zero"); }
void synchronize(int) {}
Graph::~Graph() = default;
void Graph::capture_begin() { throw_no_cuda("CUDAGraph.capture_begin"); }
void Graph::capture_end() { throw_no_cuda("CUDAGraph.capture_end"); }
void Graph::capture_abort() {}
void Graph::replay() { throw_no_cuda("CUDAGraph.replay"); }
void Graph::reset() {}
bool is_capturing() { return false; }
void check_not_capturing(const char*) {}
}  // namespace dlcore::cuda
