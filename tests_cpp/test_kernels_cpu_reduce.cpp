// Tests of the CPU reduce kernel against naive double loops over the logical indices: sum (and
// mean's scale), prod, max and min with their first indices, on strided float32 and int64 inputs,
// a long sum that must stay accurate, NaN propagation, and empty reductions.
#include <cmath>
#include <limits>

#include "dlcore/kernels.h"
#include "kernel_test_util.h"
#include "reduce_test_cases.h"

namespace dlcore {
namespace {

using testing::make_reduce_iter;
using testing::random_vector;
using testing::reduce_cases;
using testing::ReduceCase;

// The reference: for output o (row-major over the kept dimensions), the reduction over the reduced
// dimensions (row-major) of x, in double; `index` receives the first extreme's reduced index.
template <class T>
double reference(const ReduceCase& c, const std::vector<T>& x, ReduceOp op, int64_t o, int64_t& index) {
  std::vector<int64_t> kept, red;
  for (size_t d = 0; d < c.sizes.size(); ++d) (c.reduced[d] ? red : kept).push_back(static_cast<int64_t>(d));
  int64_t base = 0;
  for (int i = static_cast<int>(kept.size()) - 1; i >= 0; --i) {
    base += (o % c.sizes[kept[i]]) * c.strides[kept[i]];
    o /= c.sizes[kept[i]];
  }
  int64_t extent = 1;
  for (int64_t d : red) extent *= c.sizes[d];
  double acc = op == ReduceOp::Prod ? 1.0 : 0.0;
  index = -1;
  for (int64_t r = 0; r < extent; ++r) {
    int64_t offset = base, rest = r;
    for (int i = static_cast<int>(red.size()) - 1; i >= 0; --i) {
      offset += (rest % c.sizes[red[i]]) * c.strides[red[i]];
      rest /= c.sizes[red[i]];
    }
    const double v = static_cast<double>(x[offset]);
    if (op == ReduceOp::Sum) acc += v;
    else if (op == ReduceOp::Prod) acc *= v;
    else if (index < 0 || (op == ReduceOp::Max ? v > acc : v < acc)) {
      acc = v;
      index = r;
    }
  }
  return acc;
}

template <class T, class Out>
void check_case(const ReduceCase& c, const std::vector<T>& x, ReduceOp op, double tol) {
  ReduceIter it = make_reduce_iter(c, x.data());
  std::vector<Out> values(it.outputs, Out(-7));
  std::vector<int64_t> indices(it.outputs, -7);
  it.values = values.data();
  const bool extremum = op == ReduceOp::Max || op == ReduceOp::Min;
  if (extremum && it.reduced == 0) return;  // the op layer raises before an empty max
  if (extremum) it.indices = indices.data();
  kernels::cpu::reduce(op, DTypeOf<T>::value, it);
  for (int64_t o = 0; o < it.outputs; ++o) {
    int64_t index = 0;
    const double want = reference(c, x, op, o, index);
    ASSERT_NEAR(static_cast<double>(values[o]), want, tol * (1.0 + std::fabs(want))) << "output " << o;
    if (extremum) {
      ASSERT_EQ(indices[o], index) << "output " << o;
    }
  }
}

TEST(KernelsCpuReduce, EveryOpOnStridedLayoutsMatchesNaiveLoops) {
  uint32_t seed = 1;
  for (const ReduceCase& c : reduce_cases()) {
    const auto x = random_vector(c.storage_size(), seed++, 0.5f, 1.5f);  // products stay finite
    check_case<float, float>(c, x, ReduceOp::Sum, 1e-6);  // double accumulation, one rounding
    check_case<float, float>(c, x, ReduceOp::Max, 0.0);
    check_case<float, float>(c, x, ReduceOp::Min, 0.0);
    if (c.sizes.back() < 1000) check_case<float, float>(c, x, ReduceOp::Prod, 1e-6);
    auto xi = testing::random_indices(c.storage_size(), seed++, 1000);
    if (!xi.empty()) xi[0] = int64_t{1} << 40;  // beyond 32 bits
    check_case<int64_t, int64_t>(c, xi, ReduceOp::Sum, 0.0);
    check_case<int64_t, int64_t>(c, xi, ReduceOp::Max, 0.0);
    check_case<int64_t, int64_t>(c, xi, ReduceOp::Min, 0.0);
  }
}

TEST(KernelsCpuReduce, EmptySumIsZeroProdIsOneAndMeanScales) {
  ReduceCase c{{4, 0}, {0, 1}, {false, true}};
  std::vector<float> values(4, -1.0f);
  ReduceIter it = make_reduce_iter(c, nullptr);
  it.values = values.data();
  kernels::cpu::reduce(ReduceOp::Sum, DType::Float32, it);
  EXPECT_EQ(values, std::vector<float>(4, 0.0f));
  kernels::cpu::reduce(ReduceOp::Prod, DType::Float32, it);
  EXPECT_EQ(values, std::vector<float>(4, 1.0f));

  const std::vector<float> x = {1, 2, 3, 4, 5, 6};
  ReduceCase rows{{2, 3}, {3, 1}, {false, true}};
  it = make_reduce_iter(rows, x.data());
  it.values = values.data();
  it.scale = 1.0 / 3.0;
  kernels::cpu::reduce(ReduceOp::Sum, DType::Float32, it);
  EXPECT_FLOAT_EQ(values[0], 2.0f);
  EXPECT_FLOAT_EQ(values[1], 5.0f);
}

TEST(KernelsCpuReduce, LongFloatSumIsAccurate) {
  const std::vector<float> x(10000000, 0.1f);  // torch: 999999.56 (the float 0.1 is 0.100000001490116)
  ReduceCase all{{10000000}, {1}, {true}};
  float y = 0.0f;
  ReduceIter it = make_reduce_iter(all, x.data());
  it.values = &y;
  kernels::cpu::reduce(ReduceOp::Sum, DType::Float32, it);
  EXPECT_FLOAT_EQ(y, static_cast<float>(10000000 * static_cast<double>(0.1f)));
}

TEST(KernelsCpuReduce, NanIsTheExtremeAndTheFirstOneWins) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> x = {1, 3, 3, 2,  0, nan, 7, nan,  2, 2, 2, 2};
  ReduceCase rows{{3, 4}, {4, 1}, {false, true}};
  for (ReduceOp op : {ReduceOp::Max, ReduceOp::Min}) {
    std::vector<float> values(3);
    std::vector<int64_t> indices(3);
    ReduceIter it = make_reduce_iter(rows, x.data());
    it.values = values.data();
    it.indices = indices.data();
    kernels::cpu::reduce(op, DType::Float32, it);
    EXPECT_TRUE(std::isnan(values[1]));
    EXPECT_EQ(indices, (std::vector<int64_t>{op == ReduceOp::Max ? 1 : 0, 1, 0}));
  }
}

TEST(KernelsCpuReduce, IncrementInt64) {
  int64_t counter = int64_t{1} << 40;
  kernels::cpu::increment_int64(&counter, 3);
  EXPECT_EQ(counter, (int64_t{1} << 40) + 3);
}

}  // namespace
}  // namespace dlcore
