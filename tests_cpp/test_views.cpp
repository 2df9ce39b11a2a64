// The view and indexing ops of view_ops.h: sizes, strides and offsets of each view against values
// worked out by hand (and torch's computeStride rule), storage sharing, gradients against central
// differences (gradcheck.h), and the error type of each kind of mistake.
#include <gtest/gtest.h>

#include "dlcore/ops.h"
#include "gradcheck.h"

namespace dlcore {
namespace {

using testing::gradcheck;
using testing::random_tensor;
using testing::tensor_from;
using testing::values_of;

// Views copy values exactly and their backwards are copies and sums of a few terms; with h = 1e-2
// the central differences of these linear maps are exact up to float rounding of the loss (~1e-5).
constexpr double kGradTol = 1e-3;

using Fn = testing::TensorFunction;

Tensor counting(const Shape& shape) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return tensor_from(v, shape);
}

TEST(Views, StridesAndOffsetsOfEachView) {
  Tensor x = counting({2, 3, 4});
  Tensor p = ops::permute(x, {2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.strides(), (Shape{1, 12, 4}));
  EXPECT_EQ(p.storage().get(), x.storage().get());
  EXPECT_EQ(ops::transpose(x, 0, -1).strides(), (Shape{1, 4, 12}));
  EXPECT_EQ(ops::unsqueeze(ops::t(counting({3, 4})), 1).strides(), (Shape{1, 12, 4}));  // torch's stride rule
  EXPECT_EQ(ops::squeeze(counting({1, 3, 1})).shape(), (Shape{3}));
  EXPECT_EQ(ops::squeeze(counting({1, 3, 1}), {0, 1}).shape(), (Shape{3, 1}));  // dim 1 has size 3: kept
  Tensor e = ops::expand(counting({3, 1}), {2, -1, 5});
  EXPECT_EQ(e.shape(), (Shape{2, 3, 5}));
  EXPECT_EQ(e.strides(), (Shape{0, 1, 0}));
  Tensor s = ops::slice(x, 2, 1, 100, 2);
  EXPECT_EQ(s.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(s.strides(), (Shape{12, 4, 2}));
  EXPECT_EQ(s.storage_offset(), 1);
  EXPECT_EQ(values_of(ops::select(x, 1, -1)), (std::vector<float>{8, 9, 10, 11, 20, 21, 22, 23}));
  EXPECT_EQ(ops::narrow(x, 0, 1, 1).storage_offset(), 12);
  EXPECT_EQ(values_of(ops::diagonal(counting({3, 4}), 1)), (std::vector<float>{1, 6, 11}));
  EXPECT_EQ(ops::unflatten(x, -1, {2, -1}).shape(), (Shape{2, 3, 2, 2}));
}

TEST(Views, ViewFollowsComputeStrideAndReshapeCopiesOnlyWhenNeeded) {
  Tensor x = counting({2, 3, 4});
  Tensor p = ops::permute(x, {2, 0, 1});  // [4, 2, 3], strides [1, 12, 4]: dims 1 and 2 merge
  Tensor v = ops::view(p, {4, 6});
  EXPECT_EQ(v.strides(), (Shape{1, 4}));
  EXPECT_EQ(v.storage().get(), x.storage().get());
  EXPECT_THROW(ops::view(p, {24}), ShapeError);
  Tensor r = ops::reshape(p, {24});  // a copy, in p's element order
  EXPECT_NE(r.storage().get(), x.storage().get());
  EXPECT_EQ(values_of(r), values_of(p));
  EXPECT_EQ(ops::reshape(x, {6, 4}).storage().get(), x.storage().get());  // a view
  EXPECT_EQ(view_strides({0, 3}, {3, 1}, {3, 0}), (Shape{1, 1}));
  EXPECT_EQ(view_strides({}, {}, {1, 1}), (Shape{1, 1}));
}

TEST(Views, WritesThroughAViewReachTheBaseAndBumpItsVersion) {
  Tensor x = Tensor::zeros({3, 4});
  const uint64_t version = x.version();
  Tensor column = ops::select(x, 1, 2);
  column.copy_(tensor_from({1, 2, 3}, {3}));
  EXPECT_EQ(values_of(x), (std::vector<float>{0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0}));
  EXPECT_GT(x.version(), version);
  ops::slice(x, 0, 0, 3, 2).copy_(Tensor::full({}, 5.0f));  // x[::2] = 5
  EXPECT_EQ(values_of(ops::select(x, 0, 2)), (std::vector<float>{5, 5, 5, 5}));
}

TEST(Views, GradientsMatchFiniteDifferences) {
  const std::vector<std::pair<const char*, Fn>> cases = {
      {"permute", [](const std::vector<Tensor>& t) { return ops::permute(t[0], {1, 2, 0}); }},
      {"transpose", [](const std::vector<Tensor>& t) { return ops::transpose(t[0], 0, 2); }},
      {"unsqueeze+squeeze", [](const std::vector<Tensor>& t) { return ops::squeeze(ops::unsqueeze(t[0], 1)); }},
      {"expand", [](const std::vector<Tensor>& t) { return ops::expand(ops::narrow(t[0], 2, 0, 1), {5, 2, 3, 3}); }},
      {"narrow", [](const std::vector<Tensor>& t) { return ops::narrow(t[0], 1, 1, 2); }},
      {"select", [](const std::vector<Tensor>& t) { return ops::select(t[0], 2, -1); }},
      {"slice", [](const std::vector<Tensor>& t) { return ops::slice(t[0], 1, 0, 3, 2); }},
      {"split", [](const std::vector<Tensor>& t) {
         std::vector<Tensor> pieces = ops::split(t[0], 2, 2);  // sizes 2 and 1
         return ops::add(ops::mul(pieces[0], pieces[0]), ops::expand(pieces[1], {2, 3, 2}));
       }},
      {"chunk+unbind", [](const std::vector<Tensor>& t) {
         std::vector<Tensor> rows = ops::unbind(ops::chunk(t[0], 2, 0)[1], 1);
         return ops::mul(rows[0], rows[2]);
       }},
      {"view-of-permute", [](const std::vector<Tensor>& t) { return ops::view(ops::permute(t[0], {2, 0, 1}), {3, 6}); }},
      {"reshape-copy", [](const std::vector<Tensor>& t) { return ops::reshape(ops::t(ops::view(t[0], {6, 3})), {18}); }},
      {"unflatten", [](const std::vector<Tensor>& t) { return ops::unflatten(ops::t(ops::view(t[0], {6, 3})), 1, {2, 3}); }},
      {"diagonal", [](const std::vector<Tensor>& t) { return ops::diagonal(t[0], -1, 1, 2); }},
      {"contiguous", [](const std::vector<Tensor>& t) { return ops::contiguous(ops::transpose(t[0], 0, 1)); }},
  };
  for (const auto& [name, f] : cases) {
    Tensor x = random_tensor({2, 3, 3}, 5, true);
    EXPECT_TRUE(gradcheck(f, {x}, kGradTol)) << name;
  }
}

TEST(Indexing, CatStackAndIndexForwardAndGradients) {
  Tensor a = random_tensor({2, 3}, 1, true), b = random_tensor({4, 3}, 2, true);
  Tensor c = ops::cat({a, b}, 0);
  EXPECT_EQ(c.shape(), (Shape{6, 3}));
  std::vector<float> expected = values_of(a), vb = values_of(b);
  expected.insert(expected.end(), vb.begin(), vb.end());
  EXPECT_EQ(values_of(c), expected);
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::cat({t[0], ops::t(t[1]), t[0]}, 1); },
                        {random_tensor({3, 2}, 3, true), random_tensor({4, 3}, 4, true)}, kGradTol));
  EXPECT_EQ(ops::stack({a, a, a}, 1).shape(), (Shape{2, 3, 3}));
  EXPECT_TRUE(gradcheck([](const std::vector<Tensor>& t) { return ops::stack({t[0], t[1]}, -1); },
                        {a, random_tensor({2, 3}, 10, true)}, kGradTol));

  Tensor positions = Tensor::empty({4}, DType::Int64);
  const int64_t p[] = {2, 0, 2, 3};  // a repeat, so the backward must accumulate
  std::copy(p, p + 4, positions.data<int64_t>());
  Tensor x = counting({3, 4});
  EXPECT_EQ(values_of(ops::index_select(x, 1, positions)), (std::vector<float>{2, 0, 2, 3, 6, 4, 6, 7, 10, 8, 10, 11}));
  EXPECT_TRUE(gradcheck([positions](const std::vector<Tensor>& t) { return ops::index_select(t[0], 1, positions); },
                        {random_tensor({3, 4}, 6, true)}, kGradTol));
  Tensor grid = Tensor::empty({2, 2}, DType::Int64);
  const int64_t q[] = {-1, 0, 1, -1};
  std::copy(q, q + 4, grid.data<int64_t>());
  Tensor y = ops::index(x, 0, grid);
  EXPECT_EQ(y.shape(), (Shape{2, 2, 4}));
  EXPECT_EQ(values_of(ops::select(ops::select(y, 0, 1), 0, 1)), (std::vector<float>{8, 9, 10, 11}));
  EXPECT_TRUE(gradcheck([grid](const std::vector<Tensor>& t) { return ops::index(t[0], 1, grid); },
                        {random_tensor({2, 3}, 7, true)}, kGradTol));
}

TEST(Views, InPlaceChangeThroughAViewInvalidatesSavedTensors) {
  Tensor a = random_tensor({2, 3}, 8), w = random_tensor({3, 2}, 9, true);
  Tensor out = ops::sum(ops::mul(ops::t(a), w));  // mul saves a's transpose for w's gradient
  ops::select(a, 0, 1).copy_(Tensor::full({3}, 1.0f));
  EXPECT_THROW(out.backward(), std::runtime_error);
}

TEST(Views, ErrorTypes) {
  Tensor x = Tensor::zeros({3, 4});
  EXPECT_THROW(ops::permute(x, {0, 2}), IndexError);
  EXPECT_THROW(ops::permute(x, {0, 0}), ShapeError);
  EXPECT_THROW(ops::select(x, 0, 3), IndexError);
  EXPECT_THROW(ops::narrow(x, 1, 3, 2), ShapeError);
  EXPECT_THROW(ops::slice(x, 0, 0, 2, 0), ValueError);
  EXPECT_THROW(ops::expand(x, {3, 5}), ShapeError);
  EXPECT_THROW(ops::t(Tensor::zeros({2, 2, 2})), ShapeError);
  EXPECT_THROW(ops::split(x, 0), ShapeError);
  EXPECT_THROW(ops::split_with_sizes(x, {1, 1}), ShapeError);
  EXPECT_THROW(ops::cat({x, Tensor::zeros({3, 5})}, 0), ShapeError);
  EXPECT_THROW(ops::cat({}, 0), ValueError);
  EXPECT_THROW(ops::stack({x, x}, 3), IndexError);
  Tensor bad = Tensor::zeros({1}, DType::Int64);
  bad.data<int64_t>()[0] = 3;
  EXPECT_THROW(ops::index_select(x, 0, bad), IndexError);
  EXPECT_THROW(ops::index_select(x, 0, Tensor::zeros({1})), ValueError);  // float index
}

}  // namespace
}  // namespace dlcore
