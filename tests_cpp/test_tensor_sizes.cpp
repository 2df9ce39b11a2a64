// Size arithmetic at creation: element and byte counts past int64 used to wrap (a tensor of 2^62
// floats got a 0-byte storage, rand(2^61 + 1, 8) had 8 elements) and crashed or lied. Every count
// is now checked: creation raises std::runtime_error, an impossible view a ValueError.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "dlcore/ops.h"
#include "dlcore/tensor.h"

namespace dlcore {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t k2Pow31 = int64_t{1} << 31;
constexpr int64_t k2Pow33 = int64_t{1} << 33;
constexpr int64_t k2Pow40 = int64_t{1} << 40;
constexpr int64_t k2Pow61 = int64_t{1} << 61;
constexpr int64_t k2Pow62 = int64_t{1} << 62;

// Runs `fn`, expecting exactly exception type E with `fragment` in its message.
template <class E, class Fn>
void expect_error(Fn&& fn, const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "expected an exception mentioning '" << fragment << "'";
  } catch (const ValueError& e) {
    if (!std::is_same_v<E, ValueError>) ADD_FAILURE() << "unexpected ValueError: " << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << "message: " << e.what();
  } catch (const std::runtime_error& e) {
    if (!std::is_same_v<E, std::runtime_error>) ADD_FAILURE() << "unexpected runtime_error: " << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << "message: " << e.what();
  }
}

TEST(ShapeNumel, CountsAndRefusesOverflow) {
  EXPECT_EQ(shape_numel({}), 1);
  EXPECT_EQ(shape_numel({3, 0, 5}), 0);
  EXPECT_EQ(shape_numel({k2Pow31, k2Pow31}), k2Pow62);
  EXPECT_EQ(shape_numel({kInt64Max}), kInt64Max);
  expect_error<std::runtime_error>([] { shape_numel({k2Pow61 + 1, 8}); }, "more elements than int64");
  expect_error<std::runtime_error>([] { shape_numel({k2Pow33, k2Pow31}); }, "[8589934592, 2147483648]");
  // No elements, but its contiguous strides would pass int64.
  expect_error<std::runtime_error>([] { shape_numel({0, k2Pow40, k2Pow40}); }, "more elements than int64");
}

TEST(TensorCreationSizes, ByteCountsPastInt64AreRefused) {
  expect_error<std::runtime_error>([] { Tensor::full({k2Pow62}, 1.0f); }, "exceed 9223372036854775807 bytes");
  expect_error<std::runtime_error>([] { Tensor::zeros({kInt64Max}); }, "float32[9223372036854775807]");
  expect_error<std::runtime_error>([] { Tensor::empty({k2Pow31, k2Pow31}); }, "4611686018427387904 elements");
  expect_error<std::runtime_error>([] { Tensor::empty({k2Pow61, 2}, DType::Int64); }, "int64[");
  // 2^62 one-byte elements fit the arithmetic; the allocation itself fails and says so.
  expect_error<std::runtime_error>([] { Tensor::empty({k2Pow62}, DType::UInt8); },
                                   "out of memory: cannot allocate 4611686018427387904 bytes");
}

TEST(TensorCreationSizes, RandomAndArangeCheckTheirSizes) {
  expect_error<std::runtime_error>([] { rand({k2Pow61 + 1, 8}); }, "more elements than int64");
  expect_error<std::runtime_error>([] { randn({k2Pow62}); }, "bytes");
  expect_error<std::runtime_error>([] { uniform({k2Pow62, 4}, 0.0f, 1.0f); }, "more elements than int64");
  expect_error<std::runtime_error>([] { arange(k2Pow62); }, "bytes");
  expect_error<ValueError>([] { arange(-1); }, "arange: end must be >= 0, got -1");
  EXPECT_EQ(arange(0).numel(), 0);
}

TEST(TensorViewSizes, OverflowingProductsAreInvalidShapes) {
  Tensor empty = Tensor::zeros({0});
  expect_error<ValueError>([&] { empty.view({k2Pow33, k2Pow31}); }, "overflows int64");
  expect_error<ValueError>([&] { empty.view({-1, k2Pow33, k2Pow31}); }, "overflows int64");
  expect_error<ValueError>([&] { empty.view({0, k2Pow40, k2Pow40}); }, "overflows int64");
  expect_error<ValueError>([&] { ops::reshape(empty, {k2Pow33, k2Pow31}); }, "reshape: shape [8589934592, 2147483648]");
  // Large but representable shapes of no elements stay valid views.
  EXPECT_EQ(empty.view({0, k2Pow40}).shape(), (Shape{0, k2Pow40}));
  EXPECT_EQ(Tensor::zeros({2, 6}).view({1, -1}).shape(), (Shape{1, 12}));
}

}  // namespace
}  // namespace dlcore
