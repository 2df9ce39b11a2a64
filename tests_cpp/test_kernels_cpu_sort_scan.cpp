// Tests of the CPU sorting and scan kernels (kernels/cpu/sort_scan.cpp) against naive references:
// the sort permutation is stable and places NaN as torch does, in both orders and several dtypes,
// and topk's partial sort gives exactly its first k entries;
// running sums/products match a double loop (int64 for integers); cumprod's gradient matches
// central finite differences, rows with one or several zeros included.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "dlcore/kernels.h"

namespace dlcore {
namespace {

// True when row[idx] is ordered (NaN largest) and equal values keep increasing indices.
template <class T>
void expect_sorted_stably(const std::vector<T>& row, const std::vector<int64_t>& idx, SortOrder order) {
  auto key = [&](int64_t i) {
    const double v = static_cast<double>(row[i]);
    return std::isnan(v) ? std::numeric_limits<double>::infinity() * 2 : v;  // NaN above +inf
  };
  for (size_t k = 1; k < idx.size(); ++k) {
    const double a = key(idx[k - 1]), b = key(idx[k]);
    const bool nan_a = std::isnan(static_cast<double>(row[idx[k - 1]])), nan_b = std::isnan(static_cast<double>(row[idx[k]]));
    if (nan_a || nan_b) {
      EXPECT_TRUE(order == SortOrder::Ascending ? !nan_a || nan_b : nan_a || !nan_b) << "NaN misplaced at " << k;
      if (nan_a && nan_b) {
        EXPECT_LT(idx[k - 1], idx[k]);
      }
      continue;
    }
    if (a == b) {
      EXPECT_LT(idx[k - 1], idx[k]) << "unstable at " << k;
    } else {
      EXPECT_TRUE(order == SortOrder::Ascending ? a < b : a > b) << "out of order at " << k;
    }
  }
}

TEST(SortRows, StableWithNanInBothOrders) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> x = {3, nan, 1, 3, -INFINITY, 1, nan, 0, INFINITY, 3};
  for (SortOrder order : {SortOrder::Ascending, SortOrder::Descending}) {
    std::vector<int64_t> idx(x.size());
    kernels::cpu::sort_rows(DType::Float64, x.data(), 1, static_cast<int64_t>(x.size()), order, idx.data());
    expect_sorted_stably(x, idx, order);
  }
}

TEST(SortRows, ManyRowsAndIntegerDtypes) {
  std::mt19937 rng(3);
  const int64_t rows = 40, n = 33;
  std::vector<int32_t> x(rows * n);
  for (auto& v : x) v = static_cast<int32_t>(rng() % 7) - 3;  // many ties
  std::vector<int64_t> idx(x.size());
  kernels::cpu::sort_rows(DType::Int32, x.data(), rows, n, SortOrder::Descending, idx.data());
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<int32_t> row(x.begin() + r * n, x.begin() + (r + 1) * n);
    const std::vector<int64_t> order(idx.begin() + r * n, idx.begin() + (r + 1) * n);
    expect_sorted_stably(row, order, SortOrder::Descending);
  }
}

TEST(TopkRows, EqualsTheStableSortsFirstK) {
  std::mt19937 rng(11);
  const int64_t rows = 5, n = 40;
  std::vector<float> x(rows * n);
  for (auto& v : x) v = static_cast<float>(rng() % 9);  // ties
  x[3] = std::numeric_limits<float>::quiet_NaN();
  for (SortOrder order : {SortOrder::Ascending, SortOrder::Descending}) {
    for (int64_t k : {0, 1, 7, 40}) {
      std::vector<int64_t> sorted(rows * n), top(rows * k);
      kernels::cpu::sort_rows(DType::Float32, x.data(), rows, n, order, sorted.data());
      kernels::cpu::topk_rows(DType::Float32, x.data(), rows, n, k, order, top.data());
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < k; ++i) EXPECT_EQ(top[r * k + i], sorted[r * n + i]) << "row " << r << " k " << k;
    }
  }
}

TEST(ScanRows, SumsAndProductsMatchDoubleLoops) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  const int64_t rows = 3, n = 50;
  std::vector<float> x(rows * n), y(rows * n);
  for (auto& v : x) v = 1.0f + 0.1f * normal(rng);
  for (ScanOp op : {ScanOp::Sum, ScanOp::Product}) {
    kernels::cpu::scan_rows(op, DType::Float32, x.data(), y.data(), rows, n);
    for (int64_t r = 0; r < rows; ++r) {
      double acc = op == ScanOp::Sum ? 0 : 1;
      for (int64_t i = 0; i < n; ++i) {
        acc = op == ScanOp::Sum ? acc + x[r * n + i] : acc * x[r * n + i];
        EXPECT_FLOAT_EQ(y[r * n + i], static_cast<float>(acc));
      }
    }
  }
  const std::vector<uint8_t> bytes = {200, 100, 3};
  std::vector<int64_t> sums(3);
  kernels::cpu::scan_rows(ScanOp::Sum, DType::UInt8, bytes.data(), sums.data(), 1, 3);
  EXPECT_EQ(sums, (std::vector<int64_t>{200, 300, 303}));  // int64: no uint8 wrap-around
}

TEST(CumprodBackward, MatchesFiniteDifferencesWithZeros) {
  const int64_t n = 6;
  const std::vector<std::vector<double>> rows = {
      {1.5, -0.5, 2.0, 0.7, -1.2, 0.9}, {0.0, 2.0, 3.0, -1.0, 0.5, 1.5}, {1.2, 2.0, 0.0, 3.0, 0.0, 0.5}};
  const std::vector<double> g = {0.3, -1.1, 0.8, 0.4, -0.6, 1.3};
  for (const auto& x : rows) {
    std::vector<double> y(n), gx(n);
    kernels::cpu::scan_rows(ScanOp::Product, DType::Float64, x.data(), y.data(), 1, n);
    kernels::cpu::cumprod_backward_rows(DType::Float64, x.data(), y.data(), g.data(), gx.data(), 1, n);
    for (int64_t i = 0; i < n; ++i) {
      auto loss = [&](double delta) {
        std::vector<double> xp = x, yp(n);
        xp[i] += delta;
        kernels::cpu::scan_rows(ScanOp::Product, DType::Float64, xp.data(), yp.data(), 1, n);
        double s = 0;
        for (int64_t j = 0; j < n; ++j) s += g[j] * yp[j];
        return s;
      };
      const double eps = 1e-6;
      EXPECT_NEAR(gx[i], (loss(eps) - loss(-eps)) / (2 * eps), 1e-6) << "element " << i;
    }
  }
}

}  // namespace
}  // namespace dlcore
