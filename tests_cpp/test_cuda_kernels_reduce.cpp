// Tests of the CUDA reductions against the CPU backend: the reduce kernel for every op on strided
// layouts (warp and block paths, ties, NaN, empty reductions, float32/int64/uint8), a long accurate
// sum, and the gradients of broadcast inputs (sum_to_shape) for bias-like and general shapes.
#include <cmath>
#include <limits>

#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "gradcheck.h"
#include "kernel_test_util.h"
#include "ops/op_util.h"
#include "reduce_test_cases.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_vector;

TEST(CudaKernelsReduce, IncrementInt64) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  DeviceBuffer<int64_t> counter(std::vector<int64_t>{int64_t{1} << 40});
  for (int i = 0; i < 3; ++i) kernels::cuda::increment_int64(counter.get(), 2);
  EXPECT_EQ(counter.download(), std::vector<int64_t>{(int64_t{1} << 40) + 6});
}

// Runs one op on both backends over layout c and compares values (within tol) and indices (exactly).
template <class T, class Out>
void compare_backends(const testing::ReduceCase& c, const std::vector<T>& x, ReduceOp op, double tol) {
  const bool extremum = op == ReduceOp::Max || op == ReduceOp::Min;
  if (extremum && c.storage_size() == 0) return;  // the op layer raises before an empty max
  DeviceBuffer<T> dx(x);
  ReduceIter host = testing::make_reduce_iter(c, x.data()), device = testing::make_reduce_iter(c, dx.get());
  std::vector<Out> values(host.outputs);
  std::vector<int64_t> indices(host.outputs);
  DeviceBuffer<Out> dvalues(host.outputs);
  DeviceBuffer<int64_t> dindices(host.outputs);
  host.values = values.data();
  device.values = dvalues.get();
  if (extremum) {
    host.indices = indices.data();
    device.indices = dindices.get();
  }
  kernels::cpu::reduce(op, DTypeOf<T>::value, host);
  kernels::cuda::reduce(op, DTypeOf<T>::value, device);
  const auto got = dvalues.download();
  for (size_t o = 0; o < values.size(); ++o) {
    const double expected = static_cast<double>(values[o]);
    if (std::isnan(expected)) {  // a NaN in the reduced slice: both backends must propagate it
      ASSERT_TRUE(std::isnan(static_cast<double>(got[o]))) << "output " << o << " of " << values.size();
      continue;
    }
    ASSERT_NEAR(static_cast<double>(got[o]), static_cast<double>(values[o]), tol * (1.0 + std::fabs(static_cast<double>(values[o]))))
        << "output " << o << " of " << values.size();
  }
  if (extremum) {
    EXPECT_EQ(dindices.download(), indices);
  }
}

TEST(CudaKernelsReduce, EveryOpOnStridedLayoutsMatchesTheCpu) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 1;
  for (const testing::ReduceCase& c : testing::reduce_cases()) {
    auto x = random_vector(c.storage_size(), seed++, 0.5f, 1.5f);
    if (x.size() > 40) {  // ties and NaN: the first index must win on both backends
      x[3] = x[30] = 2.0f;
      x[37] = std::numeric_limits<float>::quiet_NaN();
    }
    // Both accumulate in double and round once; the order differs.
    compare_backends<float, float>(c, x, ReduceOp::Sum, 1e-6);
    compare_backends<float, float>(c, x, ReduceOp::Max, 0.0);
    compare_backends<float, float>(c, x, ReduceOp::Min, 0.0);
    if (c.sizes.back() < 1000) compare_backends<float, float>(c, x, ReduceOp::Prod, 1e-6);
    const auto xi = testing::random_indices(c.storage_size(), seed++, 1000);
    compare_backends<int64_t, int64_t>(c, xi, ReduceOp::Sum, 0.0);
    compare_backends<int64_t, int64_t>(c, xi, ReduceOp::Max, 0.0);
    std::vector<uint8_t> xb(xi.size());
    for (size_t i = 0; i < xi.size(); ++i) xb[i] = static_cast<uint8_t>(xi[i] % 2);
    compare_backends<uint8_t, uint8_t>(c, xb, ReduceOp::Min, 0.0);
  }
}

TEST(CudaKernelsReduce, LongFloatSumIsAccurate) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const std::vector<float> x(10000000, 0.1f);
  DeviceBuffer<float> dx(x), dy(1);
  ReduceIter it = testing::make_reduce_iter({{10000000}, {1}, {true}}, dx.get());
  it.values = dy.get();
  kernels::cuda::reduce(ReduceOp::Sum, DType::Float32, it);
  EXPECT_FLOAT_EQ(dy.download()[0], static_cast<float>(10000000 * static_cast<double>(0.1f)));
}

// Contiguous strides of `sizes` with 0 where `reduced` marks a dimension.
TEST(CudaKernelsReduce, BroadcastGradientsMatchTheCpu) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  // sum_to_shape (the gradient of a broadcast input) runs the reduce kernel over the broadcast dims.
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{64, 120}, {120}},                       // Linear bias
      {{64, 6, 28, 28}, {1, 6, 1, 1}},          // conv bias
      {{3, 7, 11}, {3, 1, 11}},                 // middle dimension
      {{5, 9}, {}},                             // to a scalar
      {{100000}, {1}},                          // long reduction
      {{20000, 2}, {2}},                        // long column sums, few outputs
  };
  uint32_t seed = 40;
  for (const auto& [from, to] : cases) {
    const Tensor grad = testing::tensor_from(random_vector(shape_numel(from), seed++), from);
    const Tensor on_cpu = ops::sum_to_shape(grad, to);
    const Tensor on_gpu = ops::sum_to_shape(grad.to(Device::cuda()), to);
    EXPECT_EQ(on_gpu.shape(), to);
    EXPECT_TRUE(all_close(testing::values_of(on_gpu.to(Device::cpu())), testing::values_of(on_cpu), 1e-5))
        << shape_str(from) << " -> " << shape_str(to);
  }
}

}  // namespace
}  // namespace dlcore
