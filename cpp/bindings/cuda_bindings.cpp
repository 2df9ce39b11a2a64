// dlcore.cuda: devices, streams and events, synchronisation, the caching allocator's statistics and
// CUDA graphs. The Python package (python/dlcore/cuda.py) adds torch's context managers on top.
#include <pybind11/stl.h>

#include <cstdio>

#include "bindings.h"
#include "dlcore/cuda_runtime.h"

namespace dlcore::bindings {
namespace {
using namespace pybind11::literals;

// torch's device arguments of torch.cuda functions: None (the current device), an index, or a CUDA
// device or string; -1 stands for the current device.
int cuda_index(const py::object& device, const char* what) {
  if (device.is_none()) return -1;
  const Device d = device_from_python(device);
  if (!d.is_cuda())
    throw py::value_error(std::string(what) + ": expected a CUDA device, but got: " + d.str());
  return d.index;
}

Device device_of(const cuda::Stream& s) { return Device::cuda(s.device); }

std::string stream_repr(const cuda::Stream& s) {
  char handle[32];
  std::snprintf(handle, sizeof(handle), "%p", static_cast<void*>(s.handle));
  return "<dlcore.cuda.Stream device=cuda:" + std::to_string(s.device) + " cuda_stream=" + handle + ">";
}
}  // namespace

void bind_cuda(py::module_& m, py::class_<Tensor>& tensor) {
  m.def("is_available", &cuda::is_available, "True when a CUDA device can run this build.");
  m.def("device_count", &cuda::device_count);
  m.def("current_device", [] {
    cuda::ensure_usable();
    return cuda::current_device();
  }, "This thread's current CUDA device index.");
  m.def("get_device_name", [](const py::object& d) { return cuda::device_name(cuda_index(d, "get_device_name")); },
        "device"_a = py::none());
  m.def("get_device_capability", [](const py::object& d) { return cuda::device_capability(cuda_index(d, "get_device_capability")); },
        "device"_a = py::none());
  m.def("set_device", [](const py::object& device) {
    const int index = cuda_index(device, "set_device");
    if (index >= 0) cuda::set_device(index);
  }, "device"_a, "Sets this thread's current CUDA device (a negative index or None is a no-op, as in torch).");
  m.def("synchronize", [](const py::object& device) { cuda::synchronize(cuda_index(device, "synchronize")); },
        "device"_a = py::none(), "Waits for all queued work on the device; raises errors kernels recorded.");
  m.def("memory_allocated", [](const py::object& d) { return cuda::memory_allocated(cuda_index(d, "memory_allocated")); },
        "device"_a = py::none(), "Bytes held by live CUDA tensors on the device.");
  m.def("max_memory_allocated", [](const py::object& d) { return cuda::max_memory_allocated(cuda_index(d, "max_memory_allocated")); },
        "device"_a = py::none(), "Peak of memory_allocated since the last reset.");
  m.def("memory_reserved", [](const py::object& d) { return cuda::memory_reserved(cuda_index(d, "memory_reserved")); },
        "device"_a = py::none(), "Bytes obtained from the driver on the device (live and cached).");
  m.def("reset_peak_memory_stats", [](const py::object& d) { cuda::reset_peak_memory_stats(cuda_index(d, "reset_peak_memory_stats")); },
        "device"_a = py::none());
  m.def("empty_cache", &cuda::empty_cache, "Returns cached, unused blocks to the driver.");
  m.def("is_current_stream_capturing", &cuda::is_capturing, "True while a CUDAGraph is being captured.");

  py::class_<cuda::Stream>(m, "Stream", "A CUDA stream of one device (torch.cuda.Stream): work on different streams may "
                                        "run concurrently; order them with events or wait_stream.")
      .def(py::init([](const py::object& device, int) { return cuda::stream_from_pool(cuda_index(device, "Stream")); }),
           "device"_a = py::none(), "priority"_a = 0)
      .def_property_readonly("device", &device_of)
      .def_property_readonly("cuda_stream", [](const cuda::Stream& s) { return reinterpret_cast<uintptr_t>(s.handle); })
      .def_property_readonly("priority", [](const cuda::Stream&) { return 0; })
      .def("query", &cuda::stream_query, "True when all work queued on the stream has completed.")
      .def("synchronize", &cuda::stream_synchronize, "Waits for all work queued on the stream.")
      .def("wait_stream", &cuda::stream_wait_stream, "stream"_a, "Work queued later on this stream waits for `stream`'s queued work.")
      .def("wait_event", [](const cuda::Stream& s, cuda::Event& e) { e.wait(s); }, "event"_a)
      .def("record_event", [](const cuda::Stream& s, py::object event) {
        if (event.is_none()) event = py::type::of<cuda::Event>()();
        event.cast<cuda::Event&>().record(s);
        return event;
      }, "event"_a = py::none())
      .def("__eq__", [](const cuda::Stream& a, const py::object& b) {
        return py::isinstance<cuda::Stream>(b) && a == b.cast<cuda::Stream>();
      })
      .def("__hash__", [](const cuda::Stream& s) { return py::hash(py::make_tuple(reinterpret_cast<uintptr_t>(s.handle), s.device)); })
      .def("__repr__", &stream_repr);

  py::class_<cuda::Event>(m, "Event", "A CUDA event (torch.cuda.Event): a marker in a stream to wait for, query or time.")
      .def(py::init([](bool enable_timing, bool blocking, bool interprocess) {
        if (interprocess) throw std::runtime_error("Event: interprocess events are not supported by dlcore");
        return std::make_unique<cuda::Event>(enable_timing, blocking);
      }), "enable_timing"_a = false, "blocking"_a = false, "interprocess"_a = false)
      .def("record", [](cuda::Event& e, const py::object& stream) {
        e.record(stream.is_none() ? cuda::current_stream() : stream.cast<cuda::Stream>());
      }, "stream"_a = py::none())
      .def("wait", [](cuda::Event& e, const py::object& stream) {
        e.wait(stream.is_none() ? cuda::current_stream() : stream.cast<cuda::Stream>());
      }, "stream"_a = py::none())
      .def("query", &cuda::Event::query)
      .def("synchronize", &cuda::Event::synchronize)
      .def("elapsed_time", &cuda::Event::elapsed_time, "end_event"_a, "Milliseconds from this event to end_event.")
      .def_property_readonly("device", [](const cuda::Event& e) -> py::object {
        return e.recorded() ? py::cast(Device::cuda(e.device())) : py::none();
      });

  m.def("current_stream", [](const py::object& d) { return cuda::current_stream(cuda_index(d, "current_stream")); },
        "device"_a = py::none(), "This thread's current stream of the device.");
  m.def("default_stream", [](const py::object& d) { return cuda::default_stream(cuda_index(d, "default_stream")); },
        "device"_a = py::none(), "The device's default stream.");
  m.def("set_stream", &cuda::set_current_stream, "stream"_a, "Makes `stream` the current stream of its device on this thread.");

  tensor.def("record_stream", [](const Tensor& x, const cuda::Stream& s) {
    if (!x.is_cuda()) throw std::runtime_error("record_stream: expected a CUDA tensor, got one on " + x.device().str());
    if (x.device().index != s.device)
      throw std::runtime_error("record_stream: the tensor is on " + x.device().str() + " and the stream on cuda:" +
                               std::to_string(s.device));
    if (x.storage()->data != nullptr) cuda::record_stream(x.storage()->data, s);
  }, "stream"_a, "Marks the tensor's memory as used by `stream`, so it is not reused before that stream's "
                  "queued work completes.");

  py::class_<cuda::Graph>(m, "CUDAGraph", "A captured sequence of GPU work, replayed with one launch (see dl.cuda.graph).")
      .def(py::init<>())
      .def("capture_begin", &cuda::Graph::capture_begin)
      .def("capture_end", &cuda::Graph::capture_end)
      .def("capture_abort", &cuda::Graph::capture_abort)
      .def("replay", &cuda::Graph::replay)
      .def("reset", &cuda::Graph::reset)
      .def_property_readonly("captured", &cuda::Graph::captured);
#if DLCORE_WITH_CUDA
  m.attr("built_with_cuda") = true;
#else
  m.attr("built_with_cuda") = false;
#endif
}
}  // namespace dlcore::bindings
