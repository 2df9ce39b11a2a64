// Tensor handles without autograd: creation, metadata, views over shared storage, contiguous copies
// of strided views, copy_/clone/item, dtype checks, and the ValueError messages that name the op.
// Every op and module builds on these, so a wrong stride or offset here corrupts everything above.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "dlcore/ops.h"
#include "dlcore/tensor.h"
#include "gradcheck.h"

namespace dlcore {
namespace {

using testing::random_tensor;
using testing::tensor_from;
using testing::values_of;

// Runs `fn`, expecting a dlcore::ValueError whose message contains `fragment` (the op's name).
template <class Fn>
void expect_value_error(Fn&& fn, const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "expected a ValueError mentioning '" << fragment << "'";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << "message: " << e.what();
  }
}

TEST(TensorCreation, EmptyZerosFullHaveContiguousLayout) {
  Tensor z = Tensor::zeros({2, 3, 4});
  EXPECT_EQ(z.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(z.strides(), (Shape{12, 4, 1}));
  EXPECT_EQ(z.numel(), 24);
  EXPECT_EQ(z.dim(), 3);
  EXPECT_EQ(z.dtype(), DType::Float32);
  EXPECT_TRUE(z.device().is_cpu());
  EXPECT_TRUE(z.is_contiguous());
  for (float v : values_of(z)) EXPECT_EQ(v, 0.0f);
  for (float v : values_of(Tensor::full({5}, -2.5f))) EXPECT_EQ(v, -2.5f);

  Tensor i = Tensor::zeros({3}, DType::Int64);
  EXPECT_EQ(i.dtype(), DType::Int64);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(i.data<int64_t>()[k], 0);

  Tensor scalar = Tensor::full({}, 4.0f);
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar.numel(), 1);
  EXPECT_EQ(scalar.item(), 4.0);
  EXPECT_EQ(Tensor::empty({0, 5}).numel(), 0);
}

TEST(TensorCreation, CpuStorageIs64ByteAligned) {
  for (int64_t n : {1, 3, 17, 1000}) {
    Tensor t = Tensor::empty({n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u) << "n=" << n;
  }
}

TEST(TensorCreation, NegativeDimensionIsRejected) {
  expect_value_error([] { Tensor::empty({2, -1}); }, "empty");
}

TEST(TensorCreation, RandomTensorsRepeatUnderManualSeed) {
  manual_seed(123);
  std::vector<float> a = values_of(randn({64}));
  manual_seed(123);
  std::vector<float> b = values_of(randn({64}));
  EXPECT_EQ(a, b);
  EXPECT_NE(a, values_of(randn({64})));  // the generator moved on
  for (float v : values_of(uniform({500}, -0.5f, 0.25f))) {
    EXPECT_GE(v, -0.5f);
    EXPECT_LT(v, 0.25f);
  }
  EXPECT_EQ(values_of(arange(4)), (std::vector<float>{0, 1, 2, 3}));
}

TEST(TensorMetadata, SizeAcceptsNegativeDimsAndRejectsOutOfRange) {
  Tensor t = Tensor::zeros({2, 3, 5});
  EXPECT_EQ(t.size(-1), 5);
  EXPECT_EQ(t.size(-3), 2);
  expect_value_error([&] { t.size(3); }, "size");
  expect_value_error([&] { t.size(-4); }, "size");
}

TEST(TensorMetadata, DescribeAndHelpers) {
  EXPECT_EQ(Tensor::zeros({64, 1, 28, 28}).describe(), "float32[64, 1, 28, 28] on cpu");
  EXPECT_EQ(Tensor().describe(), "undefined tensor");
  EXPECT_EQ(shape_numel({}), 1);
  EXPECT_EQ(dtype_size(DType::Int64), 8u);
  EXPECT_EQ(dtype_name(DType::UInt8), "uint8");
  EXPECT_TRUE(Device::parse("cuda:0").is_cuda());
  EXPECT_EQ(Device::parse("cuda:1").index, 1);
  EXPECT_EQ(Device::parse("cuda").index, -1);
  EXPECT_NE(Device::parse("cuda"), Device::parse("cuda:0"));  // as in torch: an index is part of a device
  EXPECT_EQ(Device::parse("cuda:12").str(), "cuda:12");
  EXPECT_EQ(Device::parse("cpu:0").resolved(), Device::cpu());
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:007", "cuda:100"})
    EXPECT_THROW(Device::parse(bad), std::runtime_error) << bad;
  expect_value_error([] { Tensor().shape(); }, "undefined");
}

TEST(TensorDType, TypedAccessChecksTheDType) {
  Tensor f = Tensor::zeros({2});
  expect_value_error([&] { f.data<int64_t>(); }, "Tensor::data");
  Tensor i = Tensor::zeros({2}, DType::Int64);
  EXPECT_THROW(i.set_requires_grad(true), std::runtime_error);  // only floating point tensors
  i.fill_(3.0f);  // a fill converts the value to the dtype
  EXPECT_EQ(i.data<int64_t>()[1], 3);
  i.fill_(0.0f);
  EXPECT_EQ(i.data<int64_t>()[1], 0);
}

TEST(TensorViews, ViewSharesStorageAndInfersOneDimension) {
  Tensor t = random_tensor({2, 6}, 1);
  Tensor v = t.view({3, -1});
  EXPECT_EQ(v.shape(), (Shape{3, 4}));
  EXPECT_EQ(v.storage().get(), t.storage().get());
  EXPECT_FALSE(v.same(t));
  v.data<float>()[5] = 42.0f;  // writes go through to the base
  EXPECT_EQ(t.data<float>()[5], 42.0f);
  EXPECT_EQ(Tensor::full({1, 1}, 3.0f).view({}).dim(), 0);
}

TEST(TensorViews, ViewRejectsBadShapesNamingTheOp) {
  Tensor t = Tensor::zeros({2, 6});
  expect_value_error([&] { t.view({5, -1}); }, "view");
  expect_value_error([&] { t.view({-1, -1}); }, "only one dimension");
  expect_value_error([&] { t.view({4, 4}); }, "invalid for input of shape [2, 6]");
  // A transpose cannot be flattened without a copy (torch's rule), but it can gain size-1 dims.
  Tensor transposed = t.as_strided({6, 2}, {1, 6}, 0);
  expect_value_error([&] { transposed.view({12}); }, "not compatible with input of shape [6, 2]");
  EXPECT_THROW(transposed.view({12}), ShapeError);
  EXPECT_EQ(transposed.view({6, 1, 2}).strides(), (Shape{1, 12, 6}));  // torch's strides too
}

// A [3, 4] matrix holding 0..11, the base of the strided-view tests below.
Tensor counting_matrix() { return tensor_from(values_of(arange(12)), {3, 4}); }

TEST(TensorViews, ContiguousOfTransposeMaterialisesTheTranspose) {
  Tensor t = counting_matrix();
  Tensor tt = t.as_strided({4, 3}, {1, 4}, 0);
  EXPECT_FALSE(tt.is_contiguous());
  Tensor c = tt.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_NE(c.storage().get(), t.storage().get());
  EXPECT_EQ(values_of(c), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_TRUE(t.contiguous().same(t));  // already contiguous: the same handle, no copy
}

TEST(TensorViews, ContiguousOfOffsetSteppedAndBroadcastViews) {
  Tensor t = counting_matrix();
  // Rows 1..2, every other column starting at column 1.
  Tensor stepped = t.as_strided({2, 2}, {4, 2}, 5);
  EXPECT_EQ(values_of(stepped), (std::vector<float>{5, 7, 9, 11}));
  // Row 2 repeated three times through a zero stride.
  Tensor repeated = t.as_strided({3, 4}, {0, 1}, 8);
  EXPECT_EQ(values_of(repeated), (std::vector<float>{8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11}));
  // A [2, 3, 2] permutation of a [2, 2, 3] tensor (swap the last two axes).
  Tensor cube = tensor_from(values_of(arange(12)), {2, 2, 3});
  Tensor permuted = cube.as_strided({2, 3, 2}, {6, 1, 3}, 0);
  EXPECT_EQ(values_of(permuted), (std::vector<float>{0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11}));
  // Size-1 dimensions do not break contiguity whatever their stride.
  EXPECT_TRUE(t.as_strided({1, 4}, {99, 1}, 4).is_contiguous());
}

TEST(TensorCopies, CopyFromStridedSourceAndErrors) {
  Tensor t = counting_matrix();
  Tensor dst = Tensor::zeros({4, 3});
  dst.copy_(t.as_strided({4, 3}, {1, 4}, 0));
  EXPECT_EQ(values_of(dst), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  expect_value_error([&] { dst.copy_(t); }, "copy_: shape mismatch");
  Tensor ints = Tensor::zeros({4, 3}, DType::Int64);
  ints.fill_(7);
  dst.copy_(ints);  // copy_ converts dtypes, as torch's does
  EXPECT_EQ(values_of(dst), std::vector<float>(12, 7.0f));
  expect_value_error([&] { dst.copy_(Tensor::zeros({2, 3})); }, "must broadcast");
}

TEST(TensorCopies, CopyIntoStridedAndFromBroadcastViews) {
  // Into the transpose of t: t becomes dst's transpose.
  Tensor t = Tensor::zeros({3, 4});
  Tensor dst = tensor_from(values_of(arange(12)), {4, 3});
  const uint64_t version = t.version();
  t.as_strided({4, 3}, {1, 4}, 0).copy_(dst);
  EXPECT_EQ(values_of(t), (std::vector<float>{0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11}));
  EXPECT_GT(t.version(), version);
  // A 0-D source broadcast into rows 1..2 (x[1:3] = 5), and a row broadcast into every row.
  t.as_strided({2, 4}, {4, 1}, 4).copy_(Tensor::full({}, 5.0f));
  EXPECT_EQ(values_of(t), (std::vector<float>{0, 3, 6, 9, 5, 5, 5, 5, 5, 5, 5, 5}));
  t.copy_(tensor_from({1, 2, 3, 4}, {4}));
  EXPECT_EQ(values_of(t), (std::vector<float>{1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4}));
  // Overlapping source and destination in one storage: the source is read before it is written.
  Tensor line = tensor_from({0, 1, 2, 3, 4}, {5});
  line.as_strided({4}, {1}, 1).copy_(line.as_strided({4}, {1}, 0));
  EXPECT_EQ(values_of(line), (std::vector<float>{0, 0, 1, 2, 3}));
  // An expanded destination would write one element several times.
  EXPECT_THROW(line.as_strided({3}, {0}, 0).copy_(Tensor::zeros({3})), std::runtime_error);
  Tensor empty = Tensor::empty({3, 0});  // contiguous strides [0, 1]: nothing to write, no error
  empty.copy_(Tensor::zeros({3, 0}));
}

TEST(TensorCopies, CloneOwnsItsDataAndDropsHistory) {
  Tensor x = random_tensor({3, 2}, 2, /*requires_grad=*/true);
  Tensor c = x.clone();
  EXPECT_NE(c.storage().get(), x.storage().get());
  EXPECT_EQ(values_of(c), values_of(x));
  EXPECT_FALSE(c.requires_grad());
  EXPECT_EQ(c.grad_fn(), nullptr);
  c.fill_(7.0f);
  EXPECT_NE(values_of(x)[0], 7.0f);
  Tensor strided_clone = counting_matrix().as_strided({2}, {5}, 1).clone();
  EXPECT_EQ(values_of(strided_clone), (std::vector<float>{1, 6}));
}

TEST(TensorCopies, ItemReadsEveryDTypeAndViewOffsets) {
  EXPECT_FLOAT_EQ(static_cast<float>(tensor_from({1.25f}, {1, 1}).item()), 1.25f);
  Tensor i = Tensor::empty({}, DType::Int64);
  *i.data<int64_t>() = -(int64_t{1} << 40);
  EXPECT_EQ(i.item(), -1099511627776.0);
  Tensor u = Tensor::empty({1}, DType::UInt8);
  *u.data<uint8_t>() = 200;
  EXPECT_EQ(u.item(), 200.0);
  EXPECT_EQ(counting_matrix().as_strided({}, {}, 7).item(), 7.0);
  expect_value_error([] { Tensor::zeros({2}).item(); }, "item");
}

// PyTorch raises RuntimeError for these (backward would accumulate into a mismatched or aliased .grad).
TEST(TensorCopies, SetGradChecksShapeDtypeAndAliasing) {
  Tensor x = Tensor::zeros({3});
  EXPECT_THROW(x.set_grad(Tensor::zeros({4})), std::runtime_error);
  EXPECT_THROW(x.set_grad(Tensor::zeros({3}, DType::Int64)), std::runtime_error);
  EXPECT_THROW(x.set_grad(x), std::runtime_error);
  x.set_grad(Tensor::full({3}, 1.0f));
  EXPECT_EQ(values_of(x.grad()), (std::vector<float>{1, 1, 1}));
}

// The process-wide default dtype decides what a Python float and an integer input of a floating op
// become (torch.set_default_dtype); restored afterwards so no other test sees it.
TEST(TensorDTypes, DefaultDtypeDrivesNumberPromotionAndFloatingOps) {
  ASSERT_EQ(default_dtype(), DType::Float32);
  const Tensor ints = ops::to_dtype(tensor_from({1, 2, 3}, {3}), DType::Int64);
  set_default_dtype(DType::Float64);
  ResultType r;
  r.add(DType::Int64, OperandKind::Tensor);
  r.add(DType::Float64, OperandKind::Number);
  EXPECT_EQ(r.result(), DType::Float64);
  EXPECT_EQ(ops::mul(ints, Tensor::wrapped_number(1.5)).dtype(), DType::Float64);
  EXPECT_EQ(ops::exp(ints).dtype(), DType::Float64);
  EXPECT_EQ(ops::mul(tensor_from({1, 2}, {2}), Tensor::wrapped_number(1.5)).dtype(), DType::Float32);  // float32 stays
  EXPECT_THROW(set_default_dtype(DType::Int32), std::invalid_argument);
  EXPECT_EQ(default_dtype(), DType::Float64);
  set_default_dtype(DType::Float32);
  EXPECT_EQ(ops::exp(ints).dtype(), DType::Float32);
}

#if !DLCORE_WITH_CUDA
TEST(TensorDevices, CudaInACpuBuildIsARuntimeError) {
  try {
    Tensor::zeros({2}).to(Device::cuda());
    ADD_FAILURE() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("built without CUDA"), std::string::npos) << e.what();
  }
}
#endif

}  // namespace
}  // namespace dlcore
