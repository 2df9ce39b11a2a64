// Tests of the CUDA advanced-indexing kernels against the CPU ones: index_gather and index_scatter
// (assign at distinct positions; add and multiply with repeated positions, through atomics) over
// strided iteration spaces for all 8 dtypes, and nonzero across block boundaries (the scans).
#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "index_test_cases.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::DeviceBuffer;
using testing::index_cases;
using testing::IndexCase;
using testing::random_values;
using testing::values_match;

// Atomic float additions and multiplications land in any order: float32/float64 differ from the
// CPU's sequential order by a few ulps of the sum; 16-bit floats round after every write, so a
// different order can move the result by an ulp of theirs at each of a few repeats.
template <class T>
double combine_tolerance() {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) return 5e-2;
  else if constexpr (std::is_floating_point_v<T>) return 1e-5;
  else return 0;
}

template <class T>
void compare_with_cpu(DType dtype) {
  uint32_t seed = 11;
  for (bool distinct : {true, false}) {
    for (const IndexCase& c : index_cases(distinct, seed++)) {
      const auto data = random_values<T>(c.data_size, seed++);
      const auto other = random_values<T>(c.other_size, seed++);
      DeviceBuffer<int64_t> doffsets(c.offsets);
      if (c.it.other_strides[0] != 0) {  // a broadcast operand is never a gather's output
        DeviceBuffer<testing::Element<T>> ddata(data), dout(c.other_size);
        std::vector<testing::Element<T>> out(c.other_size);
        kernels::cuda::index_gather(dtype, ddata.get(), doffsets.get(), dout.get(), c.it);
        kernels::cpu::index_gather(dtype, data.data(), c.offsets.data(), out.data(), c.it);
        EXPECT_TRUE(values_match(dout.download(), out, 0)) << c.name << " gather " << dtype_name(dtype);
      }
      for (ScatterMode mode : {ScatterMode::Assign, ScatterMode::Add, ScatterMode::Multiply}) {
        if (mode == ScatterMode::Assign && !distinct) continue;
        DeviceBuffer<testing::Element<T>> ddata(data), dother(other);
        std::vector<testing::Element<T>> expected = data;
        kernels::cuda::index_scatter(dtype, ddata.get(), doffsets.get(), dother.get(), c.it, mode);
        kernels::cpu::index_scatter(dtype, expected.data(), c.offsets.data(), other.data(), c.it, mode);
        const double tol = mode == ScatterMode::Assign ? 0 : combine_tolerance<T>();
        EXPECT_TRUE(values_match(ddata.download(), expected, tol))
            << c.name << " scatter mode " << static_cast<int>(mode) << " " << dtype_name(dtype);
      }
    }
  }
}

TEST(CudaKernelsIndexing, GatherAndScatterMatchCpuEveryDtype) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (DType dtype : testing::kAllDTypes)
    visit_dtype(dtype, [&](auto tag) { compare_with_cpu<typename decltype(tag)::type>(dtype); });
}

TEST(CudaKernelsIndexing, NonzeroMatchesCpuAcrossBlocks) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  // Sizes below one tile, at tile and block boundaries, and over many blocks; a sparse and a dense mask.
  const std::vector<std::vector<int64_t>> shapes = {{1}, {255}, {257}, {3, 1025}, {5, 7, 41}, {12000}};
  uint32_t seed = 5;
  for (const auto& shape : shapes) {
    for (uint32_t density : {3u, 70u}) {  // percent of nonzeros
      NonzeroShape s;
      s.ndim = static_cast<int>(shape.size());
      for (int d = 0; d < s.ndim; ++d) s.sizes[d] = shape[d];
      const int64_t n = s.numel();
      auto noise = testing::random_indices(n, seed++, 100);
      std::vector<float> x(n);
      int64_t count = 0;
      for (int64_t i = 0; i < n; ++i) {
        x[i] = noise[i] < density ? (i % 5 == 0 ? NAN : 1.0f + static_cast<float>(i % 7)) : (i % 2 ? -0.0f : 0.0f);
        count += noise[i] < density;
      }
      std::vector<int64_t> expected(count * s.ndim);
      kernels::cpu::nonzero(DType::Float32, x.data(), expected.data(), s);
      DeviceBuffer<float> dx(x);
      DeviceBuffer<int64_t> dcount(1);
      kernels::cuda::nonzero_count(DType::Float32, dx.get(), dcount.get(), s);
      EXPECT_EQ(dcount.download()[0], count) << "n=" << n;
      DeviceBuffer<int64_t> dout(std::max<int64_t>(1, count * s.ndim));
      kernels::cuda::nonzero(DType::Float32, dx.get(), dout.get(), s);
      std::vector<int64_t> actual = dout.download();
      actual.resize(count * s.ndim);
      EXPECT_EQ(actual, expected) << "n=" << n << " density " << density;
    }
  }
  // Another dtype through the same scans: bool.
  const std::vector<uint8_t> mask = {0, 1, 1, 0, 1};
  NonzeroShape s;
  s.ndim = 1;
  s.sizes[0] = 5;
  DeviceBuffer<uint8_t> dmask(mask);
  DeviceBuffer<int64_t> dout(3);
  kernels::cuda::nonzero(DType::Bool, dmask.get(), dout.get(), s);
  EXPECT_EQ(dout.download(), (std::vector<int64_t>{1, 2, 4}));
}

}  // namespace
}  // namespace dlcore
