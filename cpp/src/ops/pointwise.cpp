// The pointwise op layer (see pointwise.h): checks, type promotion, broadcasting, the coalesced
// strided iteration, device dispatch and the one backward node every table op shares.
#include "pointwise.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>

#include "../kernels/pointwise_dispatch.h"
#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops::pointwise {
namespace {

// What the op table says of each op at run time (expanded from the generated list).
struct OpInfo {
  const char* name;
  int arity;
  DTypeClass dtypes;
  bool bool_output;
  bool differentiable;
  unsigned saved_inputs;      // bit k: the backward functor reads input k
  bool saves_result;
  unsigned condition_inputs;  // bit k: input k is a bool mask outside promotion
  unsigned divisor_inputs;    // bit k: input k divides in integer arithmetic (zero is refused on the CPU)
};
constexpr OpInfo kOps[] = {
#define DLCORE_POINTWISE_OP(Functor, name, arity, dtypes, bool_output, differentiable, saved, result, cond, divisor) \
  {#name, arity, dtypes, bool_output, differentiable, saved, result, cond, divisor},
#include "dlcore/pointwise_ops.inc"
#undef DLCORE_POINTWISE_OP
};
static_assert(sizeof(kOps) / sizeof(kOps[0]) == kPointwiseOpCount);

const OpInfo& info(PointwiseOp op) { return kOps[static_cast<int>(op)]; }
bool is_condition(const OpInfo& op, size_t k) { return (op.condition_inputs >> k) & 1u; }

Scalar wrapped_value(const Tensor& t) {
  return visit_dtype(t.dtype(), [&](auto tag) -> Scalar {
    using T = typename decltype(tag)::type;
    const T v = *static_cast<const T*>(t.raw_data());
    if constexpr (std::is_same_v<T, bool>) return Scalar(v);
    else if constexpr (std::is_integral_v<T>) return Scalar(static_cast<int64_t>(v));
    else return Scalar(static_cast<double>(static_cast<opmath_t<T>>(v)));
  });
}

// PyTorch's NotImplementedError for a dtype an op has no kernel for ("bitwise_and_cpu" not
// implemented for 'Float'); FLOAT ops promote integers instead, so they never get here.
void check_dtype_class(const OpInfo& op, DType promoted) {
  const bool floating = is_floating(promoted), boolean = promoted == DType::Bool;
  const char* wanted = nullptr;
  switch (op.dtypes) {
    case DTypeClass::Float:
    case DTypeClass::All: return;
    case DTypeClass::FloatOnly: if (!floating) wanted = "floating point"; break;
    case DTypeClass::Numeric: if (boolean) wanted = "numeric (not bool)"; break;
    case DTypeClass::Integral: if (floating || boolean) wanted = "integer"; break;
    case DTypeClass::IntegralBool: if (floating) wanted = "integer or bool"; break;
  }
  if (wanted)
    throw NotImplementedError(std::string(op.name) + ": not implemented for " + dtype_name(promoted) + " (it takes " +
                              wanted + " tensors)");
}

// Integer division by zero traps on the CPU; PyTorch's CPU kernels raise ZeroDivisionError instead.
// (CUDA kernels are not stopped: the functors return 0 there, where PyTorch's return garbage.)
void check_integer_divisors(const OpInfo& op, const std::vector<Tensor>& inputs, DType compute) {
  if (!op.divisor_inputs || !is_integral(compute)) return;
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!((op.divisor_inputs >> k) & 1u)) continue;
    const Tensor& t = inputs[k];
    if (t.is_cuda() || t.numel() == 0) continue;
    bool zero = false;
    if (t.is_wrapped_number()) {
      zero = wrapped_value(t).to_int64() == 0;
    } else {
      const Tensor is_zero = ops::eq(t, Tensor::wrapped_number(Scalar(int64_t{0}))).contiguous();
      const bool* z = is_zero.data<bool>();
      zero = std::any_of(z, z + is_zero.numel(), [](bool v) { return v; });
    }
    if (zero) throw std::runtime_error(std::string(op.name) + ": ZeroDivisionError (integer division by zero)");
  }
}

// The largest finite value of a floating dtype (nan_to_num's default for infinities).
double finite_max(DType dtype) {
  switch (dtype) {
    case DType::Float16: return 65504.0;
    case DType::BFloat16: return 3.3895313892515355e38;
    case DType::Float32: return static_cast<double>(std::numeric_limits<float>::max());
    case DType::Float64: return std::numeric_limits<double>::max();
    default: return 0.0;
  }
}

struct Plan {
  DType compute;  // what the kernel computes in (the promoted dtype, float for float-only ops)
  DType output;
  Device device;  // of the non-number inputs
  Shape shape;    // the broadcast shape
};

Plan plan(const OpInfo& op, const std::vector<Tensor>& inputs) {
  ResultType result;
  const Tensor* on_device = nullptr;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& t = inputs[k];
    if (!t.defined()) throw ValueError(std::string(op.name) + ": argument " + std::to_string(k) + " is undefined (None)");
    if (!t.is_wrapped_number()) {
      if (on_device && t.device() != on_device->device())
        throw std::runtime_error(std::string(op.name) + ": expected all tensors to be on the same device, but found " +
                                 on_device->describe() + " and " + t.describe());
      if (!on_device) on_device = &t;
    }
    if (is_condition(op, k)) {
      if (t.dtype() != DType::Bool)
        throw ValueError(std::string(op.name) + ": expected condition to be a bool tensor, got " + t.describe());
      continue;
    }
    result.add(t.dtype(), t.is_wrapped_number() ? OperandKind::Number
                          : t.dim() == 0       ? OperandKind::ZeroDimTensor
                                               : OperandKind::Tensor);
  }
  Plan p;
  p.compute = result.result();
  check_dtype_class(op, p.compute);
  if (op.dtypes == DTypeClass::Float && !is_floating(p.compute)) p.compute = default_dtype();  // exp(int) is float
  p.output = op.bool_output ? DType::Bool : p.compute;
  p.device = on_device ? on_device->device() : Device::cpu();
  for (const Tensor& t : inputs) p.shape = broadcast_shapes(p.shape, t.shape(), op.name);
  return p;
}

// The gradient of every table op: one backward kernel per input that needs a gradient, then the
// sum back over the dimensions that input was broadcast along.
struct PointwiseBackward : Node {
  PointwiseOp op;
  PointwiseArgs args;
  DType compute;
  Shape out_shape;
  std::vector<Tensor> inputs;  // in the compute dtype; undefined where the backward never reads it
  std::vector<Shape> input_shapes;
  std::vector<bool> needs_grad;
  Tensor result;

  std::vector<Tensor> apply(const Tensor& g_in) override {
    const OpInfo& o = info(op);
    const Tensor g = g_in.dtype() == compute ? g_in : to_dtype(g_in, compute);
    std::vector<Tensor> grads(inputs.size());
    for (size_t k = 0; k < inputs.size(); ++k) {
      if (!needs_grad[k]) continue;
      // add's gradients at alpha 1 are g itself: no kernel, no buffer (the engine and AccumulateGrad
      // count owners, so a g handed to several inputs is copied only where someone writes into it).
      if (pointwise_dispatch::gradient_is_upstream(op, static_cast<int>(k), args)) {
        grads[k] = sum_to_shape(g, input_shapes[k]);
        continue;
      }
      Tensor gx = Tensor::empty(out_shape, compute, g.device());
      if (gx.numel() > 0) {
        std::vector<Operand> operands{{gx, compute}, {g, compute}};
        for (size_t j = 0; j < inputs.size(); ++j)
          operands.push_back(inputs[j].defined() ? Operand{inputs[j], is_condition(o, j) ? DType::Bool : compute}
                                                 : Operand{g, compute});
        operands.push_back(result.defined() ? Operand{result, compute} : Operand{g, compute});
        const PointwiseIter it = make_iter(out_shape, operands);
        DLCORE_DISPATCH(g.device(), pointwise_backward, op, static_cast<int>(k), compute, it, args);
      }
      grads[k] = sum_to_shape(gx, input_shapes[k]);
    }
    return grads;
  }
  std::string name() const override {
    std::string n = info(op).name;  // relu -> ReluBackward, leaky_relu -> LeakyReluBackward
    std::string out;
    bool upper = true;
    for (char c : n) {
      if (c == '_') { upper = true; continue; }
      out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    }
    return out + "Backward";
  }
  bool release_saved() override {
    bool any = result.defined();
    for (Tensor& t : inputs) {
      any = any || t.defined();
      t = Tensor();
    }
    result = Tensor();
    return any;
  }
};

// Inputs converted to the compute dtype (through to_dtype, so gradients convert back); wrapped
// numbers and conditions stay as they are.
std::vector<Tensor> converted(const OpInfo& op, const std::vector<Tensor>& inputs, DType compute) {
  std::vector<Tensor> out(inputs);
  for (size_t k = 0; k < out.size(); ++k)
    if (!is_condition(op, k) && !out[k].is_wrapped_number() && out[k].dtype() != compute) out[k] = to_dtype(out[k], compute);
  return out;
}

void record_backward(PointwiseOp op, const OpInfo& o, const PointwiseArgs& args, const Plan& p,
                     const std::vector<Tensor>& inputs, const Tensor& out_in) {
  if (!o.differentiable || !GradMode::is_enabled()) return;
  bool any = false;
  for (size_t k = 0; k < inputs.size(); ++k) any = any || (!is_condition(o, k) && inputs[k].requires_grad());
  if (!any) return;
  auto node = std::make_shared<PointwiseBackward>();
  node->op = op;
  node->args = args;
  node->compute = p.compute;
  node->out_shape = p.shape;
  node->inputs.resize(inputs.size());
  for (size_t k = 0; k < inputs.size(); ++k) {
    node->input_shapes.push_back(inputs[k].shape());
    node->needs_grad.push_back(!is_condition(o, k) && inputs[k].requires_grad());
    if ((o.saved_inputs >> k) & 1u) node->save(node->inputs[k], inputs[k]);
  }
  Tensor out = out_in;
  if (o.saves_result) node->save(node->result, out);
  node->next_edges.clear();
  for (const Tensor& t : inputs) node->next_edges.push_back(autograd::gradient_edge(t));
  out.impl()->grad_fn = node;
  out.impl()->requires_grad = true;
}

}  // namespace

PointwiseIter make_iter(const Shape& shape, const std::vector<Operand>& operands) {
  const int nd = static_cast<int>(shape.size());
  if (operands.size() > static_cast<size_t>(kMaxOperands)) throw std::logic_error("pointwise: too many operands");
  // Element strides of each operand against the full shape (0 along broadcast dimensions).
  std::vector<int64_t> stride_table(operands.size() * nd);
  auto strides = [&](int k) { return stride_table.data() + static_cast<size_t>(k) * nd; };
  PointwiseIter it;
  it.noperands = static_cast<int>(operands.size());
  for (int k = 0; k < it.noperands; ++k) {
    const Tensor& t = operands[k].tensor;
    const int offset = nd - static_cast<int>(t.dim());
    for (int d = 0; d < nd; ++d) {
      const int td = d - offset;
      strides(k)[d] = (td < 0 || t.shape()[td] == 1) ? 0 : t.strides()[td];
    }
    if (t.is_wrapped_number()) {
      it.is_scalar[k] = true;
      wrapped_value(t).write_as(operands[k].dtype, it.scalar[k]);
    } else {
      if (t.dtype() != operands[k].dtype)
        throw std::logic_error("pointwise: operand " + std::to_string(k) + " is " + t.describe() + ", expected " +
                               dtype_name(operands[k].dtype));
      it.data[k] = t.raw_data();
    }
  }
  // Coalesce: drop size-1 dimensions and merge a dimension into the next inner one when every
  // operand steps through both as one. This is the only place dimensions are coalesced: copies,
  // casts and every table op iterate through it, so any number of dimensions works as long as the
  // layouts need at most kMaxDims after merging.
  for (int d = 0; d < nd; ++d) {
    if (shape[d] == 1) continue;
    if (it.ndim > 0) {
      const int last = it.ndim - 1;
      bool mergeable = true;
      for (int k = 0; k < it.noperands; ++k) mergeable = mergeable && it.strides[k][last] == strides(k)[d] * shape[d];
      if (mergeable) {
        it.sizes[last] *= shape[d];
        for (int k = 0; k < it.noperands; ++k) it.strides[k][last] = strides(k)[d];
        continue;
      }
    }
    if (it.ndim == kMaxDims)
      throw ValueError("pointwise: the operands' layouts over shape " + shape_str(shape) + " need more than " +
                       std::to_string(kMaxDims) + " dimensions after merging contiguous ones; make them contiguous first");
    it.sizes[it.ndim] = shape[d];
    for (int k = 0; k < it.noperands; ++k) it.strides[k][it.ndim] = strides(k)[d];
    ++it.ndim;
  }
  if (it.ndim == 0) {  // one element (or a 0-d result)
    it.ndim = 1;
    it.sizes[0] = shape_numel(shape);
  }
  return it;
}

void copy_elements(const Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  DLCORE_DISPATCH(dst.device(), cast, src.dtype(), dst.dtype(),
                  make_iter(dst.shape(), {{dst, dst.dtype()}, {src, src.dtype()}}));
}

Tensor compute(PointwiseOp op, std::initializer_list<Tensor> input_list, const PointwiseArgs& scalar_args) {
  const OpInfo& o = info(op);
  const std::vector<Tensor> given(input_list);
  const Plan p = plan(o, given);
  check_integer_divisors(o, given, p.compute);
  PointwiseArgs args = scalar_args;
  args.finite_max = finite_max(p.compute);
  const std::vector<Tensor> inputs = converted(o, given, p.compute);
  Tensor out = Tensor::empty(p.shape, p.output, p.device);
  if (out.numel() > 0) {
    std::vector<Operand> operands{{out, p.output}};
    for (size_t k = 0; k < inputs.size(); ++k) operands.push_back({inputs[k], is_condition(o, k) ? DType::Bool : p.compute});
    DLCORE_DISPATCH(p.device, pointwise_forward, op, p.compute, make_iter(p.shape, operands), args);
  }
  record_backward(op, o, args, p, inputs, out);
  return out;
}

Tensor compute_into(const Tensor& self, PointwiseOp op, std::initializer_list<Tensor> input_list,
                    const PointwiseArgs& scalar_args) {
  const OpInfo& o = info(op);
  const std::vector<Tensor> given(input_list);
  const Plan p = plan(o, given);
  check_integer_divisors(o, given, p.compute);
  PointwiseArgs args = scalar_args;
  args.finite_max = finite_max(p.compute);
  const std::string name = std::string(o.name) + "_";
  if (p.shape != self.shape())
    throw ShapeError(name + ": output with shape " + shape_str(self.shape()) +
                     " doesn't match the broadcast shape " + shape_str(p.shape));
  // PyTorch's can_cast: no float result into an integer tensor, no non-bool into a bool one
  // (RuntimeError, as in torch: x //= 2.5 on an integer tensor).
  if ((is_floating(p.output) && !is_floating(self.dtype())) || (self.dtype() == DType::Bool && p.output != DType::Bool))
    throw std::runtime_error(name + ": result type " + dtype_name(p.output) + " can't be cast to the desired output type " +
                             dtype_name(self.dtype()));
  bool records = false;
  for (size_t k = 0; k < given.size(); ++k) records = records || (!is_condition(o, k) && given[k].requires_grad());
  if (GradMode::is_enabled() && records) {
    // Autograd through an in-place op (loss += term): compute the result out of place, recording
    // its node, write it into self and make that node self's history (PyTorch rebases likewise).
    // A saved input that the write overwrites makes backward raise through its version counter.
    if (self.requires_grad() && self.is_leaf())
      throw std::runtime_error(name + ": a leaf tensor that requires grad (" + self.describe() +
                               ") is being used in an in-place operation; do it under dl.no_grad()");
    // When backward needs none of the values the write destroys (relu_ saves only its result),
    // the kernel writes self directly and the node saves self after the write, as torch does:
    // no temporary, no copy. The node's edges are taken before self's history is replaced.
    const std::vector<Tensor> inputs = converted(o, given, p.compute);
    bool overwrites_saved_input = false;
    for (size_t k = 0; k < inputs.size(); ++k)
      overwrites_saved_input = overwrites_saved_input ||
                               (((o.saved_inputs >> k) & 1u) && inputs[k].storage() == self.storage());
    if (!overwrites_saved_input && p.output == self.dtype() && self.numel() > 0) {
      std::vector<Operand> operands{{self, p.output}};
      for (size_t k = 0; k < inputs.size(); ++k)
        operands.push_back({inputs[k], is_condition(o, k) ? DType::Bool : p.compute});
      DLCORE_DISPATCH(p.device, pointwise_forward, op, p.compute, make_iter(p.shape, operands), args);
      self.bump_version();
      record_backward(op, o, args, p, inputs, self);
      return self;
    }
    const Tensor result = compute(op, input_list, args);
    {
      NoGradGuard no_grad;
      Tensor target = self;  // a handle: copy_ writes self's storage
      target.copy_(result);
    }
    self.impl()->grad_fn = result.grad_fn();
    self.impl()->requires_grad = true;
    return self;
  }
  if (self.numel() == 0) return self;
  const std::vector<Tensor> inputs = converted(o, given, p.compute);
  // The kernel writes self directly when its dtype is the result's; otherwise the result is
  // computed apart and converted into self.
  Tensor out = p.output == self.dtype() ? self : Tensor::empty(p.shape, p.output, p.device);
  std::vector<Operand> operands{{out, p.output}};
  for (size_t k = 0; k < inputs.size(); ++k) operands.push_back({inputs[k], is_condition(o, k) ? DType::Bool : p.compute});
  DLCORE_DISPATCH(p.device, pointwise_forward, op, p.compute, make_iter(p.shape, operands), args);
  if (!out.same(self)) {
    DLCORE_DISPATCH(p.device, cast, p.output, self.dtype(), make_iter(p.shape, {{self, self.dtype()}, {out, p.output}}));
  }
  self.bump_version();
  return self;
}

}  // namespace dlcore::ops::pointwise

namespace dlcore::ops {
namespace {
struct AffineBackward : Node {
  float scale;
  std::vector<Tensor> apply(const Tensor& g) override { return {affine(g, scale, 0.0f)}; }
  std::string name() const override { return "AffineBackward"; }
};

struct ToDtypeBackward : Node {
  DType input_dtype;
  std::vector<Tensor> apply(const Tensor& g) override { return {to_dtype(g, input_dtype)}; }
  std::string name() const override { return "ToCopyBackward"; }
};
}  // namespace

Tensor affine(const Tensor& x, float scale, float shift) {
  profiler::OpScope profile_scope("affine", x);
  check_float(x, "affine", "input");
  Tensor out = Tensor::empty(x.shape(), DType::Float32, x.device());
  if (out.numel() > 0) {
    Tensor xc = x.contiguous();
    DLCORE_DISPATCH(x.device(), scale_shift, out.data<float>(), xc.data<float>(), scale, shift, out.numel());
  }
  if (autograd::any_requires_grad({&x})) {
    auto node = std::make_shared<AffineBackward>();
    node->scale = scale;
    autograd::record(node, {&x}, out);
  }
  return out;
}

Tensor to_dtype(const Tensor& x, DType dtype) {
  profiler::OpScope profile_scope("to", x);
  check_defined(x, "to", "input");
  if (x.dtype() == dtype) return x;
  if (x.requires_grad() && GradMode::is_enabled() && !is_floating(dtype))
    throw ValueError("to: cannot convert " + x.describe() + ", which requires grad, to " + dtype_name(dtype) +
                     " (only floating point tensors carry gradients); detach() it first");
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  if (out.numel() > 0)
    DLCORE_DISPATCH(x.device(), cast, x.dtype(), dtype, pointwise::make_iter(x.shape(), {{out, dtype}, {x, x.dtype()}}));
  if (autograd::any_requires_grad({&x})) {
    auto node = std::make_shared<ToDtypeBackward>();
    node->input_dtype = x.dtype();
    autograd::record(node, {&x}, out);
  }
  return out;
}

}  // namespace dlcore::ops
