// The profiler's session: one buffer of events shared by all threads behind a mutex (taken only while
// a session runs), a thread-local "innermost open event" for parent links, and the CUDA timing events
// of ops on devices, resolved into device times when the session stops.
#include "dlcore/profiler.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "dlcore/autograd.h"
#include "dlcore/cuda_runtime.h"

namespace dlcore::profiler {
namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t os_thread_id() {
  thread_local const int64_t id = static_cast<int64_t>(::syscall(SYS_gettid));
  return id;
}

struct DeviceTimer {  // the two CUDA events around one op, on the stream it was enqueued to
  cuda::Event start{true}, end{true};
  cuda::Stream stream;
};

struct Session {
  std::mutex mutex;
  bool running = false;
  uint64_t id = 0;  // distinguishes sessions, so a scope opened in an earlier one never writes here
  SessionOptions options;
  int64_t origin_ns = 0;
  std::vector<Event> events;
  std::vector<std::unique_ptr<DeviceTimer>> timers;  // parallel to events; null for host-only events
};

Session& session() {
  static Session s;
  return s;
}

// This thread's innermost open event (in session `open_session`), the parent of the next one.
thread_local int64_t open_slot = -1;
thread_local uint64_t open_session = 0;

}  // namespace

Label label_of(const char* op) { return {std::string("dlcore::") + op, EventKind::Op}; }
Label label_of(const Node& node) { return {node.name(), EventKind::Backward}; }
Label label_of(const OptimizerStep& step) {
  return {"Optimizer.step#" + step.optimizer + ".step", EventKind::OptimizerStep};
}

void add_input(Inputs& inputs, const Tensor& t) {
  inputs.shapes.push_back(t.defined() ? t.shape() : Shape{});
  if (inputs.cuda_device < 0 && t.defined() && t.device().is_cuda()) inputs.cuda_device = t.device().index;
}

void add_input(Inputs& inputs, const std::vector<Tensor>& ts) {
  for (const Tensor& t : ts) add_input(inputs, t);
}

void start(const SessionOptions& options) {
  Session& s = session();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.running) throw std::runtime_error("profiler: a profiling session is already running (profilers do not nest)");
  s.running = true;
  ++s.id;
  s.options = options;
  s.events.clear();
  s.timers.clear();
  s.events.reserve(1 << 14);  // a LeNet step records a few hundred events: no reallocation while timing
  s.origin_ns = now_ns();
  detail::session_running.store(true, std::memory_order_relaxed);
}

Handle begin(Label label, const Inputs& inputs) {
  Session& s = session();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.running) return {};  // the session stopped between the flag check and here
  Event e;
  e.name = std::move(label.name);
  e.kind = label.kind;
  e.thread = os_thread_id();
  e.end_ns = -1;  // open
  e.parent = open_session == s.id ? open_slot : -1;
  if (s.options.record_shapes) e.input_shapes = inputs.shapes;
  const auto slot = static_cast<int64_t>(s.events.size());
  std::unique_ptr<DeviceTimer> timer;
  // Events recorded into a CUDA graph being captured have no time until replay: such ops are host-only.
  if (s.options.cuda && inputs.cuda_device >= 0 && !cuda::is_capturing()) {
    e.device = inputs.cuda_device;
    timer = std::make_unique<DeviceTimer>();
    timer->stream = cuda::current_stream(inputs.cuda_device);
    timer->start.record(timer->stream);
  }
  s.events.push_back(std::move(e));
  s.timers.push_back(std::move(timer));
  open_slot = slot;
  open_session = s.id;
  s.events.back().start_ns = now_ns() - s.origin_ns;  // last, so the bookkeeping above is not the op's time
  return {slot, s.id};
}

void end(const Handle& handle) {
  const int64_t t = now_ns();
  Session& s = session();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.running || handle.session != s.id) return;  // opened in a session that has since stopped
  Event& e = s.events[handle.slot];
  e.end_ns = t - s.origin_ns;
  if (DeviceTimer* timer = s.timers[handle.slot].get()) timer->end.record(timer->stream);
  if (open_session == s.id) open_slot = e.parent;
}

std::vector<Event> stop() {
  Session& s = session();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.running) throw std::runtime_error("profiler: stop() called but no profiling session is running");
  detail::session_running.store(false, std::memory_order_relaxed);
  s.running = false;
  const int64_t t = now_ns() - s.origin_ns;
  for (size_t i = 0; i < s.events.size(); ++i) {
    Event& e = s.events[i];
    DeviceTimer* timer = s.timers[i].get();
    if (e.end_ns < 0) {  // still open (the session stopped inside it): it ends now
      e.end_ns = t;
      if (timer) timer->end.record(timer->stream);
    }
    if (timer) {
      timer->end.synchronize();
      e.device_us = 1000.0 * timer->start.elapsed_time(timer->end);
    }
  }
  s.timers.clear();
  return std::move(s.events);
}

}  // namespace dlcore::profiler
