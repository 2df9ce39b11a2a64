// Tests of dlcore's CUDA runtime: the caching allocator's reuse and statistics, copies in both
// directions, memset, the error paths (unknown pointers, errors recorded by kernels), devices and
// streams (the multi-device cases run on two GPUs or on the emulator, which reports two).
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"

namespace dlcore {
namespace {

TEST(CudaRuntime, DeviceIsUsable) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  EXPECT_GE(cuda::device_count(), 1);
  EXPECT_NO_THROW(cuda::ensure_usable());
}

TEST(CudaRuntime, CopiesRoundTripAndMemset) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  std::vector<int32_t> host(1001);
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<int32_t>(i * 7 - 300);
  testing::DeviceBuffer<int32_t> a(host), b(host.size());
  cuda::copy_device_to_device(b.get(), a.get(), host.size() * sizeof(int32_t));
  EXPECT_EQ(b.download(), host);
  cuda::memset_zero(a.get(), host.size() * sizeof(int32_t));
  EXPECT_EQ(a.download(), std::vector<int32_t>(host.size(), 0));
  cuda::synchronize();
}

TEST(CudaRuntime, AllocatorReusesFreedBlocks) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  cuda::synchronize();
  // Warm the cache with the sizes of one "training step", then repeat the step: no new memory.
  const size_t sizes[] = {4, 1000, 4096, 100000, size_t{3} << 20, size_t{9} << 20};
  auto step = [&] {
    std::vector<void*> blocks;
    for (size_t s : sizes) blocks.push_back(cuda::allocate(s));
    for (void* p : blocks) EXPECT_NE(p, nullptr);
    for (void* p : blocks) cuda::deallocate(p);
  };
  step();
  const size_t reserved = cuda::memory_reserved();
  const size_t allocated = cuda::memory_allocated();
  for (int i = 0; i < 50; ++i) step();
  EXPECT_EQ(cuda::memory_reserved(), reserved);
  EXPECT_EQ(cuda::memory_allocated(), allocated);
}

TEST(CudaRuntime, AllocatorStatistics) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const size_t before = cuda::memory_allocated();
  cuda::reset_peak_memory_stats();
  EXPECT_EQ(cuda::max_memory_allocated(), before);
  void* a = cuda::allocate(1000);             // rounds to 1024 bytes
  void* b = cuda::allocate(size_t{5} << 20);  // rounds to 6 MiB
  EXPECT_EQ(cuda::memory_allocated(), before + 1024 + (size_t{6} << 20));
  EXPECT_GE(cuda::memory_reserved(), cuda::memory_allocated());
  cuda::deallocate(b);
  EXPECT_EQ(cuda::memory_allocated(), before + 1024);
  EXPECT_EQ(cuda::max_memory_allocated(), before + 1024 + (size_t{6} << 20));
  cuda::reset_peak_memory_stats();
  EXPECT_EQ(cuda::max_memory_allocated(), before + 1024);
  cuda::deallocate(a);
  cuda::empty_cache();
  EXPECT_EQ(cuda::memory_reserved(), cuda::memory_allocated());
  EXPECT_EQ(cuda::allocate(0), nullptr);
  cuda::deallocate(nullptr);
}

TEST(CudaRuntime, UnknownPointerIsRejected) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  int host_value = 0;
  EXPECT_THROW(cuda::deallocate(&host_value), std::invalid_argument);
}

TEST(CudaRuntime, KernelRecordedErrorIsRaisedOnceBySynchronize) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const int64_t N = 3, C = 4;
  testing::DeviceBuffer<float> logits(std::vector<float>(N * C, 0.5f)), logp(N * C), loss(N);
  testing::DeviceBuffer<int64_t> target(std::vector<int64_t>{1, 4, 0});  // 4 is out of range
  kernels::cuda::cross_entropy_forward(logits.get(), target.get(), logp.get(), loss.get(), N, C,
                                       0.0f);
  try {
    cuda::synchronize();
    ADD_FAILURE() << "synchronize() did not report the bad target";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cross_entropy: target out of range"), std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(cuda::synchronize());  // reported once, then cleared
}

TEST(CudaRuntime, DeviceGuardSwitchesAndRestores) {
  if (cuda::device_count() < 2) GTEST_SKIP() << "needs two CUDA devices";
  ASSERT_EQ(cuda::current_device(), 0);
  {
    cuda::DeviceGuard guard(1);
    EXPECT_EQ(cuda::current_device(), 1);
    cuda::DeviceGuard keep(-1);  // "no index": stays
    EXPECT_EQ(cuda::current_device(), 1);
  }
  EXPECT_EQ(cuda::current_device(), 0);
  EXPECT_THROW(cuda::DeviceGuard(cuda::device_count()), std::runtime_error);
  EXPECT_THROW(cuda::set_device(-2), std::runtime_error);
}

TEST(CudaRuntime, PoolsArePerDeviceAndPerStream) {
  if (cuda::device_count() < 2) GTEST_SKIP() << "needs two CUDA devices";
  const size_t nbytes = size_t{5} << 20;
  void* on1 = nullptr;
  {
    cuda::DeviceGuard guard(1);
    const size_t before = cuda::memory_allocated(1);
    on1 = cuda::allocate(nbytes);
    EXPECT_EQ(cuda::memory_allocated(1), before + (size_t{6} << 20));
    cuda::deallocate(on1);
  }
  void* on0 = cuda::allocate(nbytes);  // device 0 never receives device 1's block
  EXPECT_NE(on0, on1);
  cuda::deallocate(on0);
  const cuda::Stream side = cuda::stream_from_pool(0);
  const cuda::Stream main_stream = cuda::current_stream(0);
  cuda::set_current_stream(side);
  void* again = cuda::allocate(nbytes);  // a block of the default stream's pool is not handed to `side`
  EXPECT_NE(again, on0);
  cuda::deallocate(again);
  cuda::set_current_stream(main_stream);
  void* reused = cuda::allocate(nbytes);
  EXPECT_EQ(reused, on0);
  cuda::deallocate(reused);
}

TEST(CudaRuntime, RecordStreamedBlockReturnsToItsOwnPool) {
  if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const size_t nbytes = size_t{7} << 20;
  const cuda::Stream side = cuda::stream_from_pool(0);
  void* block = cuda::allocate(nbytes);
  cuda::record_stream(block, side);
  cuda::deallocate(block);  // waits for an event on `side` before reuse
  cuda::stream_synchronize(side);
  void* next = cuda::allocate(nbytes);  // the event has completed: reused on the same stream
  EXPECT_EQ(next, block);
  cuda::deallocate(next);
  int host_value = 0;
  EXPECT_THROW(cuda::record_stream(&host_value, side), std::invalid_argument);
}

TEST(CudaRuntime, CopyBetweenDevices) {
  if (cuda::device_count() < 2) GTEST_SKIP() << "needs two CUDA devices";
  std::vector<int32_t> host(777);
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<int32_t>(i * 13 - 5000);
  testing::DeviceBuffer<int32_t> on0(host);
  std::vector<int32_t> back(host.size());
  {
    cuda::DeviceGuard guard(1);
    testing::DeviceBuffer<int32_t> on1(host.size());
    cuda::copy_between_devices(on1.get(), 1, on0.get(), 0, host.size() * sizeof(int32_t));
    back = on1.download();
  }
  EXPECT_EQ(back, host);
}

#ifdef DLCORE_CUDA_EMULATED
// The emulator refuses what a GPU without peer access would: a kernel handed another device's memory.
// The Python multi-device tests rely on it to catch an op that does not make its device current.
TEST(CudaRuntime, EmulatorRefusesKernelsOnAnotherDevicesMemory) {
  if (cuda::device_count() < 2) GTEST_SKIP() << "needs two CUDA devices";
  std::vector<float> host(64, -1.0f);
  std::unique_ptr<testing::DeviceBuffer<float>> x, y;
  {
    cuda::DeviceGuard guard(1);
    x = std::make_unique<testing::DeviceBuffer<float>>(host);
    y = std::make_unique<testing::DeviceBuffer<float>>(host.size());
  }
  try {
    kernels::cuda::relu_forward(x->get(), y->get(), static_cast<int64_t>(host.size()));
    ADD_FAILURE() << "a launch on device 0 with device 1's memory was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("illegal memory access"), std::string::npos) << e.what();
  }
  cuda::DeviceGuard guard(1);
  kernels::cuda::relu_forward(x->get(), y->get(), static_cast<int64_t>(host.size()));
  EXPECT_EQ(y->download(), std::vector<float>(host.size(), 0.0f));
  x.reset();
  y.reset();
}
#endif

}  // namespace
}  // namespace dlcore
