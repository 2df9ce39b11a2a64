// Ops that copy, rearrange or mask elements without arithmetic: clone, flip, roll, repeat, tril, triu. Each is
// built from views, index_select, cat and where, so autograd flows through those ops and the same
// code runs on every device.
#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {
namespace {

// clone's gradient passes through unchanged.
struct CloneBackward : Node {
  std::vector<Tensor> apply(const Tensor& g) override { return {g}; }
  std::string name() const override { return "CloneBackward"; }
};

// The zero of x's dtype as a number that keeps that dtype in where() (false for bool).
Tensor zero_of(const Tensor& x) {
  return Tensor::wrapped_number(x.dtype() == DType::Bool ? Scalar(false) : Scalar(int64_t{0}));
}

// The [rows, cols] mask of elements with col - row compared against diagonal: on or below it for
// tril, on or above it for triu.
Tensor triangle(const Tensor& x, int64_t diagonal, bool lower, const char* op) {
  check_defined(x, op, "input");
  if (x.dim() < 2) throw std::runtime_error(std::string(op) + ": input tensor must have at least 2 dimensions, got " +
                                            shape_str(x.shape()));
  const int64_t rows = x.size(-2), cols = x.size(-1);
  const Tensor row = reshape(arange(Scalar(0), Scalar(rows), Scalar(1), DType::Int64, x.device()), {rows, 1});
  const Tensor col = arange(Scalar(0), Scalar(cols), Scalar(1), DType::Int64, x.device());
  const Tensor offset = sub(col, row);
  const Tensor keep = lower ? le(offset, Tensor::wrapped_number(Scalar(diagonal)))
                            : ge(offset, Tensor::wrapped_number(Scalar(diagonal)));
  return where(keep, x, zero_of(x));
}

}  // namespace

Tensor clone(const Tensor& x) {
  check_defined(x, "clone", "input");
  Tensor out = x.clone();
  if (autograd::any_requires_grad({&x})) autograd::record(std::make_shared<CloneBackward>(), {&x}, out);
  return out;
}

Tensor flip(const Tensor& x, const std::vector<int64_t>& dims) {
  profiler::OpScope profile_scope("flip", x);
  check_defined(x, "flip", "input");
  std::vector<bool> seen(std::max<int64_t>(x.dim(), 1), false);
  Tensor out = x;
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, x.dim(), "flip");
    if (seen[w]) throw std::runtime_error("flip: dim " + std::to_string(w) + " appears multiple times in the list of dims");
    seen[w] = true;
    if (x.dim() == 0) continue;
    const int64_t n = x.size(w);
    out = index_select(out, w, arange(Scalar(n - 1), Scalar(int64_t{-1}), Scalar(int64_t{-1}), DType::Int64, x.device()));
  }
  return out.same(x) ? clone(x) : out;  // torch's flip always copies
}

Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims) {
  profiler::OpScope profile_scope("roll", x);
  check_defined(x, "roll", "input");
  if (dims.empty()) {
    if (shifts.size() != 1)
      throw std::runtime_error("roll: shifts and dimensions must align: without dims, one shift is expected, got " +
                               std::to_string(shifts.size()));
    return reshape(roll(reshape(x, {-1}), shifts, {0}), x.shape());
  }
  if (shifts.size() != dims.size())
    throw std::runtime_error("roll: shifts and dimensions must align. shifts: " + std::to_string(shifts.size()) +
                             ", dims: " + std::to_string(dims.size()));
  Tensor out = x;
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = wrap_dim(dims[i], x.dim(), "roll");
    const int64_t n = x.dim() == 0 ? 1 : x.size(d);
    if (n == 0 || x.dim() == 0) continue;
    const int64_t s = ((shifts[i] % n) + n) % n;  // the first s elements of the result come from the end
    if (s == 0) continue;
    out = cat({narrow(out, d, n - s, s), narrow(out, d, 0, n - s)}, d);
  }
  return out.same(x) ? clone(x) : out;
}

Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats) {
  profiler::OpScope profile_scope("repeat", x);
  check_defined(x, "repeat", "input");
  const int64_t n = static_cast<int64_t>(repeats.size());
  if (n < x.dim())
    throw std::runtime_error("repeat: the number of repeat dims (" + std::to_string(n) +
                             ") can not be smaller than the number of dimensions of the tensor " + shape_str(x.shape()));
  for (int64_t r : repeats)
    if (r < 0) throw std::runtime_error("repeat: negative repeat count " + std::to_string(r));
  // View x as [1, s0, 1, s1, ...] (leading sizes 1 where repeats has more dims), expand each 1 to its
  // repeat count and fold the pairs: [r0 * s0, r1 * s1, ...].
  Shape interleaved, expanded, folded;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t size = i < n - x.dim() ? 1 : x.size(i - (n - x.dim()));
    interleaved.insert(interleaved.end(), {1, size});
    expanded.insert(expanded.end(), {repeats[i], size});
    folded.push_back(repeats[i] * size);
  }
  return reshape(contiguous(expand(reshape(x, interleaved), expanded)), folded);
}

Tensor tril(const Tensor& x, int64_t diagonal) {
  profiler::OpScope profile_scope("tril", x);
  return triangle(x, diagonal, true, "tril");
}
Tensor triu(const Tensor& x, int64_t diagonal) {
  profiler::OpScope profile_scope("triu", x);
  return triangle(x, diagonal, false, "triu");
}

}  // namespace dlcore::ops
