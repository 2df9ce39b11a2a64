// Shared by the indexing kernel tests (test_kernels_cpu_indexing.cpp, test_cuda_kernels_indexing.cpp):
// iteration spaces shaped like the op layer's (rows of x[idx], columns of a transposed x, a gather
// along the last dim with a broadcast source), typed random data for every dtype, and comparisons
// that are exact for integers and bool and relative for floats.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "dlcore/kernels.h"

namespace dlcore::testing {

constexpr DType kAllDTypes[] = {DType::Bool,    DType::UInt8,    DType::Int32,   DType::Int64,
                                DType::Float16, DType::BFloat16, DType::Float32, DType::Float64};

// A bool the size of one byte in a vector: std::vector<bool> packs bits and has no data().
struct BoolByte {
  bool value = false;
  BoolByte() = default;
  BoolByte(bool b) : value(b) {}  // NOLINT: converts like bool
  operator bool() const { return value; }  // NOLINT
};
static_assert(sizeof(BoolByte) == sizeof(bool));
template <class T> using Element = std::conditional_t<std::is_same_v<T, bool>, BoolByte, T>;

template <class T>
std::vector<Element<T>> random_values(size_t n, uint32_t seed) {
  std::mt19937 engine(seed);
  std::vector<Element<T>> v(n);
  for (auto& x : v) {
    if constexpr (std::is_same_v<T, bool>) {
      x = engine() % 2 == 0;
    } else if constexpr (std::is_integral_v<T>) {
      x = static_cast<T>(static_cast<int64_t>(engine() % 2001) - 1000);  // uint8 wraps: any byte
    } else {
      x = static_cast<T>(std::uniform_real_distribution<float>(-2.0f, 2.0f)(engine));
    }
  }
  return v;
}

template <class T>
double as_double(T v) {
  if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, BoolByte>) return v ? 1.0 : 0.0;
  else return static_cast<double>(static_cast<opmath_t<T>>(v));
}

// Exact for bool and integers (their combining is order-free), within rel (|e| >= 1) or abs for floats.
template <class T>
::testing::AssertionResult values_match(const std::vector<T>& actual, const std::vector<T>& expected, double rel) {
  if (actual.size() != expected.size()) return ::testing::AssertionFailure() << "sizes differ";
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = as_double(actual[i]), e = as_double(expected[i]);
    const bool exact = std::is_integral_v<T> || std::is_same_v<T, BoolByte> || rel == 0;
    const bool ok = exact ? std::memcmp(&actual[i], &expected[i], sizeof(T)) == 0
                          : std::fabs(a - e) <= rel * std::max(1.0, std::fabs(e));
    if (!ok) return ::testing::AssertionFailure() << "element " << i << ": " << a << " vs " << e;
  }
  return ::testing::AssertionSuccess();
}

// One iteration space with its offsets and the element counts of the data and the other operand.
struct IndexCase {
  std::string name;
  IndexIter it;
  std::vector<int64_t> offsets;
  int64_t data_size = 0, other_size = 0;
};

inline IndexIter iter_of(std::vector<int64_t> sizes, std::vector<int64_t> data, std::vector<int64_t> offset,
                         std::vector<int64_t> other) {
  IndexIter it;
  it.ndim = static_cast<int>(sizes.size());
  for (int d = 0; d < it.ndim; ++d) {
    it.sizes[d] = sizes[d];
    it.data_strides[d] = data[d];
    it.offset_strides[d] = offset[d];
    it.other_strides[d] = other[d];
  }
  return it;
}

// distinct: no position is addressed twice (the cases an Assign scatter is compared on).
inline std::vector<IndexCase> index_cases(bool distinct, uint32_t seed) {
  std::mt19937 engine(seed);
  auto positions = [&](int64_t count, int64_t bound) {
    std::vector<int64_t> p(count);
    if (distinct) {
      std::vector<int64_t> all(bound);
      for (int64_t i = 0; i < bound; ++i) all[i] = i;
      std::shuffle(all.begin(), all.end(), engine);
      std::copy(all.begin(), all.begin() + count, p.begin());
    } else {
      for (auto& x : p) x = static_cast<int64_t>(engine() % bound);  // repeats likely
    }
    return p;
  };
  std::vector<IndexCase> cases;
  {  // x[idx] on x [20, 7, 3]: whole rows, innermost runs contiguous
    IndexCase c{"rows", iter_of({13, 7, 3}, {0, 3, 1}, {1, 0, 0}, {21, 3, 1}), {}, 20 * 21, 13 * 21};
    for (int64_t p : positions(13, 20)) c.offsets.push_back(p * 21);
    cases.push_back(c);
  }
  {  // x[:, idx] on a transposed x [6, 8] (strides 1, 6)
    IndexCase c{"transposed-columns", iter_of({6, 5}, {1, 0}, {0, 1}, {5, 1}), {}, 48, 30};
    for (int64_t p : positions(5, 8)) c.offsets.push_back(p * 6);
    cases.push_back(c);
  }
  if (!distinct) {  // gather along the last dim of x [4, 6], index [4, 9], a broadcast [9] source
    IndexCase c{"last-dim-broadcast-source", iter_of({4, 9}, {6, 0}, {9, 1}, {0, 1}), {}, 24, 9};
    c.offsets = positions(36, 6);
    cases.push_back(c);
  }
  return cases;
}

}  // namespace dlcore::testing
