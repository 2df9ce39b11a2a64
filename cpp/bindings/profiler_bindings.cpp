// Binds the profiler's recorder (cpp/include/dlcore/profiler.h) as dlcore._C.profiler: start/stop a
// session, open/close record_function ranges, and the recorded events. dlcore.profiler builds
// torch.profiler's API (profile, schedule, key_averages, Chrome traces) on top of it.
#include <pybind11/stl.h>

#include "bindings.h"
#include "dlcore/profiler.h"

namespace dlcore::bindings {

void bind_profiler(py::module_& m) {
  using namespace profiler;
  py::enum_<EventKind>(m, "EventKind")
      .value("Op", EventKind::Op)
      .value("Backward", EventKind::Backward)
      .value("OptimizerStep", EventKind::OptimizerStep)
      .value("UserRange", EventKind::UserRange);
  py::class_<Event>(m, "Event", "One recorded event; times are nanoseconds since the session started.")
      .def_readonly("name", &Event::name)
      .def_readonly("kind", &Event::kind)
      .def_readonly("start_ns", &Event::start_ns)
      .def_readonly("end_ns", &Event::end_ns)
      .def_readonly("thread", &Event::thread)
      .def_readonly("parent", &Event::parent)
      .def_readonly("input_shapes", &Event::input_shapes)
      .def_readonly("device", &Event::device)
      .def_readonly("device_us", &Event::device_us);
  py::class_<Handle>(m, "RangeHandle", "An open record_function range.");
  m.def("start", [](bool record_shapes, bool cuda) { start(SessionOptions{record_shapes, cuda}); },
        py::arg("record_shapes"), py::arg("cuda"));
  m.def("stop", [] {
    std::vector<Event> events;
    {
      py::gil_scoped_release no_gil;  // waiting for CUDA events must not block other Python threads
      events = stop();
    }
    return events;
  });
  m.def("is_running", &is_running);
  m.def("begin_range", [](const std::string& name) { return begin(Label{name, EventKind::UserRange}, Inputs{}); },
        py::arg("name"));
  m.def("end_range", [](const Handle& handle) { end(handle); }, py::arg("handle"));
}

}  // namespace dlcore::bindings
