// The differentiable ops. Each validates its arguments (a ValueError-style dlcore::ValueError naming
// the op and the shapes), allocates the output on the input's device, calls that device's kernel
// and, when a gradient is needed, records its backward Node. Implementations: cpp/src/ops/*.cpp.
#pragma once
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dlcore/ops_generated.h"  // the op table's pointwise ops (cpp/op_table.py)
#include "dlcore/tensor.h"

namespace dlcore {

// Bad arguments or shapes (Python ValueError); device and CUDA failures are std::runtime_error.
struct ValueError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
// An op without a kernel for the input's dtype (Python NotImplementedError, as PyTorch raises for
// "bitwise_and_cpu" not implemented for 'Float').
struct NotImplementedError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace ops {

// ---- elementwise: the pointwise ops (add, relu, eq, where, ...) are generated from the op table ----
Tensor affine(const Tensor& x, float scale, float shift);  // float32 x*scale + shift in one kernel
// Tensor.to(dtype): a converted copy (self when the dtype matches); gradients convert back.
Tensor to_dtype(const Tensor& x, DType dtype);

// ---- shape ----
Tensor reshape(const Tensor& x, const Shape& shape);         // one -1 allowed
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);

// ---- dense ----
Tensor matmul(const Tensor& a, const Tensor& b);             // [M,K] @ [K,N]
// bias may be undefined. relu = true fuses a following ReLU into the bias kernel: the result equals
// relu(linear(x, w, b)) with one kernel and one activation buffer fewer (like torch.ao's LinearReLU).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, bool relu = false);

struct Conv2dArgs {
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1, groups = 1;
};
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dArgs& args, bool relu = false);

struct Pool2dArgs {
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h = 0, pad_w = 0;
};
Tensor max_pool2d(const Tensor& x, const Pool2dArgs& args);
// torch's max_pool2d(return_indices=True): indices (int64, [N, C, P, Q]) are the flat h * W + w of
// each window's maximum in its input plane; only the values are differentiable.
struct MaxPool2dResult {
  Tensor values, indices;
};
MaxPool2dResult max_pool2d_with_indices(const Tensor& x, const Pool2dArgs& args);
Tensor avg_pool2d(const Tensor& x, const Pool2dArgs& args);

// ---- regularisation and normalisation ----
Tensor dropout(const Tensor& x, float p, bool training);
// running_mean/var are updated in place in training mode; weight/bias may be undefined.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, float momentum, float eps);

// ---- softmax and loss (over the last dimension) ----
Tensor log_softmax(const Tensor& x, int64_t dim = -1);
Tensor softmax(const Tensor& x, int64_t dim = -1);
enum class Reduction { None, Mean, Sum };
Reduction parse_reduction(const std::string& name);
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean,
                     float label_smoothing = 0.0f);

// ---- reductions (PyTorch's semantics: cpp/src/ops/reduce.cpp) ----
// dims: the dimensions to reduce (negative ones count from the end); empty means all of them. Sums
// and products of bool and integer tensors are int64; dtype converts the input first (torch's dtype=).
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false,
           std::optional<DType> dtype = std::nullopt);
Tensor sum(const Tensor& x);  // all elements
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false,
            std::optional<DType> dtype = std::nullopt);  // floating dtypes only
Tensor mean(const Tensor& x);
Tensor prod(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false,
            std::optional<DType> dtype = std::nullopt);
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor max(const Tensor& x);  // a 0-d tensor
Tensor min(const Tensor& x);
struct ValuesIndices {  // torch.return_types.max / min
  Tensor values, indices;
};
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim = false);
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim = false);
// No dim: the index into the flattened tensor. Ties go to the first index; NaN counts as the extreme.
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
void increment_(const Tensor& counter, int64_t by = 1);  // an int64 scalar += by, on its device

// ---- data ----
// A training batch from a uint8 dataset held on the device: images [N, H, W, C] (channels_last) or
// [N, C, H, W], labels [N]; returns (float32 [B, C, H, W] normalised per channel, int64 labels [B]).
std::pair<Tensor, Tensor> gather_normalize(const Tensor& images, const Tensor& labels, const Tensor& index,
                                           const std::vector<float>& mean, const std::vector<float>& std,
                                           bool channels_last);

// ---- statistics (cpp/src/ops/statistics.cpp): floating-point inputs; dims empty means all ----
// var/std divide by max(0, N - correction) (torch's correction; unbiased=True is correction 1).
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1, bool keepdim = false);
Tensor std_dev(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1, bool keepdim = false);  // torch.std
std::pair<Tensor, Tensor> var_mean(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1,
                                   bool keepdim = false);
std::pair<Tensor, Tensor> std_dev_mean(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1,
                                   bool keepdim = false);
Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
// The vector p-norm over dims (p = 2 is 'fro'; +-inf the max/min of |x|; 0 counts nonzeros).
Tensor norm(const Tensor& x, double p = 2, const std::vector<int64_t>& dims = {}, bool keepdim = false,
            std::optional<DType> dtype = std::nullopt);
Tensor all(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);  // bool results
Tensor any(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);

// ---- sorting and scans (cpp/src/ops/sorting.cpp; CPU tensors only for now) ----
// Sorts are stable; NaN sorts above every number. topk returns the k largest (or smallest), sorted.
ValuesIndices sort(const Tensor& x, int64_t dim = -1, bool descending = false);
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false);
ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true);
struct UniqueResult {  // torch.unique(x, sorted=True, return_inverse=True, return_counts=True)
  Tensor values, inverse, counts;
};
UniqueResult unique(const Tensor& x);  // over the flattened tensor
// torch.unique(x, dim=dim): the distinct slices along dim, sorted lexicographically; inverse and counts
// have one entry per slice of x and per unique slice.
UniqueResult unique_dim(const Tensor& x, int64_t dim);
// Integer and bool inputs scan in int64 (torch's result dtype); dtype converts the input first.
Tensor cumsum(const Tensor& x, int64_t dim, std::optional<DType> dtype = std::nullopt);
Tensor cumprod(const Tensor& x, int64_t dim, std::optional<DType> dtype = std::nullopt);

// ---- rearranging (cpp/src/ops/rearrange.cpp) ----
Tensor clone(const Tensor& x);  // a contiguous copy that autograd flows through
Tensor flip(const Tensor& x, const std::vector<int64_t>& dims);
Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims = {});
Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats);
Tensor tril(const Tensor& x, int64_t diagonal = 0);
Tensor triu(const Tensor& x, int64_t diagonal = 0);

// ---- the matmul family with torch's semantics (cpp/src/ops/matmul.cpp, einsum.cpp) ----
Tensor mm(const Tensor& a, const Tensor& b);
Tensor bmm(const Tensor& a, const Tensor& b);
Tensor general_matmul(const Tensor& a, const Tensor& b);  // torch.matmul: 1-D, batched, broadcasting
Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta = 1, double alpha = 1);
Tensor dot(const Tensor& a, const Tensor& b);
Tensor outer(const Tensor& a, const Tensor& b);
Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands);

}  // namespace ops
}  // namespace dlcore
#include "dlcore/view_ops.h"
#include "dlcore/index_ops.h"
