// dlcore's view of the CUDA runtime: devices, streams and events, the caching allocator, copies.
// Declared without any CUDA header so the CPU-only parts of the engine can include it; cuda/
// implements it, and a build without nvcc links cpp/src/tensor/cuda_unavailable.cpp instead.
//
// Devices and streams follow CUDA's (and torch's) model: each host thread has a current device,
// and per device a current stream; every kernel and copy is enqueued on the current stream of the
// current device. The op layer makes the device of its tensors current (DeviceGuard, in
// DLCORE_DISPATCH) before it calls a kernel, so kernels themselves only ever ask for stream().
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

// CUDA's own opaque handle types (cudaStream_t is CUstream_st*), declared the way CUDA does.
struct CUstream_st;
struct CUevent_st;

namespace dlcore::cuda {

bool is_available();          // a driver and at least one usable device; never throws
int device_count();
// Raises a RuntimeError naming the compiled architectures when the GPU cannot run this build.
void ensure_usable();

// ---- devices --------------------------------------------------------------------------------
int current_device();         // this thread's current device (0 until set)
std::string device_name(int device = -1);                // "NVIDIA H100 80GB HBM3"; -1: the current device
std::pair<int, int> device_capability(int device = -1);  // (major, minor) compute capability
int multiprocessor_count();  // of the current device: kernels size their grids by it, tests their shapes
void set_device(int index);   // RuntimeError naming the index and the device count when out of range
// Makes `index` the current device for its scope and restores the previous one; -1 keeps the
// current device (a Device parsed from "cuda" without an index).
class DeviceGuard {
 public:
  explicit DeviceGuard(int index);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;  // -1: nothing to restore
};

// ---- streams and events -----------------------------------------------------------------------
// A stream of one device. Each device has a default stream (dlcore's own non-blocking stream, not
// CUDA's legacy null stream, so graphs can capture it) and a pool of further streams that
// new Stream objects take round-robin, as torch does; streams are never destroyed, so a handle
// stays valid for the process's life and the allocator may key its pools by it.
struct Stream {
  CUstream_st* handle = nullptr;
  int device = 0;
  bool operator==(const Stream& o) const { return handle == o.handle && device == o.device; }
  bool operator!=(const Stream& o) const { return !(*this == o); }
};
Stream default_stream(int device = -1);   // -1: the current device
Stream current_stream(int device = -1);
Stream stream_from_pool(int device = -1); // for dl.cuda.Stream()
void set_current_stream(Stream stream);   // for its device, on this thread
bool stream_query(Stream stream);         // true when all its work has completed
void stream_synchronize(Stream stream);   // waits; raises errors kernels recorded
void stream_wait_stream(Stream waiting, Stream other);  // later work on `waiting` waits for `other`'s queued work

// A CUDA event (dl.cuda.Event): created on first record, on the recording stream's device.
class Event {
 public:
  explicit Event(bool enable_timing = false, bool blocking = false);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void record(Stream stream);
  void wait(Stream stream);        // later work on `stream` waits for this event (no-op if never recorded)
  bool query() const;              // true when the recorded work has completed (or nothing was recorded)
  void synchronize() const;        // host waits for the recorded work
  float elapsed_time(const Event& end) const;  // milliseconds; both recorded, timing enabled, completed
  int device() const { return device_; }
  bool recorded() const { return event_ != nullptr; }

 private:
  CUevent_st* event_ = nullptr;
  int device_ = -1;
  bool timing_;
  bool blocking_;
};

// Caching allocator: blocks are kept and reused, so a steady training step never calls cudaMalloc.
// A block belongs to the device and stream current when it was allocated, and returns to that
// stream's pool when freed: later users on the same stream are ordered behind the old ones. A block
// also used on another stream must be told so (record_stream), or it could be reused while that
// stream still reads it.
void* allocate(size_t nbytes);               // on the current device, for its current stream
void deallocate(void* ptr);
void record_stream(void* ptr, Stream stream);  // ptr: a block from allocate()
// Statistics of one device (-1: the current one).
size_t memory_allocated(int device = -1);    // bytes held by live tensors
size_t max_memory_allocated(int device = -1);
size_t memory_reserved(int device = -1);     // bytes obtained from cudaMalloc, cached or live
void reset_peak_memory_stats(int device = -1);
void empty_cache();

// Asynchronous on the current stream of the current device unless named otherwise.
void copy_host_to_device(void* dst, const void* src, size_t nbytes);
void copy_device_to_host(void* dst, const void* src, size_t nbytes);   // waits for the stream
void copy_device_to_device(void* dst, const void* src, size_t nbytes); // both on the current device
// Between two devices: ordered after the queued work of both devices' current streams, and before
// their later work.
void copy_between_devices(void* dst, int dst_device, const void* src, int src_device, size_t nbytes);
void memset_zero(void* dst, size_t nbytes);
// Waits for all queued work on the device (every stream; -1: the current device); raises any error
// a kernel recorded (e.g. a target out of range).
void synchronize(int device = -1);

// ---- CUDA graphs ---------------------------------------------------------------------------
// A training step of a small model is bound by kernel launches; captured once as a CUDA graph it
// replays with one launch. Between capture_begin() and capture_end() the current stream's work is recorded,
// not run. Memory allocated or freed during capture belongs to a pool private to the graph, so the
// addresses baked into it are never handed to other tensors while it can replay (until reset() or
// destruction). Work that cannot be recorded raises instead: host waits and reads (synchronize,
// item, numpy), host-to-device copies, dropout (its seed would be frozen) and optimizer steps (their
// step counts and learning rates would be frozen): replay the graph, then call step().
class Graph {
 public:
  Graph() = default;
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  void capture_begin();
  void capture_end();    // instantiates the graph; raises if the capture failed
  void capture_abort();  // ends a capture that hit an error and frees what it allocated
  void replay();         // enqueues the whole graph on the current stream of its device
  void reset();          // frees the graph and its memory pool
  bool captured() const { return exec_ != nullptr; }

 private:
  void* graph_ = nullptr;  // cudaGraph_t
  void* exec_ = nullptr;   // cudaGraphExec_t
  int pool_ = 0;           // the allocator pool of this graph's memory (0: none)
  bool capturing_ = false; // this graph's capture is in progress
  Stream stream_;          // the stream being captured
};
bool is_capturing();                      // a stream is being captured into a Graph
void check_not_capturing(const char* what);  // raises a RuntimeError naming `what` when capturing

}  // namespace dlcore::cuda
