// relu, sigmoid and tanh. Each backward needs only the forward output, so the input is not saved.
#include "op_util.h"

namespace dlcore::ops {
namespace {

enum class Activation { Relu, Sigmoid, Tanh };

struct ActivationBackward : Node {
  Activation kind;
  Tensor y;
  std::vector<Tensor> apply(const Tensor& g_in) override {
    Tensor g = g_in.contiguous();
    Tensor gx = Tensor::empty(y.shape(), DType::Float32, y.device());
    int64_t n = y.numel();
    switch (kind) {
      case Activation::Relu: DLCORE_DISPATCH(y.device(), relu_backward, g.data<float>(), y.data<float>(), gx.data<float>(), n); break;
      case Activation::Sigmoid: DLCORE_DISPATCH(y.device(), sigmoid_backward, g.data<float>(), y.data<float>(), gx.data<float>(), n); break;
      case Activation::Tanh: DLCORE_DISPATCH(y.device(), tanh_backward, g.data<float>(), y.data<float>(), gx.data<float>(), n); break;
    }
    return {gx};
  }
  std::string name() const override {
    static const char* names[] = {"ReluBackward", "SigmoidBackward", "TanhBackward"};
    return names[static_cast<int>(kind)];
  }
  bool release_saved() override {
    y = Tensor();
    return true;
  }
};

Tensor activation(Activation kind, const Tensor& x_in, const char* op) {
  check_float(x_in, op, "input");
  Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), DType::Float32, x.device());
  int64_t n = x.numel();
  switch (kind) {
    case Activation::Relu: DLCORE_DISPATCH(x.device(), relu_forward, x.data<float>(), y.data<float>(), n); break;
    case Activation::Sigmoid: DLCORE_DISPATCH(x.device(), sigmoid_forward, x.data<float>(), y.data<float>(), n); break;
    case Activation::Tanh: DLCORE_DISPATCH(x.device(), tanh_forward, x.data<float>(), y.data<float>(), n); break;
  }
  if (autograd::any_requires_grad({&x_in})) {
    auto node = std::make_shared<ActivationBackward>();
    node->kind = kind;
    node->save(node->y, y);
    autograd::record(node, {&x_in}, y);
  }
  return y;
}

}  // namespace

Tensor relu(const Tensor& x) { return activation(Activation::Relu, x, "relu"); }
Tensor sigmoid(const Tensor& x) { return activation(Activation::Sigmoid, x, "sigmoid"); }
Tensor tanh(const Tensor& x) { return activation(Activation::Tanh, x, "tanh"); }

}  // namespace dlcore::ops
