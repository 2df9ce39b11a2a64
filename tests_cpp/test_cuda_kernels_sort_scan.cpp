// Tests of the CUDA sorting and scan kernels against the CPU backend: sort permutations exactly equal
// (stable ties, NaN placement, both orders, one long row and many short rows, float32, int64, bool
// and bfloat16), topk's first k, running sums and products (the thread-per-row and block-per-row
// paths, int64 for integers), and cumprod's zero-aware gradient.
#include <cmath>
#include <limits>
#include <vector>

#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_vector;

struct RowsCase {
  int64_t rows, n;
};
// Short rows (one merge pass, or none), rows past a power of two, and one long row of many passes.
const RowsCase kCases[] = {{1, 1}, {3, 2}, {17, 5}, {4, 33}, {2, 300}, {1, 4099}};

// Values with many ties: quantised to a few levels, some NaN.
std::vector<float> tied_values(int64_t n, uint32_t seed) {
  std::vector<float> x = random_vector(static_cast<size_t>(n), seed, -4.0f, 4.0f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = i % 11 == 3 ? std::numeric_limits<float>::quiet_NaN() : std::round(x[i]);
  return x;
}

template <class T>
void expect_same_sort(DType dtype, const std::vector<T>& x, const RowsCase& c, const char* what) {
  DeviceBuffer<T> dx(x);
  const size_t total = static_cast<size_t>(c.rows * c.n);
  DeviceBuffer<int64_t> didx(total);
  for (SortOrder order : {SortOrder::Ascending, SortOrder::Descending}) {
    std::vector<int64_t> idx(total);
    kernels::cpu::sort_rows(dtype, x.data(), c.rows, c.n, order, idx.data());
    kernels::cuda::sort_rows(dtype, dx.get(), c.rows, c.n, order, didx.get());
    EXPECT_EQ(didx.download(), idx) << what << " rows=" << c.rows << " n=" << c.n
                                    << (order == SortOrder::Ascending ? " ascending" : " descending");
  }
}

TEST(CudaKernelsSortScan, SortMatchesTheCpuPermutation) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 1;
  for (const RowsCase& c : kCases) {
    const std::vector<float> x = tied_values(c.rows * c.n, seed++);
    expect_same_sort(DType::Float32, x, c, "float32");
    std::vector<int64_t> ints(x.size());
    std::vector<BFloat16> halves(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      ints[i] = std::isnan(x[i]) ? int64_t{1} << 40 : static_cast<int64_t>(x[i]) * 1000003;
      halves[i] = BFloat16(x[i] * 0.37f);
    }
    expect_same_sort(DType::Int64, ints, c, "int64");
    expect_same_sort(DType::BFloat16, halves, c, "bfloat16");
    std::vector<uint8_t> bools(x.size());
    for (size_t i = 0; i < x.size(); ++i) bools[i] = x[i] > 0.0f ? 1 : 0;
    expect_same_sort(DType::Bool, bools, c, "bool");
  }
}

TEST(CudaKernelsSortScan, TopkIsTheSortsFirstColumns) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 50;
  for (const RowsCase& c : kCases)
    for (int64_t k : {int64_t{1}, (c.n + 1) / 2, c.n}) {
      const std::vector<float> x = tied_values(c.rows * c.n, seed++);
      DeviceBuffer<float> dx(x);
      DeviceBuffer<int64_t> dtop(static_cast<size_t>(c.rows * k));
      for (SortOrder order : {SortOrder::Ascending, SortOrder::Descending}) {
        std::vector<int64_t> top(static_cast<size_t>(c.rows * k));
        kernels::cpu::topk_rows(DType::Float32, x.data(), c.rows, c.n, k, order, top.data());
        kernels::cuda::topk_rows(DType::Float32, dx.get(), c.rows, c.n, k, order, dtop.get());
        EXPECT_EQ(dtop.download(), top) << "rows=" << c.rows << " n=" << c.n << " k=" << k;
      }
    }
}

TEST(CudaKernelsSortScan, RunningSumsAndProducts) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 100;
  // n = 5 and 33 take a thread per row, 300 and 4099 a block scanning tiles of 256.
  for (const RowsCase& c : kCases)
    for (ScanOp op : {ScanOp::Sum, ScanOp::Product}) {
      const size_t total = static_cast<size_t>(c.rows * c.n);
      // Products of factors near 1 stay finite over 4099 steps.
      const auto x = op == ScanOp::Sum ? random_vector(total, seed++) : random_vector(total, seed++, 0.999f, 1.001f);
      DeviceBuffer<float> dx(x), dy(total);
      std::vector<float> y(total);
      kernels::cpu::scan_rows(op, DType::Float32, x.data(), y.data(), c.rows, c.n);
      kernels::cuda::scan_rows(op, DType::Float32, dx.get(), dy.get(), c.rows, c.n);
      // Both accumulate in double and round once; only the order of the double additions differs.
      EXPECT_TRUE(all_close(dy.download(), y, 1e-6, 1e-3)) << "float32 rows=" << c.rows << " n=" << c.n;

      std::vector<int32_t> ints(total);
      for (size_t i = 0; i < total; ++i)
        ints[i] = op == ScanOp::Sum ? static_cast<int32_t>(x[i] * 1000) : 1 + (i % 7 == 0);
      DeviceBuffer<int32_t> dints(ints);
      DeviceBuffer<int64_t> dsums(total);
      std::vector<int64_t> sums(total);
      kernels::cpu::scan_rows(op, DType::Int32, ints.data(), sums.data(), c.rows, c.n);
      kernels::cuda::scan_rows(op, DType::Int32, dints.get(), dsums.get(), c.rows, c.n);
      EXPECT_EQ(dsums.download(), sums) << "int32 rows=" << c.rows << " n=" << c.n;
    }
}

TEST(CudaKernelsSortScan, CumprodGradientWithZeros) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 200;
  for (const RowsCase& c : kCases) {
    const size_t total = static_cast<size_t>(c.rows * c.n);
    std::vector<double> x(total), g(total), y(total), gx(total);
    const auto u = random_vector(total, seed++, 0.5f, 1.5f), v = random_vector(total, seed++);
    for (size_t i = 0; i < total; ++i) {
      x[i] = i % 13 == 4 || i % 29 == 9 ? 0.0 : u[i];  // rows with no, one and several zeros
      g[i] = v[i];
    }
    kernels::cpu::scan_rows(ScanOp::Product, DType::Float64, x.data(), y.data(), c.rows, c.n);
    kernels::cpu::cumprod_backward_rows(DType::Float64, x.data(), y.data(), g.data(), gx.data(), c.rows, c.n);
    DeviceBuffer<double> dx(x), dy(y), dg(g), dgx(total);
    kernels::cuda::cumprod_backward_rows(DType::Float64, dx.get(), dy.get(), dg.get(), dgx.get(), c.rows, c.n);
    EXPECT_EQ(dgx.download(), gx) << "rows=" << c.rows << " n=" << c.n;  // the same sequential formula
  }
}

}  // namespace
}  // namespace dlcore
