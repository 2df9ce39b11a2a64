// Tests of the CPU advanced-indexing kernels against naive loops: index_gather and index_scatter
// (assign, add, multiply with repeated positions) over strided iteration spaces for every dtype,
// the modes' arithmetic (integer wrap-around, bool or/and, 16-bit rounding), and nonzero's order.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "dlcore/kernels.h"
#include "index_test_cases.h"

namespace dlcore {
namespace {

using testing::index_cases;
using testing::IndexCase;
using testing::random_values;
using testing::values_match;

// Coordinates of linear element i of it, and the three offsets they give.
void offsets_of(const IndexIter& it, int64_t i, int64_t* data, int64_t* offset, int64_t* other) {
  *data = *offset = *other = 0;
  for (int d = it.ndim - 1; d >= 0; --d) {
    const int64_t c = i % it.sizes[d];
    i /= it.sizes[d];
    *data += c * it.data_strides[d];
    *offset += c * it.offset_strides[d];
    *other += c * it.other_strides[d];
  }
}

// The modes' arithmetic written independently of the kernels' functors: integers in 64-bit
// unsigned arithmetic then truncated (two's complement wrap), floats in their opmath type.
template <class T>
T reference_combine(ScatterMode mode, T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return mode == ScatterMode::Add ? (a || b) : (a && b);
  } else if constexpr (std::is_integral_v<T>) {
    const uint64_t x = static_cast<uint64_t>(a), y = static_cast<uint64_t>(b);
    return static_cast<T>(mode == ScatterMode::Add ? x + y : x * y);
  } else {
    using C = opmath_t<T>;
    return static_cast<T>(mode == ScatterMode::Add ? static_cast<C>(a) + static_cast<C>(b)
                                                   : static_cast<C>(a) * static_cast<C>(b));
  }
}

template <class T>
void check_gather_and_scatter(DType dtype) {
  uint32_t seed = 1;
  for (bool distinct : {true, false}) {
    for (const IndexCase& c : index_cases(distinct, seed++)) {
      const auto data = random_values<T>(c.data_size, seed++);
      const auto other = random_values<T>(c.other_size, seed++);
      const int64_t n = c.it.numel();
      std::vector<testing::Element<T>> gathered(c.other_size), expected(c.other_size);
      kernels::cpu::index_gather(dtype, data.data(), c.offsets.data(), gathered.data(), c.it);
      std::vector<bool> written(c.other_size, false);
      for (int64_t i = 0; i < n; ++i) {
        int64_t d, o, t;
        offsets_of(c.it, i, &d, &o, &t);
        expected[t] = data[d + c.offsets[o]];
        written[t] = true;
      }
      for (int64_t t = 0; t < c.other_size; ++t)
        if (!written[t]) gathered[t] = expected[t];  // a broadcast "other" is not a gather output
      if (c.it.other_strides[0] != 0) {
        EXPECT_TRUE(values_match(gathered, expected, 0)) << c.name;
      }

      const ScatterMode modes[] = {ScatterMode::Assign, ScatterMode::Add, ScatterMode::Multiply};
      for (ScatterMode mode : modes) {
        if (mode == ScatterMode::Assign && !distinct) continue;  // which repeated write wins is unspecified
        std::vector<testing::Element<T>> actual = data, reference = data;
        kernels::cpu::index_scatter(dtype, actual.data(), c.offsets.data(), other.data(), c.it, mode);
        for (int64_t i = 0; i < n; ++i) {  // sequentially, in element order
          int64_t d, o, t;
          offsets_of(c.it, i, &d, &o, &t);
          auto& target = reference[d + c.offsets[o]];
          target = mode == ScatterMode::Assign ? static_cast<T>(other[t]) : reference_combine<T>(mode, target, other[t]);
        }
        EXPECT_TRUE(values_match(actual, reference, 0)) << c.name << " mode " << static_cast<int>(mode);
      }
    }
  }
}

TEST(KernelsCpuIndexing, GatherAndScatterEveryDtype) {
  for (DType dtype : testing::kAllDTypes)
    visit_dtype(dtype, [&](auto tag) { check_gather_and_scatter<typename decltype(tag)::type>(dtype); });
}

TEST(KernelsCpuIndexing, CombiningArithmetic) {
  // uint8 and int32 wrap around; bool adds as or and multiplies as and; half rounds once per write.
  std::vector<uint8_t> bytes = {250};
  const std::vector<uint8_t> five = {5, 5};
  const std::vector<int64_t> zero = {0};
  const IndexIter twice = testing::iter_of({2}, {0}, {0}, {1});
  kernels::cpu::index_scatter(DType::UInt8, bytes.data(), zero.data(), five.data(), twice, ScatterMode::Add);
  EXPECT_EQ(bytes[0], 4);
  std::vector<int32_t> ints = {2147483647};
  const std::vector<int32_t> ones = {1, 1};
  kernels::cpu::index_scatter(DType::Int32, ints.data(), zero.data(), ones.data(), twice, ScatterMode::Add);
  EXPECT_EQ(ints[0], -2147483647);
  bool flag[1] = {false};
  const bool pair[2] = {true, false};
  kernels::cpu::index_scatter(DType::Bool, flag, zero.data(), pair, twice, ScatterMode::Add);
  EXPECT_TRUE(flag[0]);
  kernels::cpu::index_scatter(DType::Bool, flag, zero.data(), pair, twice, ScatterMode::Multiply);
  EXPECT_FALSE(flag[0]);
  Half h[1] = {Half(1.0f)};
  const Half tiny[2] = {Half(0.0004f), Half(0.0004f)};  // below half an ulp of 1.0 each time
  kernels::cpu::index_scatter(DType::Float16, h, zero.data(), tiny, twice, ScatterMode::Add);
  EXPECT_EQ(static_cast<float>(h[0]), 1.0f);
}

TEST(KernelsCpuIndexing, NonzeroInRowMajorOrder) {
  const float values[2][3] = {{0.0f, -0.0f, NAN}, {1.5f, 0.0f, -2.0f}};
  NonzeroShape s;
  s.ndim = 2;
  s.sizes[0] = 2;
  s.sizes[1] = 3;
  int64_t count = -1;
  kernels::cpu::nonzero_count(DType::Float32, values, &count, s);
  EXPECT_EQ(count, 3);
  std::vector<int64_t> out(3 * 2);
  kernels::cpu::nonzero(DType::Float32, values, out.data(), s);
  EXPECT_EQ(out, (std::vector<int64_t>{0, 2, 1, 0, 1, 2}));  // NaN is nonzero, -0.0 is zero
  // Large enough to split across threads: the order and the count stay those of one pass.
  s.ndim = 3;
  s.sizes[0] = 37;
  s.sizes[1] = 53;
  s.sizes[2] = 31;
  const auto noise = testing::random_values<int32_t>(s.numel(), 3);
  std::vector<int64_t> expected;
  for (int64_t i = 0; i < s.numel(); ++i)
    if (noise[i] % 3 == 0) expected.insert(expected.end(), {i / (53 * 31), i / 31 % 53, i % 31});
  std::vector<int32_t> x(noise.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = noise[i] % 3 == 0 ? noise[i] + 3000 : 0;
  kernels::cpu::nonzero_count(DType::Int32, x.data(), &count, s);
  EXPECT_EQ(count * 3, static_cast<int64_t>(expected.size()));
  out.assign(expected.size(), -1);
  kernels::cpu::nonzero(DType::Int32, x.data(), out.data(), s);
  EXPECT_EQ(out, expected);
}

}  // namespace
}  // namespace dlcore
