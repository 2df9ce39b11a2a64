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

// ---- CUDA graphs ---------------------------------------------------------------------------
// A training step of a small model is bound by kernel launches; captured once as a CUDA graph it
// replays with one launch. Between capture_begin() and capture_end() the stream's work is recorded,
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
  void replay();         // enqueues the whole graph on dlcore's stream
  void reset();          // frees the graph and its memory pool
  bool captured() const { return exec_ != nullptr; }

 private:
  void* graph_ = nullptr;  // cudaGraph_t
  void* exec_ = nullptr;   // cudaGraphExec_t
  int pool_ = 0;           // the allocator pool of this graph's memory (0: none)
  bool capturing_ = false; // this graph's capture is in progress
};
bool is_capturing();                      // dlcore's stream is being captured into a Graph
void check_not_capturing(const char* what);  // raises a RuntimeError naming `what` when capturing

}  // namespace dlcore::cuda
