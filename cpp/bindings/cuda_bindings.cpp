// dlcore.cuda: availability, synchronisation, the caching allocator's statistics and CUDA graphs.
#include "bindings.h"
#include "dlcore/cuda_runtime.h"

namespace dlcore::bindings {
void bind_cuda(py::module_& m) {
  m.def("is_available", &cuda::is_available, "True when a CUDA device can run this build.");
  m.def("device_count", &cuda::device_count);
  m.def("synchronize", &cuda::synchronize, "Waits for queued GPU work; raises errors kernels recorded.");
  m.def("memory_allocated", &cuda::memory_allocated, "Bytes held by live CUDA tensors.");
  m.def("max_memory_allocated", &cuda::max_memory_allocated, "Peak of memory_allocated since the last reset.");
  m.def("memory_reserved", &cuda::memory_reserved, "Bytes obtained from the driver (live and cached).");
  m.def("reset_peak_memory_stats", &cuda::reset_peak_memory_stats);
  m.def("empty_cache", &cuda::empty_cache, "Returns cached, unused blocks to the driver.");
  m.def("is_current_stream_capturing", &cuda::is_capturing, "True while a CUDAGraph is being captured.");
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
