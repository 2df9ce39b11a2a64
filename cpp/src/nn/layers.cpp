// The built-in layers. Constructors validate their arguments and initialise parameters exactly as
// PyTorch does (kaiming_uniform with a=sqrt(5) for weights, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
// biases), so training curves are comparable with the reference.
#include <cmath>

#include "dlcore/autograd.h"
#include "dlcore/nn.h"

namespace dlcore::nn {
namespace {
// kaiming_uniform_(a=sqrt(5)) reduces to U(-1/sqrt(fan_in), 1/sqrt(fan_in)): gain sqrt(2/(1+5)),
// bound = sqrt(3) * gain / sqrt(fan_in).
Tensor fan_in_uniform(const Shape& shape, int64_t fan_in) {
  float bound = fan_in > 0 ? 1.0f / std::sqrt(static_cast<float>(fan_in)) : 0.0f;
  return uniform(shape, -bound, bound);
}
std::string pair_str(std::pair<int64_t, int64_t> p) {
  return "(" + std::to_string(p.first) + ", " + std::to_string(p.second) + ")";
}
void check_positive(int64_t v, const char* layer, const char* what) {
  if (v <= 0) throw ValueError(std::string(layer) + ": " + what + " must be positive, got " + std::to_string(v));
}
}  // namespace

Linear::Linear(int64_t in, int64_t out, bool bias) : Module("Linear"), in_features(in), out_features(out) {
  check_positive(in, "Linear", "in_features");
  check_positive(out, "Linear", "out_features");
  register_parameter("weight", fan_in_uniform({out, in}, in));
  register_parameter("bias", bias ? fan_in_uniform({out}, in) : Tensor());
}

Tensor Linear::forward(const Tensor& x) {
  if (x.defined() && x.dim() == 2 && x.size(1) != in_features)
    throw ValueError("Linear(in_features=" + std::to_string(in_features) + "): input " + shape_str(x.shape()) +
                     " has " + std::to_string(x.size(1)) + " features");
  return ops::linear(x, parameter("weight"), parameter("bias"));
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
         ", bias=" + (parameter("bias").defined() ? "True" : "False");
}

Conv2d::Conv2d(int64_t in, int64_t out, std::pair<int64_t, int64_t> k, std::pair<int64_t, int64_t> stride_,
               std::pair<int64_t, int64_t> padding_, std::pair<int64_t, int64_t> dilation_, int64_t groups_, bool bias)
    : Module("Conv2d"), in_channels(in), out_channels(out), groups(groups_), kernel_size(k), stride(stride_),
      padding(padding_), dilation(dilation_) {
  check_positive(in, "Conv2d", "in_channels");
  check_positive(out, "Conv2d", "out_channels");
  check_positive(groups, "Conv2d", "groups");
  check_positive(k.first, "Conv2d", "kernel_size");
  check_positive(k.second, "Conv2d", "kernel_size");
  check_positive(stride.first, "Conv2d", "stride");
  check_positive(stride.second, "Conv2d", "stride");
  check_positive(dilation.first, "Conv2d", "dilation");
  check_positive(dilation.second, "Conv2d", "dilation");
  if (padding.first < 0 || padding.second < 0) throw ValueError("Conv2d: padding must be non-negative");
  if (in % groups || out % groups)
    throw ValueError("Conv2d: in_channels (" + std::to_string(in) + ") and out_channels (" + std::to_string(out) +
                     ") must be divisible by groups (" + std::to_string(groups) + ")");
  int64_t fan_in = in / groups * k.first * k.second;
  register_parameter("weight", fan_in_uniform({out, in / groups, k.first, k.second}, fan_in));
  register_parameter("bias", bias ? fan_in_uniform({out}, fan_in) : Tensor());
}

Tensor Conv2d::forward(const Tensor& x) {
  if (x.defined() && x.dim() == 4 && x.size(1) != in_channels)
    throw ValueError("Conv2d(" + std::to_string(in_channels) + ", " + std::to_string(out_channels) + "): input " +
                     shape_str(x.shape()) + " has " + std::to_string(x.size(1)) + " channels, expected " +
                     std::to_string(in_channels));
  ops::Conv2dArgs a;
  a.stride_h = stride.first; a.stride_w = stride.second;
  a.pad_h = padding.first; a.pad_w = padding.second;
  a.dilation_h = dilation.first; a.dilation_w = dilation.second;
  a.groups = groups;
  return ops::conv2d(x, parameter("weight"), parameter("bias"), a);
}

std::string Conv2d::extra_repr() const {
  std::string s = std::to_string(in_channels) + ", " + std::to_string(out_channels) + ", kernel_size=" +
                  pair_str(kernel_size) + ", stride=" + pair_str(stride);
  if (padding != std::make_pair<int64_t, int64_t>(0, 0)) s += ", padding=" + pair_str(padding);
  if (dilation != std::make_pair<int64_t, int64_t>(1, 1)) s += ", dilation=" + pair_str(dilation);
  if (groups != 1) s += ", groups=" + std::to_string(groups);
  if (!parameter("bias").defined()) s += ", bias=False";
  return s;
}

BatchNorm2d::BatchNorm2d(int64_t n, float eps_, std::optional<float> momentum_, bool affine_, bool track)
    : Module("BatchNorm2d"), num_features(n), eps(eps_), momentum(momentum_), affine(affine_),
      track_running_stats(track) {
  check_positive(n, "BatchNorm2d", "num_features");
  if (!(eps > 0)) throw ValueError("BatchNorm2d: eps must be positive");
  if (affine) {
    register_parameter("weight", Tensor::full({n}, 1.0f));
    register_parameter("bias", Tensor::zeros({n}));
  }
  if (track) {
    register_buffer("running_mean", Tensor::zeros({n}));
    register_buffer("running_var", Tensor::full({n}, 1.0f));
    // Counts training batches, as PyTorch does (its state dicts carry it); momentum=None averages
    // over this many batches.
    register_buffer("num_batches_tracked", Tensor::zeros({}, DType::Int64));
  }
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  if (x.defined() && x.dim() != 4)
    throw ValueError("BatchNorm2d: expected 4-D input [N, C, H, W], got " + x.describe());
  if (x.defined() && x.size(1) != num_features)
    throw ValueError("BatchNorm2d(" + std::to_string(num_features) + "): input " + shape_str(x.shape()) + " has " +
                     std::to_string(x.size(1)) + " channels");
  Tensor rm = track_running_stats ? buffer("running_mean") : Tensor();
  Tensor rv = track_running_stats ? buffer("running_var") : Tensor();
  Tensor w = affine ? parameter("weight") : Tensor();
  Tensor b = affine ? parameter("bias") : Tensor();
  bool use_batch_stats = training_ || !track_running_stats;
  float factor = momentum.value_or(0.0f);
  if (training_ && track_running_stats) {
    Tensor batches = buffer("num_batches_tracked");
    ops::increment_(batches);
    // The cumulative average reads the count on the host (a device sync, as torch's float() of it).
    if (!momentum) factor = static_cast<float>(1.0 / batches.item().to_double());
  }
  return ops::batch_norm(x, rm, rv, w, b, use_batch_stats, factor, eps);
}

std::string BatchNorm2d::extra_repr() const {
  return std::to_string(num_features) + ", eps=" + std::to_string(eps) + ", momentum=" + (momentum ? std::to_string(*momentum) : std::string("None")) +
         ", affine=" + (affine ? "True" : "False") + ", track_running_stats=" + (track_running_stats ? "True" : "False");
}

Pool2d::Pool2d(bool max_, std::pair<int64_t, int64_t> k, std::pair<int64_t, int64_t> stride,
               std::pair<int64_t, int64_t> padding)
    : Module(max_ ? "MaxPool2d" : "AvgPool2d"), max(max_) {
  args.kernel_h = k.first; args.kernel_w = k.second;
  args.stride_h = stride.first;
  args.stride_w = stride.second;
  args.pad_h = padding.first; args.pad_w = padding.second;
  if (k.first < 1 || k.second < 1 || args.stride_h < 1 || args.stride_w < 1 || padding.first < 0 || padding.second < 0)
    throw ValueError(type_name() + ": kernel_size and stride must be positive and padding non-negative, got kernel " +
                     pair_str(k) + ", stride " + pair_str(stride) + ", padding " + pair_str(padding));
  if (2 * padding.first > k.first || 2 * padding.second > k.second)
    throw ValueError(type_name() + ": padding " + pair_str(padding) + " should be at most half of kernel " + pair_str(k));
}

Tensor Pool2d::forward(const Tensor& x) { return max ? ops::max_pool2d(x, args) : ops::avg_pool2d(x, args); }

std::string Pool2d::extra_repr() const {
  return "kernel_size=" + pair_str({args.kernel_h, args.kernel_w}) + ", stride=" + pair_str({args.stride_h, args.stride_w}) +
         ", padding=" + pair_str({args.pad_h, args.pad_w});
}

std::string Flatten::extra_repr() const {
  return "start_dim=" + std::to_string(start_dim) + ", end_dim=" + std::to_string(end_dim);
}

Dropout::Dropout(float p_) : Module("Dropout"), p(p_) {
  if (!(p >= 0.0f && p <= 1.0f)) throw ValueError("Dropout: p must be between 0 and 1, got " + std::to_string(p));
}
std::string Dropout::extra_repr() const { return "p=" + std::to_string(p); }

void Sequential::append(std::shared_ptr<Module> module) {
  if (!module) throw ValueError("Sequential: cannot append None");
  register_module(std::to_string(size()), std::move(module));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor out = x;
  for (auto& [name, m] : named_children()) {
    if (!m) throw ValueError("Sequential: submodule '" + name + "' is None and cannot be called");
    out = m->forward(out);
  }
  return out;
}

CrossEntropyLoss::CrossEntropyLoss(const std::string& reduction_, float smoothing)
    : Module("CrossEntropyLoss"), reduction(ops::parse_reduction(reduction_)), reduction_name(reduction_),
      label_smoothing(smoothing) {
  if (!(smoothing >= 0.0f && smoothing <= 1.0f))
    throw ValueError("CrossEntropyLoss: label_smoothing must be in [0, 1], got " + std::to_string(smoothing));
}

Tensor CrossEntropyLoss::forward(const Tensor& input, const Tensor& target) const {
  return ops::cross_entropy(input, target, reduction, label_smoothing);
}

std::string CrossEntropyLoss::extra_repr() const {
  return "reduction='" + reduction_name + "', label_smoothing=" + std::to_string(label_smoothing);
}

}  // namespace dlcore::nn
