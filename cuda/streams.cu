// Devices, streams and events (dl.cuda.device/set_device, dl.cuda.Stream, dl.cuda.Event).
//
// Each host thread has a current device (CUDA's own per-thread cudaSetDevice, mirrored in a
// thread_local so the check costs no driver call) and, per device, a current stream. Kernels ask
// only for stream(): the current stream of the current device. The op layer makes a tensor's device
// current through DeviceGuard before calling a kernel.
//
// Streams are never destroyed: each device has a default stream and a fixed pool of further
// streams that new dl.cuda.Stream objects take round-robin (torch does the same), so a stream
// handle stays valid as a key of the caching allocator's pools for the life of the process.
#include <array>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>

#include "cuda_check.h"
#include "dlcore/cuda_runtime.h"

namespace dlcore::cuda {
namespace {

constexpr int kStreamsPerPool = 32;

struct DeviceStreams {
  std::once_flag created;
  cudaStream_t default_stream = nullptr;
  std::array<cudaStream_t, kStreamsPerPool> pool{};
  std::atomic<unsigned> next{0};
};

// Never destroyed: tensors released during static destruction may still enqueue work.
DeviceStreams& streams_of(int device) {
  static auto* all = new std::array<DeviceStreams, kMaxDevices>();
  return (*all)[device];
}

thread_local int cached_current_device = -1;  // -1: not read from CUDA yet on this thread

// This thread's current stream per device; null means the device's default stream.
thread_local std::array<cudaStream_t, kMaxDevices> current_streams{};

void check_device_index(int index, const char* what) {
  const int count = device_count();
  if (count == 0) throw std::runtime_error(std::string(what) + ": CUDA is not available: no CUDA driver or no CUDA device found");
  if (index < 0 || index >= count)
    throw std::runtime_error(std::string(what) + ": CUDA device index " + std::to_string(index) +
                             " is out of range: " + std::to_string(count) + " device" +
                             (count == 1 ? " is" : "s are") + " visible");
}

int resolve(int device) { return device < 0 ? current_device() : device; }

DeviceStreams& created_streams(int device) {
  DeviceStreams& s = streams_of(device);
  std::call_once(s.created, [&s, device] {
    ensure_usable();
    DeviceGuard guard(device);
    DLCORE_CUDA_CHECK(cudaStreamCreateWithFlags(&s.default_stream, cudaStreamNonBlocking));
    for (cudaStream_t& stream : s.pool) DLCORE_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  });
  return s;
}

}  // namespace

int current_device() {
  if (cached_current_device < 0) {
    int device = 0;
    if (is_available()) DLCORE_CUDA_CHECK(cudaGetDevice(&device));
    cached_current_device = device;
  }
  return cached_current_device;
}

void set_device(int index) {
  check_device_index(index, "set_device");
  if (index == current_device()) return;
  DLCORE_CUDA_CHECK(cudaSetDevice(index));
  cached_current_device = index;
}

DeviceGuard::DeviceGuard(int index) {
  if (index < 0) return;
  const int current = current_device();
  if (index == current) return;
  check_device_index(index, "DeviceGuard");
  DLCORE_CUDA_CHECK(cudaSetDevice(index));
  cached_current_device = index;
  previous_ = current;
}

DeviceGuard::~DeviceGuard() {
  if (previous_ < 0) return;
  // Restoring a device that was valid a moment ago cannot fail short of a dead driver; a destructor
  // must not throw, and the next checked call reports such a failure.
  if (cudaSetDevice(previous_) == cudaSuccess) cached_current_device = previous_;
  else (void)cudaGetLastError();
}

cudaStream_t stream() {
  const int device = current_device();
  const cudaStream_t current = current_streams[device];
  return current != nullptr ? current : created_streams(device).default_stream;
}

Stream default_stream(int device) {
  device = resolve(device);
  check_device_index(device, "default_stream");
  return Stream{created_streams(device).default_stream, device};
}

Stream current_stream(int device) {
  device = resolve(device);
  check_device_index(device, "current_stream");
  const cudaStream_t current = current_streams[device];
  return Stream{current != nullptr ? current : created_streams(device).default_stream, device};
}

Stream stream_from_pool(int device) {
  device = resolve(device);
  check_device_index(device, "Stream");
  DeviceStreams& s = created_streams(device);
  return Stream{s.pool[s.next.fetch_add(1) % kStreamsPerPool], device};
}

void set_current_stream(Stream stream) {
  check_device_index(stream.device, "set_stream");
  current_streams[stream.device] = stream.handle;
}

bool stream_query(Stream stream) {
  DeviceGuard guard(stream.device);
  const cudaError_t status = cudaStreamQuery(stream.handle);
  if (status == cudaErrorNotReady) {
    (void)cudaGetLastError();
    return false;
  }
  DLCORE_CUDA_CHECK(status);
  return true;
}

void stream_synchronize(Stream stream) {
  check_not_capturing("Stream.synchronize");
  DeviceGuard guard(stream.device);
  DLCORE_CUDA_CHECK(cudaStreamSynchronize(stream.handle));
  raise_recorded_device_error();
}

void stream_wait_stream(Stream waiting, Stream other) {
  if (waiting == other) return;
  Event event;
  event.record(other);
  event.wait(waiting);
}

Event::Event(bool enable_timing, bool blocking) : timing_(enable_timing), blocking_(blocking) {}

Event::~Event() {
  if (event_ == nullptr) return;
  DeviceGuard guard(device_);
  // Destroying an event whose work is still queued is allowed: CUDA frees it once it completes.
  if (cudaEventDestroy(event_) != cudaSuccess) (void)cudaGetLastError();
}

void Event::record(Stream stream) {
  if (event_ != nullptr && stream.device != device_)
    throw std::runtime_error("Event.record: the event was recorded on cuda:" + std::to_string(device_) +
                             " and cannot be recorded on a stream of cuda:" + std::to_string(stream.device));
  DeviceGuard guard(stream.device);
  if (event_ == nullptr) {
    unsigned flags = timing_ ? cudaEventDefault : cudaEventDisableTiming;
    if (blocking_) flags |= cudaEventBlockingSync;
    DLCORE_CUDA_CHECK(cudaEventCreateWithFlags(&event_, flags));
    device_ = stream.device;
  }
  DLCORE_CUDA_CHECK(cudaEventRecord(event_, stream.handle));
}

void Event::wait(Stream stream) {
  if (event_ == nullptr) return;
  DeviceGuard guard(stream.device);
  DLCORE_CUDA_CHECK(cudaStreamWaitEvent(stream.handle, event_, 0));
}

bool Event::query() const {
  if (event_ == nullptr) return true;
  DeviceGuard guard(device_);
  const cudaError_t status = cudaEventQuery(event_);
  if (status == cudaErrorNotReady) {
    (void)cudaGetLastError();
    return false;
  }
  DLCORE_CUDA_CHECK(status);
  return true;
}

void Event::synchronize() const {
  if (event_ == nullptr) return;
  check_not_capturing("Event.synchronize");
  DeviceGuard guard(device_);
  DLCORE_CUDA_CHECK(cudaEventSynchronize(event_));
  raise_recorded_device_error();
}

float Event::elapsed_time(const Event& end) const {
  if (!timing_ || !end.timing_)
    throw std::runtime_error("Event.elapsed_time: both events must be created with enable_timing=True");
  if (event_ == nullptr || end.event_ == nullptr)
    throw std::runtime_error("Event.elapsed_time: both events must be recorded before calculating elapsed time");
  if (device_ != end.device_)
    throw std::runtime_error("Event.elapsed_time: the events were recorded on different devices (cuda:" +
                             std::to_string(device_) + " and cuda:" + std::to_string(end.device_) + ")");
  DeviceGuard guard(device_);
  float milliseconds = 0;
  DLCORE_CUDA_CHECK(cudaEventElapsedTime(&milliseconds, event_, end.event_));
  return milliseconds;
}

}  // namespace dlcore::cuda
