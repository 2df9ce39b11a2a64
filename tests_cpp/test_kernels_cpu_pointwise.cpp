// Tests of the CPU pointwise loop and the 16-bit float types against naive references: strided,
// broadcast and by-value scalar operands, bool outputs and conditions, casts between every pair
// of dtypes, and float16/bfloat16 rounding (every float16 value round-trips exactly).
#include <cmath>
#include <cstring>

#include "dlcore/kernels.h"
#include "dlcore/ops.h"
#include "gradcheck.h"
#include "ops/pointwise.h"

namespace dlcore {
namespace {

using testing::random_tensor;
using testing::tensor_from;
using testing::values_of;

TEST(KernelsCpuPointwise, StridedBroadcastAndScalarOperands) {
  // out[i, j] = a[j, i] (a transposed view) + alpha * b[j] (broadcast), and + a scalar operand.
  Tensor a = random_tensor({6, 4}, 1), b = random_tensor({6}, 2);
  Tensor at = ops::transpose(a, 0, 1);  // [4, 6], strides {1, 4}
  Tensor out = ops::add(at, b, -2.0);
  std::vector<float> got = values_of(out), av = values_of(a), bv = values_of(b);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 6; ++j) EXPECT_FLOAT_EQ(got[i * 6 + j], av[j * 4 + i] - 2.0f * bv[j]);
  Tensor plus_number = ops::mul(at, Tensor::wrapped_number(3));
  got = values_of(plus_number);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 6; ++j) EXPECT_FLOAT_EQ(got[i * 6 + j], av[j * 4 + i] * 3.0f);
}

TEST(KernelsCpuPointwise, MakeIterCoalescesOnce) {
  Tensor x = Tensor::empty({2, 3, 4});
  const PointwiseIter it = ops::pointwise::make_iter(x.shape(), {{x, DType::Float32}, {x, DType::Float32}});
  EXPECT_EQ(it.ndim, 1);  // contiguous operands: one dimension of 24
  EXPECT_EQ(it.sizes[0], 24);
  Tensor row = Tensor::empty({4});
  const PointwiseIter bc = ops::pointwise::make_iter(x.shape(), {{x, DType::Float32}, {row, DType::Float32}});
  EXPECT_EQ(bc.ndim, 2);  // [6, 4]: the broadcast row repeats every 4 elements
  EXPECT_EQ(bc.strides[1][0], 0);
  EXPECT_EQ(bc.strides[1][1], 1);
}

TEST(KernelsCpuPointwise, ComparisonsGiveBoolAndWhereTakesABoolCondition) {
  Tensor x = random_tensor({3, 5}, 4), zero = Tensor::wrapped_number(0.0);
  Tensor mask = ops::gt(x, zero);
  ASSERT_EQ(mask.dtype(), DType::Bool);
  Tensor chosen = ops::where(mask, x, Tensor::wrapped_number(-1.0));
  const std::vector<float> xv = values_of(x), cv = values_of(chosen);
  const bool* m = mask.data<bool>();
  for (int i = 0; i < 15; ++i) {
    EXPECT_EQ(m[i], xv[i] > 0);
    EXPECT_EQ(cv[i], xv[i] > 0 ? xv[i] : -1.0f);
  }
}

TEST(KernelsCpuPointwise, ReluKeepsNaN) {
  Tensor x = tensor_from({NAN, -1.0f, 2.0f}, {3});
  std::vector<float> y = values_of(ops::relu(x));
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 2.0f);
}

TEST(ScalarTypes, EveryHalfRoundTripsAndFloatsRoundToNearestEven) {
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    const uint16_t h = static_cast<uint16_t>(bits);
    const float f = Half::to_float(h);
    if (std::isnan(f)) continue;
    ASSERT_EQ(Half::from_float(f), h) << "half bits " << bits;
  }
  EXPECT_EQ(static_cast<float>(Half(65519.0f)), 65504.0f);        // largest finite half
  EXPECT_TRUE(std::isinf(static_cast<float>(Half(65520.0f))));    // rounds up to infinity
  EXPECT_EQ(static_cast<float>(Half(1.0f + 1.0f / 2048)), 1.0f);  // a tie rounds to even
  EXPECT_EQ(static_cast<float>(Half(5.9604645e-8f)), 5.9604645e-8f);  // the smallest subnormal
  EXPECT_EQ(static_cast<float>(BFloat16(1.00390625f)), 1.0f);     // tie to even in bfloat16
  EXPECT_EQ(static_cast<float>(BFloat16(1.01171875f)), 1.015625f);
  EXPECT_TRUE(std::isnan(static_cast<float>(BFloat16(NAN))));
}

TEST(KernelsCpuPointwise, CastsBetweenEveryPairOfDtypes) {
  Tensor x = tensor_from({0.0f, 1.0f, 2.5f, -3.0f, 100.0f}, {5});
  for (int from = 0; from < kDTypeCount; ++from) {
    for (int to = 0; to < kDTypeCount; ++to) {
      const DType f = static_cast<DType>(from), t = static_cast<DType>(to);
      Tensor source = ops::to_dtype(f == DType::UInt8 || f == DType::Bool ? ops::abs(x) : x, f);
      Tensor there = ops::to_dtype(source, t);
      ASSERT_EQ(there.dtype(), t);
      // Via float32 as the reference: every value above is exact in every dtype it fits.
      const std::vector<float> direct = values_of(ops::to_dtype(there, DType::Float32));
      std::vector<float> expected = values_of(ops::to_dtype(source, DType::Float32));
      for (float& v : expected) {
        if (t == DType::Bool) v = v != 0.0f;
        else if (!is_floating(t)) v = std::trunc(v);
      }
      EXPECT_EQ(direct, expected) << dtype_name(f) << " -> " << dtype_name(t);
    }
  }
}

}  // namespace
}  // namespace dlcore
