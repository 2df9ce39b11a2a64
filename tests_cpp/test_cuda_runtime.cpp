// Tests of dlcore's CUDA runtime: the caching allocator's reuse and statistics, copies in both
// directions, memset, and the error paths (unknown pointers, errors recorded by kernels).
#include <gtest/gtest.h>

#include <cstdint>
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

}  // namespace
}  // namespace dlcore
