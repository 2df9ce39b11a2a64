// Kernel interface shared by the CPU and CUDA backends.
// The shape structs below are plain data passed by value to both backends; kernel_list.inc holds
// the declarations, included once per backend namespace so the two can never drift apart.
#pragma once
#include <cstdint>

#include "dlcore/dtype.h"

namespace dlcore {

constexpr int kMaxDims = 8;

// ---- pointwise ops: the rows of cpp/op_table.py (generated list) --------------------------------
// Which dtypes an op's kernels exist for (FloatOnly has Float's kernels; the op layer refuses, rather
// than promotes, integer inputs). See the `dtypes` field in cpp/op_table.py.
enum class DTypeClass : int8_t { Float, FloatOnly, Numeric, All, Integral, IntegralBool };

enum class PointwiseOp : int16_t {
#define DLCORE_POINTWISE_OP(Functor, ...) Functor,
#include "dlcore/pointwise_ops.inc"
#undef DLCORE_POINTWISE_OP
};
constexpr int kPointwiseOpCount = 0
#define DLCORE_POINTWISE_OP(...) +1
#include "dlcore/pointwise_ops.inc"
#undef DLCORE_POINTWISE_OP
    ;

// A pointwise iteration space over up to kMaxOperands strided operands (operand 0 is written),
// already coalesced by the op layer. A scalar operand (a Python number) is passed by value in
// `scalar`, converted to its operand's element type, with all strides 0, so it costs no device
// memory or host-to-device copy.
constexpr int kMaxOperands = 6;  // a ternary op's backward: gx, gy, three inputs, the result
struct PointwiseIter {
  int ndim = 0;
  int noperands = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxOperands][kMaxDims] = {};  // in elements
  void* data[kMaxOperands] = {};
  bool is_scalar[kMaxOperands] = {};
  alignas(8) unsigned char scalar[kMaxOperands][8] = {};
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= sizes[i];
    return n;
  }
};

// An op's scalar arguments, in the order of its signature (negative_slope, alpha, min/max, ...),
// and the largest finite value of the dtype the kernel computes in (set by the op layer:
// nan_to_num's default replacement of infinities).
struct PointwiseArgs {
  double a = 0, b = 0, c = 0;
  bool has_a = false, has_b = false, has_c = false;  // optional arguments (clamp's min and max)
  double finite_max = 0;
};

// A reduction: `outputs` results, each combining `reduced` elements of the input. Output o's
// elements start at the offset of o's coordinates over out_sizes/out_strides (the kept dimensions,
// in the input's order) and walk the reduced dimensions red_sizes/red_strides (element strides,
// innermost last). The op layer builds it from any strided view; reduced index r (row-major over
// red_sizes) is what ArgMax-style results report.
enum class ReduceOp : int8_t { Sum, Prod, Max, Min };
struct ReduceIter {
  int out_ndim = 0, red_ndim = 0;
  int64_t out_sizes[kMaxDims] = {}, out_strides[kMaxDims] = {};
  int64_t red_sizes[kMaxDims] = {}, red_strides[kMaxDims] = {};
  int64_t outputs = 1, reduced = 1;
  const void* input = nullptr;
  void* values = nullptr;      // [outputs] contiguous, or null (argmax/argmin want indices only)
  int64_t* indices = nullptr;  // [outputs] contiguous, Max/Min only, or null
  double scale = 1.0;          // Sum: results are multiplied by it (1/reduced for mean)
};

// Sorting and scans (sort_rows, topk_rows, scan_rows in kernel_list.inc).
enum class SortOrder : int8_t { Ascending, Descending };
enum class ScanOp : int8_t { Sum, Product };

struct Conv2dShape {
  int64_t N, C, H, W;      // input
  int64_t K, R, S;         // output channels, kernel height, kernel width
  int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
  int64_t P, Q;            // output height, width
};

struct Pool2dShape {
  int64_t N, C, H, W;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
  int64_t P, Q;
};

struct GatherShape {
  int64_t batch, C, H, W;
  bool channels_last;
  float mean[4], std[4];   // per channel, C <= 4
};

// ---- advanced indexing: gathers and scatters through element offsets ----------------------------
// The op layer turns every indexing op (x[idx], x[idx] = v, gather, scatter, index_add, take, ...)
// into one iteration space over the op's result. Per dimension it holds three element strides:
// into the indexed tensor ("data"; 0 along the dimensions an index picks), into an int64 offsets
// array (0 along the dimensions no index picks) whose entries are index x stride, already checked
// and wrapped by the op layer, and into the other operand (the gather's output, the scatter's
// values; 0 where they are broadcast). Element c of the space addresses
//   data[sum_d c_d * data_strides[d] + offsets[sum_d c_d * offset_strides[d]]]  and
//   other[sum_d c_d * other_strides[d]].
struct IndexIter {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t data_strides[kMaxDims] = {};
  int64_t offset_strides[kMaxDims] = {};
  int64_t other_strides[kMaxDims] = {};
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= sizes[i];
    return n;
  }
};

// How index_scatter combines a value with the element it lands on.
enum class ScatterMode : int8_t { Assign, Add, Multiply };

// The shape of a contiguous tensor whose nonzero elements' coordinates are wanted.
struct NonzeroShape {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= sizes[i];
    return n;
  }
};

// Fused optimizer steps update a list of parameter tensors in one call (one launch on CUDA, where
// a small model's step is bound by launches). Each entry names one tensor, its gradient and its
// state tensors (which slot holds what is listed per rule in kernel_list.inc), all contiguous
// float32 of n elements on the backend's device.
constexpr int kMaxOptimizerState = 3;
struct OptimizerTensor {
  float* param;
  const float* grad;
  float* state[kMaxOptimizerState];  // unused slots may be null
  int64_t n;
  int64_t step;       // this tensor's step count, from 1, already including this step
  float mu_product;   // NAdam: the product of the momentum coefficients through this step
  bool first_step;    // SGD: torch seeds the momentum buffer with the gradient on the first step
};

// Hyperparameters as torch.optim holds them: Python floats (double). The kernels derive their float
// constants from these exactly where torch turns a Python scalar into a float32 operand, and
// compute torch's step-dependent Python-float scalars (bias corrections, ...) in double.
struct SgdHyper {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
};
struct AdamHyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled;  // AdamW: the parameter is scaled by 1 - lr * weight_decay instead of L2 on the gradient
  bool amsgrad, maximize;
};
struct AdagradHyper {
  double lr, lr_decay, weight_decay, eps;
  bool maximize;
};
struct AdadeltaHyper {
  double lr, rho, eps, weight_decay;
  bool maximize;
};
struct RmspropHyper {
  double lr, alpha, eps, weight_decay, momentum;
  bool centered, maximize;
};
struct AdamaxHyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool maximize;
};
struct NadamHyper {
  double lr, beta1, beta2, eps, weight_decay, momentum_decay;
  bool decoupled, maximize;
};
struct RadamHyper {
  double lr, beta1, beta2, eps, weight_decay;
  bool decoupled, maximize;
};

namespace kernels::cpu {
#include "dlcore/kernel_list.inc"
// The CPU kernels' thread count, process-wide (torch.set_num_threads): OpenMP's own setting is per
// calling thread, so a count set from one Python thread would not reach kernels run from another.
void set_num_threads(int n);
int num_threads();
// Whether 3x3 stride-1 convolutions may use Winograd F(4x4, 3x3) (on by default; see
// kernels/cpu/winograd.cpp): ~4x fewer multiplications, float rounding ~30x the direct
// lowering's (~1e-5 of the output's scale instead of ~3e-7). dl.backends.cpu.allow_winograd.
void set_winograd_enabled(bool enabled);
bool winograd_enabled();
}  // namespace kernels::cpu

namespace kernels::cuda {
#include "dlcore/kernel_list.inc"
}  // namespace kernels::cuda

}  // namespace dlcore
