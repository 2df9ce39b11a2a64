// Tests of the CPU layout kernels against naive index arithmetic: fills, scale_shift, the sum_to
// reduction and strided copies between strided and broadcast views for several element sizes (the
// pointwise loop has its own test: test_kernels_cpu_pointwise.cpp).
#include <cstring>

#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::strides_for;
using testing::make_shape;
using testing::random_vector;



// Offset of the linear output index i under the given strides.
int64_t offset_of(const BroadcastShape& s, int64_t i, const int64_t* strides) {
  int64_t off = 0;
  for (int d = s.ndim - 1; d >= 0; --d) {
    off += (i % s.sizes[d]) * strides[d];
    i /= s.sizes[d];
  }
  return off;
}

int64_t extent(const BroadcastShape& s, const int64_t* strides) {
  int64_t last = 0;
  for (int d = 0; d < s.ndim; ++d) last += (s.sizes[d] - 1) * strides[d];
  return last + 1;
}

TEST(KernelsCpuElementwise, FillScaleShift) {
  const int64_t n = 100003;  // above the threading grain, not a multiple of any vector width
  std::vector<float> y(n);
  kernels::cpu::fill(y.data(), 2.5f, n);
  for (float v : y) ASSERT_EQ(v, 2.5f);
  auto y2 = random_vector(n, 2);
  std::vector<double> expected(n);
  for (int64_t i = 0; i < n; ++i) expected[i] = y2[i] * 3.0 - 1.0;
  kernels::cpu::scale_shift(y2.data(), y2.data(), 3.0f, -1.0f, n);  // in place is allowed
  EXPECT_TRUE(all_close(y2, expected, 1e-6));
}

TEST(KernelsCpuElementwise, SumToReducesBroadcastDimensions) {
  // y's strides go in a_strides (0 on reduced dimensions); x is contiguous with s.sizes.
  const std::vector<std::pair<std::vector<int64_t>, std::vector<bool>>> cases = {
      {{64, 120}, {true, false}},                     // Linear bias gradient
      {{4, 6, 5, 5}, {true, false, true, true}},      // conv bias gradient
      {{3, 7, 11}, {false, true, false}},             // middle dimension
      {{5, 9}, {true, true}},                         // to a scalar
      {{100000}, {true}},                             // long reduction
      {{6, 8}, {false, false}},                       // nothing reduced
  };
  uint32_t seed = 40;
  for (const auto& [sizes, reduced] : cases) {
    const auto y_strides = strides_for(sizes, reduced);
    const BroadcastShape s = make_shape(sizes, y_strides, std::vector<int64_t>(sizes.size(), 0));
    const auto x = random_vector(s.numel(), seed++);
    std::vector<float> y(extent(s, s.a_strides), 123.0f);  // overwritten, not accumulated
    kernels::cpu::sum_to(DType::Float32, x.data(), y.data(), s);
    std::vector<double> expected(y.size(), 0.0);
    for (int64_t i = 0; i < s.numel(); ++i) expected[offset_of(s, i, s.a_strides)] += x[i];
    // Float partial sums of up to 1e5 values in [-1, 1]: 1e-5 relative to max(|sum|, 1).
    EXPECT_TRUE(all_close(y, expected, 1e-5)) << "x numel " << s.numel();
  }
}

// Copies x (read through s.a_strides) into y (written through s.b_strides) and checks every
// element of y: written ones against x, the ones no offset reaches still hold their fill value.
template <class T>
void check_strided_copy(const BroadcastShape& s, int64_t source_size) {
  std::vector<T> x(source_size);
  for (int64_t i = 0; i < source_size; ++i) x[i] = static_cast<T>(i * 7 + 3);
  const T untouched = static_cast<T>(1);
  std::vector<T> y(extent(s, s.b_strides), untouched), expected(y.size(), untouched);
  for (int64_t i = 0; i < s.numel(); ++i) expected[offset_of(s, i, s.b_strides)] = x[offset_of(s, i, s.a_strides)];
  kernels::cpu::strided_copy(x.data(), y.data(), s, sizeof(T));
  for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], expected[i]) << "element " << i << ", size " << sizeof(T);
}

TEST(KernelsCpuElementwise, StridedCopyViews) {
  // Into a contiguous destination: the transpose of a [30, 40] matrix, a sliced and stepped view,
  // an expanded (stride 0) view.
  const BroadcastShape transpose = make_shape({40, 30}, {1, 40}, {30, 1});
  const BroadcastShape sliced = make_shape({5, 6, 7}, {400, 41, 3}, {42, 7, 1});
  const BroadcastShape expanded = make_shape({9, 2, 50}, {0, 50, 1}, {100, 50, 1});
  // Into strided destinations: a contiguous source into a transposed view, a stepped view into
  // every third column of a wider matrix, a broadcast scalar into a slice (x[1:3] = value), and a
  // copy whose first dimension merges with the second on both sides.
  const BroadcastShape into_transpose = make_shape({40, 30}, {30, 1}, {1, 40});
  const BroadcastShape into_stepped = make_shape({6, 7}, {41, 3}, {70, 3});
  const BroadcastShape scalar_into_slice = make_shape({2, 4}, {0, 0}, {4, 1});
  const BroadcastShape mergeable = make_shape({4, 5, 3}, {15, 3, 1}, {30, 6, 2});
  for (const auto& [s, size] : {std::pair{transpose, int64_t{1200}}, {sliced, int64_t{2000}}, {expanded, int64_t{100}},
                                {into_transpose, int64_t{1200}}, {into_stepped, int64_t{300}},
                                {scalar_into_slice, int64_t{1}}, {mergeable, int64_t{60}}}) {
    check_strided_copy<float>(s, size);
    check_strided_copy<int64_t>(s, size);
    check_strided_copy<uint8_t>(s, size);
    check_strided_copy<int16_t>(s, size);
  }
  // An element size with no specialised loop (3 bytes) goes through memcpy per element.
  for (const BroadcastShape& s : {transpose, into_transpose}) {
    std::vector<char> x(1200 * 3), y(1200 * 3);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<char>(i % 251);
    kernels::cpu::strided_copy(x.data(), y.data(), s, 3);
    for (int64_t i = 0; i < s.numel(); ++i)
      ASSERT_EQ(0, std::memcmp(&y[offset_of(s, i, s.b_strides) * 3], &x[offset_of(s, i, s.a_strides) * 3], 3));
  }
  // An empty copy writes nothing.
  std::vector<float> x(4, 1.0f), y(4, 2.0f);
  kernels::cpu::strided_copy(x.data(), y.data(), make_shape({0, 4}, {4, 1}, {4, 1}), sizeof(float));
  EXPECT_EQ(y, std::vector<float>(4, 2.0f));
}

}  // namespace
}  // namespace dlcore
