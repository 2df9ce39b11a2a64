// log_softmax, softmax and the fused cross_entropy (log-softmax + NLL, label smoothing), over the
// last dimension of a tensor viewed as [rows, classes].
#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {
namespace {

struct SoftmaxBackward : Node {
  Tensor y;
  bool log;
  std::vector<Tensor> apply(const Tensor& g_in) override {
    Tensor g = g_in.contiguous();
    Tensor gx = Tensor::empty(y.shape(), DType::Float32, y.device());
    int64_t C = y.size(-1), N = y.numel() / std::max<int64_t>(C, 1);
    if (log) DLCORE_DISPATCH(y.device(), log_softmax_backward, g.data<float>(), y.data<float>(), gx.data<float>(), N, C);
    else DLCORE_DISPATCH(y.device(), softmax_backward, g.data<float>(), y.data<float>(), gx.data<float>(), N, C);
    return {gx};
  }
  std::string name() const override { return log ? "LogSoftmaxBackward" : "SoftmaxBackward"; }
  bool release_saved() override {
    y = Tensor();
    return true;
  }
};

Tensor softmax_impl(const Tensor& x_in, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  check_float(x_in, op, "input");
  if (x_in.dim() == 0) throw ValueError(std::string(op) + ": expected at least a 1-D input");
  if (normalize_dim(dim, x_in.dim(), op) != x_in.dim() - 1)
    throw ValueError(std::string(op) + ": only the last dimension is supported, got dim=" + std::to_string(dim) +
                     " for input " + shape_str(x_in.shape()));
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), DType::Float32, x.device());
  int64_t C = x.size(-1), N = x.numel() / std::max<int64_t>(C, 1);
  if (x.numel() > 0) {
    if (log) DLCORE_DISPATCH(x.device(), log_softmax_forward, x.data<float>(), y.data<float>(), N, C);
    else DLCORE_DISPATCH(x.device(), softmax_forward, x.data<float>(), y.data<float>(), N, C);
  }
  if (autograd::any_requires_grad({&x_in})) {
    auto node = std::make_shared<SoftmaxBackward>();
    node->save(node->y, y);
    node->log = log;
    autograd::record(node, {&x_in}, y);
  }
  return y;
}

struct CrossEntropyBackward : Node {
  Tensor logp, target;
  int64_t N, C;
  float smoothing;
  Reduction reduction;
  std::vector<Tensor> apply(const Tensor& g) override {
    // Per-sample loss gradient: the incoming gradient spread over the batch (mean/sum) or as given.
    Tensor gloss;
    if (reduction == Reduction::None) {
      gloss = g.contiguous();
    } else {
      float scale = reduction == Reduction::Mean ? 1.0f / static_cast<float>(N) : 1.0f;
      gloss = spread_scalar(g, {N}, scale);
    }
    Tensor glogits = Tensor::empty({N, C}, DType::Float32, g.device());
    DLCORE_DISPATCH(g.device(), cross_entropy_backward, logp.data<float>(), target.data<int64_t>(),
                    gloss.data<float>(), glogits.data<float>(), N, C, smoothing);
    return {glogits};
  }
  std::string name() const override { return "CrossEntropyBackward"; }
  bool release_saved() override {
    logp = target = Tensor();
    return true;
  }
};

}  // namespace

Tensor log_softmax(const Tensor& x, int64_t dim) {
  profiler::OpScope profile_scope("log_softmax", x);
  return softmax_impl(x, dim, true);
}
Tensor softmax(const Tensor& x, int64_t dim) {
  profiler::OpScope profile_scope("softmax", x);
  return softmax_impl(x, dim, false);
}

Reduction parse_reduction(const std::string& name) {
  if (name == "mean") return Reduction::Mean;
  if (name == "sum") return Reduction::Sum;
  if (name == "none") return Reduction::None;
  throw ValueError("cross_entropy: reduction must be 'mean', 'sum' or 'none', got '" + name + "'");
}

Tensor cross_entropy(const Tensor& logits_in, const Tensor& target_in, Reduction reduction, float label_smoothing) {
  profiler::OpScope profile_scope("cross_entropy", logits_in, target_in);
  check_float(logits_in, "cross_entropy", "input");
  check_defined(target_in, "cross_entropy", "target");
  check_same_device(logits_in, target_in, "cross_entropy");
  if (logits_in.dim() != 2)
    throw ValueError("cross_entropy: expected input [N, C], got " + logits_in.describe());
  if (target_in.dtype() != DType::Int64)
    throw ValueError("cross_entropy: expected target of class indices with dtype int64, got " + target_in.describe());
  int64_t N = logits_in.size(0), C = logits_in.size(1);
  if (target_in.dim() != 1 || target_in.size(0) != N)
    throw ValueError("cross_entropy: target " + shape_str(target_in.shape()) + " does not match input " +
                     shape_str(logits_in.shape()) + " (expected target [N])");
  if (N == 0) throw ValueError("cross_entropy: empty batch (input " + shape_str(logits_in.shape()) + ")");
  if (C == 0) throw ValueError("cross_entropy: input has zero classes " + shape_str(logits_in.shape()));
  if (!(label_smoothing >= 0.0f && label_smoothing <= 1.0f))
    throw ValueError("cross_entropy: label_smoothing must be in [0, 1], got " + std::to_string(label_smoothing));
  Tensor logits = logits_in.contiguous(), target = target_in.contiguous();
  if (!target.is_cuda()) {  // on CUDA the kernel records violations, reported at the next synchronisation
    const int64_t* t = target.data<int64_t>();
    for (int64_t i = 0; i < N; ++i)
      if (t[i] < 0 || t[i] >= C)
        throw ValueError("cross_entropy: target " + std::to_string(t[i]) + " at position " + std::to_string(i) +
                         " is out of bounds for " + std::to_string(C) + " classes (input " +
                         shape_str(logits.shape()) + ")");
  }
  Tensor logp = Tensor::empty({N, C}, DType::Float32, logits.device());
  Tensor loss = Tensor::empty({N}, DType::Float32, logits.device());
  DLCORE_DISPATCH(logits.device(), cross_entropy_forward, logits.data<float>(), target.data<int64_t>(),
                  logp.data<float>(), loss.data<float>(), N, C, label_smoothing);
  Tensor out;
  {
    NoGradGuard no_grad;
    out = reduction == Reduction::None ? loss : reduction == Reduction::Sum ? sum(loss) : mean(loss);
  }
  if (autograd::any_requires_grad({&logits_in})) {
    auto node = std::make_shared<CrossEntropyBackward>();
    node->logp = logp;
    node->save(node->target, target);
    node->N = N;
    node->C = C;
    node->smoothing = label_smoothing;
    node->reduction = reduction;
    autograd::record(node, {&logits_in}, out);
  }
  return out;
}

}  // namespace dlcore::ops
