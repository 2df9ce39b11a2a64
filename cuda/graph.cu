// CUDA graph capture and replay of the current stream (dlcore::cuda::Graph, dl.cuda.CUDAGraph).
// Capture uses the relaxed mode: the caching allocator may call cudaMalloc while a graph is being
// recorded (its first capture always does, since its private pool starts empty); the calls that
// cannot be recorded (host waits and copies) are refused by check_not_capturing() before CUDA sees
// them, so the user gets an error naming the op rather than an invalidated capture.
#include <atomic>
#include <stdexcept>
#include <string>

#include "cuda_check.h"
#include "dlcore/cuda_runtime.h"

namespace dlcore::cuda {
namespace {
std::atomic<bool> capturing{false};  // only Graph starts captures
}  // namespace

bool is_capturing() { return capturing.load(std::memory_order_relaxed); }

void check_not_capturing(const char* what) {
  if (is_capturing())
    throw std::runtime_error(std::string(what) +
                             " cannot run while a CUDA graph is being captured: a graph records GPU work "
                             "only (no host waits, reads or host-to-device copies); do it before the "
                             "capture or after replay()");
}

Graph::~Graph() {
  try {
    if (capturing_) capture_abort();
    reset();
  } catch (...) {  // destructors must not throw; the CUDA error is reported by the next checked call
  }
}

void Graph::capture_begin() {
  if (exec_ != nullptr) throw std::runtime_error("CUDAGraph.capture_begin: this graph was already captured; reset() it first");
  if (is_capturing()) throw std::runtime_error("CUDAGraph.capture_begin: another graph is being captured");
  // Lazily made runtime state (streams, error flag, device attributes) must exist before recording.
  stream_ = current_stream();
  (void)device_error_flag();
  (void)multiprocessor_count();
  pool_ = begin_pool();
  const cudaError_t status = cudaStreamBeginCapture(stream_.handle, cudaStreamCaptureModeRelaxed);
  if (status != cudaSuccess) {
    end_pool();
    release_pool(pool_);
    pool_ = 0;
    throw_cuda_error(status, "cudaStreamBeginCapture (CUDAGraph.capture_begin)", __FILE__, __LINE__);
  }
  capturing = capturing_ = true;
}

void Graph::capture_end() {
  if (!capturing_) throw std::runtime_error("CUDAGraph.capture_end: no capture in progress on this graph");
  cudaGraph_t graph = nullptr;
  DeviceGuard guard(stream_.device);
  const cudaError_t status = cudaStreamEndCapture(stream_.handle, &graph);
  capturing = capturing_ = false;
  end_pool();
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    if (graph != nullptr) (void)cudaGraphDestroy(graph);
    release_pool(pool_);
    pool_ = 0;
    throw_cuda_error(status, "cudaStreamEndCapture (CUDAGraph.capture_end)", __FILE__, __LINE__);
  }
  graph_ = graph;
  cudaGraphExec_t exec = nullptr;
  const cudaError_t instantiated = cudaGraphInstantiateWithFlags(&exec, graph, 0);
  if (instantiated != cudaSuccess) {
    reset();
    throw_cuda_error(instantiated, "cudaGraphInstantiateWithFlags (CUDAGraph.capture_end)", __FILE__, __LINE__);
  }
  exec_ = exec;
}

void Graph::capture_abort() {
  if (!capturing_) return;
  cudaGraph_t graph = nullptr;
  DeviceGuard guard(stream_.device);
  (void)cudaStreamEndCapture(stream_.handle, &graph);
  (void)cudaGetLastError();
  capturing = capturing_ = false;
  end_pool();
  if (graph != nullptr) (void)cudaGraphDestroy(graph);
  release_pool(pool_);
  pool_ = 0;
}

void Graph::replay() {
  if (exec_ == nullptr) throw std::runtime_error("CUDAGraph.replay: nothing has been captured");
  check_not_capturing("CUDAGraph.replay");
  DeviceGuard guard(stream_.device);
  DLCORE_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), stream()));
}

void Graph::reset() {
  if (capturing_)
    throw std::runtime_error("CUDAGraph.reset: the graph is being captured; end or abort the capture first");
  DeviceGuard guard(exec_ != nullptr || graph_ != nullptr ? stream_.device : -1);
  if (exec_ != nullptr) DLCORE_CUDA_CHECK(cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_)));
  if (graph_ != nullptr) DLCORE_CUDA_CHECK(cudaGraphDestroy(static_cast<cudaGraph_t>(graph_)));
  exec_ = graph_ = nullptr;
  // Replays already enqueued still use the pool's memory, but anything that reuses it is enqueued
  // behind them on the stream the blocks belong to (the captured one, where replays usually run).
  if (pool_ != 0) release_pool(pool_);
  pool_ = 0;
}

}  // namespace dlcore::cuda
