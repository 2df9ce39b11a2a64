// dlcore's profiler recorder (dl.profiler is its Python face): while a session runs, every op entry
// point, every backward Node the engine runs, every optimizer step and every record_function range
// becomes an Event with its host start/end time, thread, parent and (optionally) input shapes; ops on
// a CUDA device also get a pair of timing events on the current stream, resolved when the session
// stops. When no session runs, an OpScope costs one relaxed atomic load and a predictable branch.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "dlcore/tensor.h"

namespace dlcore::profiler {

enum class EventKind : uint8_t { Op, Backward, OptimizerStep, UserRange };

struct Event {
  std::string name;
  EventKind kind = EventKind::Op;
  int64_t start_ns = 0, end_ns = 0;  // steady-clock nanoseconds since the session started
  int64_t thread = 0;                // the OS thread id
  int64_t parent = -1;               // index of the enclosing event on the same thread; -1 at top level
  std::vector<Shape> input_shapes;   // filled when the session records shapes ([] for an undefined input)
  int device = -1;                   // the CUDA device the op ran on; -1 for host-only events
  double device_us = 0;              // time between the op's two CUDA events (0 without a device)
};

struct SessionOptions {
  bool record_shapes = false;
  bool cuda = false;  // time ops on CUDA tensors with CUDA events
};

// Starts a session; std::runtime_error if one is already running (one profiler at a time).
void start(const SessionOptions& options);
// Ends the session (scopes still open are closed now), waits for its CUDA events and returns its events
// in the order they began. std::runtime_error when no session runs.
std::vector<Event> stop();

namespace detail {
// The one flag every scope reads: written only by start() and stop().
inline std::atomic<bool> session_running{false};
}  // namespace detail

inline bool is_running() { return detail::session_running.load(std::memory_order_relaxed); }

// What an event is called and what kind it is, from what opened it.
struct Label {
  std::string name;
  EventKind kind;
};
struct OptimizerStep {  // names an optimizer's step like torch: "Optimizer.step#SGD.step"
  const std::string& optimizer;
};
Label label_of(const char* op);               // "dlcore::" + op
Label label_of(const Node& node);             // the node's own name (e.g. "Conv2dBackward")
Label label_of(const OptimizerStep& step);

// The inputs an event records: their shapes and the first CUDA device among them.
struct Inputs {
  std::vector<Shape> shapes;
  int cuda_device = -1;
};
void add_input(Inputs& inputs, const Tensor& t);
void add_input(Inputs& inputs, const std::vector<Tensor>& ts);

// A handle on an open event: where it sits in its session's buffer.
struct Handle {
  int64_t slot = -1;  // -1: nothing was recorded
  uint64_t session = 0;
};
Handle begin(Label label, const Inputs& inputs);
void end(const Handle& handle);

// Records one event around its own lifetime. Inserted once per op entry point (and by the
// generator into every op-table op), once around each Node the engine applies, once per optimizer
// step: `profiler::OpScope scope("conv2d", x, weight, bias);`.
class OpScope {
 public:
  // Forced inline, so the flag check is the op's own branch; what a running session needs stays out of
  // line (open is cold), so the op's code around it is unchanged.
  template <class LabelSource, class... TensorInputs>
  __attribute__((always_inline)) explicit OpScope(const LabelSource& source, const TensorInputs&... inputs) {
    if (__builtin_expect(is_running(), 0)) handle_ = open(source, inputs...);
  }
  __attribute__((always_inline)) ~OpScope() {
    if (__builtin_expect(handle_.slot >= 0, 0)) end(handle_);
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  template <class LabelSource, class... TensorInputs>
  __attribute__((noinline, cold)) static Handle open(const LabelSource& source, const TensorInputs&... inputs) {
    Inputs collected;
    (add_input(collected, inputs), ...);
    return begin(label_of(source), collected);
  }
  Handle handle_;
};

}  // namespace dlcore::profiler
