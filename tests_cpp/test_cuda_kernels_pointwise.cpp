// Every op of the op table on the CUDA backend against the CPU one, read from the generated list so
// a new row is covered without a new test: forward in every dtype the row names (broadcast,
// transposed and scalar operands) and, for differentiable rows, the gradient of every input.
#include <cmath>

#include "dlcore/autograd.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/ops.h"
#include "gradcheck.h"
#include "ops/pointwise.h"

namespace dlcore {
namespace {

using testing::random_tensor;
using testing::tensor_from;
using testing::values_of;

struct Row {
  PointwiseOp op;
  const char* name;
  int arity;
  DTypeClass dtypes;
  bool differentiable;
  unsigned condition_inputs;
};
const Row kRows[] = {
#define DLCORE_POINTWISE_OP(Functor, name, arity, dtypes, bool_output, differentiable, saved, result, cond, ...) \
  {PointwiseOp::Functor, #name, arity, dtypes, differentiable, cond},
#include "dlcore/pointwise_ops.inc"
#undef DLCORE_POINTWISE_OP
};

std::vector<DType> dtypes_of(DTypeClass k) {
  std::vector<DType> out;
  if (k != DTypeClass::Integral && k != DTypeClass::IntegralBool)
    out = {DType::Float32, DType::Float64, DType::Float16, DType::BFloat16};
  if (k != DTypeClass::Float && k != DTypeClass::FloatOnly) out.insert(out.end(), {DType::Int64, DType::Int32, DType::UInt8});
  if (k == DTypeClass::All || k == DTypeClass::IntegralBool) out.push_back(DType::Bool);
  return out;
}

// Inputs in (0.5, 2) so log, sqrt and pow stay real (integers in [1, 4): no zero divisors, shifts
// within the width); input k of a row is a bool mask where the row says so. Shapes exercise
// broadcasting and a transposed (strided) first operand.
std::vector<Tensor> inputs_for(const Row& row, DType dtype, uint32_t seed) {
  const Shape shapes[3] = {{7, 5}, {7}, {1, 7}};  // the first is transposed to [5, 7]
  std::vector<Tensor> out;
  for (int k = 0; k < row.arity; ++k) {
    const bool integral = is_integral(dtype);
    Tensor x = random_tensor(shapes[k], seed + k, false, integral ? 1.0f : 0.5f, integral ? 4.0f : 2.0f);
    x = ((row.condition_inputs >> k) & 1u) ? ops::gt(x, Tensor::wrapped_number(1.25)) : ops::to_dtype(x, dtype);
    out.push_back(k == 0 ? ops::transpose(x, 0, 1) : x);
  }
  return out;
}

TEST(CudaKernelsPointwise, EveryTableOpMatchesTheCpu) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  PointwiseArgs args;
  args.a = 0.25, args.b = 0.75, args.has_a = args.has_b = true;
  uint32_t seed = 1;
  for (const Row& row : kRows) {
    for (DType dtype : dtypes_of(row.dtypes)) {
      const std::vector<Tensor> cpu = inputs_for(row, dtype, seed += 10);
      std::vector<Tensor> gpu;
      for (const Tensor& t : cpu) gpu.push_back(t.to(Device::cuda()));
      auto run = [&](const std::vector<Tensor>& in) {
        if (row.arity == 1) return ops::pointwise::compute(row.op, {in[0]}, args);
        if (row.arity == 2) return ops::pointwise::compute(row.op, {in[0], in[1]}, args);
        return ops::pointwise::compute(row.op, {in[0], in[1], in[2]}, args);
      };
      const Tensor expected = run(cpu), actual = run(gpu);
      ASSERT_EQ(actual.dtype(), expected.dtype()) << row.name;
      ASSERT_EQ(actual.shape(), expected.shape()) << row.name;
      // The GPU's exp/log/erf differ from the CPU's libm by a few ulp; 16-bit results by one rounding.
      const double tol = dtype == DType::Float16 ? 2e-3 : dtype == DType::BFloat16 ? 1.6e-2 : 1e-5;
      EXPECT_TRUE(testing::all_close(values_of(ops::to_dtype(actual.to(Device::cpu()), DType::Float32)),
                                     values_of(ops::to_dtype(expected, DType::Float32)), tol))
          << row.name << " forward in " << dtype_name(dtype);

      if (!row.differentiable || (dtype != DType::Float32 && dtype != DType::Float64)) continue;
      std::vector<Tensor> cpu_leaves, gpu_leaves;
      for (size_t k = 0; k < cpu.size(); ++k) {
        const bool grad = !((row.condition_inputs >> k) & 1u);
        cpu_leaves.push_back(cpu[k].detach());
        gpu_leaves.push_back(gpu[k].detach());
        if (grad) cpu_leaves.back().set_requires_grad(true), gpu_leaves.back().set_requires_grad(true);
      }
      Tensor upstream = ops::to_dtype(random_tensor(expected.shape(), seed + 5), dtype);
      run(cpu_leaves).backward(upstream);
      run(gpu_leaves).backward(upstream.to(Device::cuda()));
      for (size_t k = 0; k < cpu.size(); ++k) {
        if (!cpu_leaves[k].requires_grad()) continue;
        EXPECT_TRUE(testing::all_close(values_of(ops::to_dtype(gpu_leaves[k].grad().to(Device::cpu()), DType::Float32)),
                                       values_of(ops::to_dtype(cpu_leaves[k].grad(), DType::Float32)), 1e-5))
            << row.name << " gradient of input " << k << " in " << dtype_name(dtype);
      }
    }
  }
}

TEST(CudaKernelsPointwise, ScalarOperandsAndCastsMatchTheCpu) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  Tensor x = random_tensor({3, 4}, 3);
  Tensor on_gpu = ops::add(x.to(Device::cuda()), Tensor::wrapped_number(2.5), -2.0);  // a number: no copy
  EXPECT_EQ(values_of(on_gpu.to(Device::cpu())), values_of(ops::add(x, Tensor::wrapped_number(2.5), -2.0)));
  for (DType to : {DType::Bool, DType::UInt8, DType::Int32, DType::Int64, DType::Float16, DType::BFloat16, DType::Float64}) {
    Tensor scaled = ops::mul(x, Tensor::wrapped_number(100.0));
    EXPECT_EQ(values_of(ops::to_dtype(ops::to_dtype(scaled.to(Device::cuda()), to), DType::Float32).to(Device::cpu())),
              values_of(ops::to_dtype(ops::to_dtype(scaled, to), DType::Float32)))
        << "cast to " << dtype_name(to);
  }
  Tensor filled = Tensor::full({2, 3}, int64_t{1} << 40, DType::Int64, Device::cuda());
  EXPECT_EQ(filled.to(Device::cpu()).data<int64_t>()[5], int64_t{1} << 40);  // exact, not through float
}

}  // namespace
}  // namespace dlcore
