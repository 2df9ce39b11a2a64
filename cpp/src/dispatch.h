// The one place the op layer chooses a backend: DLCORE_DISPATCH(device, kernel, args...) calls
// kernels::cuda::kernel, with `device` made the current CUDA device (so the kernel's launches go to
// that device's current stream), or kernels::cpu::kernel. In a build without CUDA the CUDA branch is
// compiled out and raises instead, so no CUDA symbol is needed at link time.
#pragma once
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"

namespace dlcore {
[[noreturn]] void throw_no_cuda(const char* what);
}

#if DLCORE_WITH_CUDA
#define DLCORE_CUDA_ONLY(call) call
#else
#define DLCORE_CUDA_ONLY(call) ::dlcore::throw_no_cuda(#call)
#endif

#define DLCORE_DISPATCH(device, kernel, ...)                                  \
  do {                                                                        \
    if ((device).is_cuda()) {                                                 \
      ::dlcore::cuda::DeviceGuard dlcore_device_guard_((device).index);       \
      DLCORE_CUDA_ONLY(::dlcore::kernels::cuda::kernel(__VA_ARGS__));         \
    } else {                                                                  \
      ::dlcore::kernels::cpu::kernel(__VA_ARGS__);                            \
    }                                                                         \
  } while (0)
