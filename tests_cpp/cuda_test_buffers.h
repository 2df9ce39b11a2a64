// Device memory for the CUDA kernel tests (test_cuda_*.cpp): a buffer from dlcore's caching
// allocator that uploads a host vector and downloads its contents, so each test reads as
// "upload, run the CUDA kernel, run the CPU kernel, compare".
#pragma once

#include <cstddef>
#include <vector>

#include "dlcore/cuda_runtime.h"

namespace dlcore::testing {

template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t n)
      : size_(n), data_(static_cast<T*>(cuda::allocate(n * sizeof(T)))) {}
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { cuda::deallocate(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& other) noexcept : size_(other.size_), data_(other.data_) {  // for vectors of buffers
    other.size_ = 0;
    other.data_ = nullptr;
  }

  T* get() const { return data_; }
  size_t size() const { return size_; }
  void upload(const std::vector<T>& host) {
    cuda::copy_host_to_device(data_, host.data(), host.size() * sizeof(T));
  }
  // Waits for the stream, so it also surfaces errors recorded by kernels.
  std::vector<T> download() const {
    std::vector<T> host(size_);
    cuda::copy_device_to_host(host.data(), data_, size_ * sizeof(T));
    return host;
  }

 private:
  size_t size_;
  T* data_;
};

}  // namespace dlcore::testing
