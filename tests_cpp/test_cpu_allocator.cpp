// The CPU allocator's cache of large blocks (tensor/cpu_allocator.h): a freed large block is handed
// to the next allocation of its size class, small ones are not cached, the cache stays within its
// limit, empty_cache frees everything, and every block is 64-byte aligned.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "dlcore/tensor.h"
#include "tensor/cpu_allocator.h"

namespace dlcore {
namespace {

namespace ca = cpu_allocator;

TEST(CpuAllocator, SizeClassesAreAlignedWithBoundedSlack) {
  EXPECT_EQ(ca::rounded_size(1), 64u);
  EXPECT_EQ(ca::rounded_size(ca::kCachedMin), ca::kCachedMin);
  for (size_t n : {size_t{1} << 20, (size_t{3} << 20) + 5, (size_t{100} << 20) + 1}) {
    const size_t r = ca::rounded_size(n);
    EXPECT_GE(r, n);
    EXPECT_EQ(r % 64, 0u);
    EXPECT_LE(r - n, n / 16 + 64) << n;
  }
}

TEST(CpuAllocator, LargeBlocksAreReusedSmallOnesAreNot) {
  ca::empty_cache();
  const size_t big = size_t{4} << 20;
  void* a = ca::allocate(big);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  ca::deallocate(a, big);
  EXPECT_EQ(ca::cached_bytes(), ca::rounded_size(big));
  void* b = ca::allocate(big - 100);  // same size class
  EXPECT_EQ(a, b);
  EXPECT_EQ(ca::cached_bytes(), 0u);
  ca::deallocate(b, big - 100);
  void* small = ca::allocate(4096);
  ca::deallocate(small, 4096);
  EXPECT_EQ(ca::cached_bytes(), ca::rounded_size(big));  // the small block went back to malloc
  ca::empty_cache();
  EXPECT_EQ(ca::cached_bytes(), 0u);
}

TEST(CpuAllocator, CacheNeverHoldsMoreThanItsLimit) {
  ca::empty_cache();
  const size_t block = size_t{64} << 20;
  std::vector<void*> blocks;
  for (size_t held = 0; held <= ca::kCacheLimit + block; held += block) blocks.push_back(ca::allocate(block));
  for (void* p : blocks) ca::deallocate(p, block);
  EXPECT_LE(ca::cached_bytes(), ca::kCacheLimit);
  EXPECT_GT(ca::cached_bytes(), ca::kCacheLimit - block);
  ca::empty_cache();
}

TEST(CpuAllocator, TensorsRecycleTheirStorage) {
  ca::empty_cache();
  const void* first = nullptr;
  {
    Tensor t = Tensor::zeros({1 << 20});  // 4 MiB
    first = t.raw_data();
  }
  Tensor again = Tensor::empty({1 << 20});
  EXPECT_EQ(again.raw_data(), first);
  Tensor zeros = Tensor::zeros({1 << 20});  // a recycled block is still zeroed by zeros()
  for (int64_t i = 0; i < (1 << 20); i += 4099) ASSERT_EQ(zeros.data<float>()[i], 0.0f);
}

}  // namespace
}  // namespace dlcore
