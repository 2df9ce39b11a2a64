// CUDA graph capture and replay (dlcore::cuda::Graph): a captured forward+backward replayed on new
// inputs gives the same loss and gradients as running it eagerly, memory the graph uses is never
// handed to other tensors while it lives, and work that cannot be recorded is refused with an error
// that leaves the runtime usable.
#include <gtest/gtest.h>

#include <string>

#include "dlcore/autograd.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/nn.h"
#include "dlcore/ops.h"
#include "dlcore/optim.h"
#include "gradcheck.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::random_tensor;
using testing::values_of;

Tensor on_gpu(const Tensor& t) { return t.to(Device::cuda()); }

Tensor mlp_loss(nn::Linear& fc1, nn::Linear& fc2, const Tensor& x, const Tensor& target) {
  return ops::cross_entropy(fc2.forward(ops::linear(x, fc1.parameter("weight"), fc1.parameter("bias"), true)), target);
}

TEST(CudaGraph, ReplayMatchesEagerStepsOnNewInputs) {
  if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  manual_seed(3);
  nn::Linear fc1(7, 16), fc2(16, 5);
  fc1.to(Device::cuda());
  fc2.to(Device::cuda());
  std::vector<Tensor> params = {fc1.parameter("weight"), fc1.parameter("bias"), fc2.parameter("weight"),
                                fc2.parameter("bias")};
  Tensor static_x = on_gpu(random_tensor({9, 7}, 1));
  Tensor static_t = Tensor::zeros({9}, DType::Int64, Device::cuda());

  mlp_loss(fc1, fc2, static_x, static_t).backward();  // warm-up: the allocator's cache fills
  for (Tensor& p : params) p.set_grad(Tensor());
  cuda::Graph graph;
  graph.capture_begin();
  Tensor static_loss = mlp_loss(fc1, fc2, static_x, static_t);
  static_loss.backward();
  graph.capture_end();
  ASSERT_TRUE(graph.captured());

  for (uint32_t step = 0; step < 3; ++step) {
    const Tensor x = random_tensor({9, 7}, 10 + step);
    std::vector<float> labels(9);
    for (int i = 0; i < 9; ++i) labels[i] = static_cast<float>((i * 3 + step) % 5);
    Tensor t = Tensor::empty({9}, DType::Int64);
    for (int i = 0; i < 9; ++i) t.data<int64_t>()[i] = static_cast<int64_t>(labels[i]);
    static_x.copy_(x);
    static_t.copy_(t);
    graph.replay();
    std::vector<std::vector<float>> replayed;
    for (Tensor& p : params) replayed.push_back(values_of(p.grad()));
    const float replayed_loss = static_cast<float>(static_loss.item());

    // The same step eagerly, on fresh gradients.
    std::vector<Tensor> saved_grads;
    for (Tensor& p : params) {
      saved_grads.push_back(p.grad());
      p.set_grad(Tensor());
    }
    Tensor eager_loss = mlp_loss(fc1, fc2, on_gpu(x), on_gpu(t));
    eager_loss.backward();
    // Same kernels on the same data in the same order.
    EXPECT_FLOAT_EQ(replayed_loss, static_cast<float>(eager_loss.item())) << "step " << step;
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_TRUE(all_close(replayed[i], values_of(params[i].grad()), 0.0)) << "param " << i << " step " << step;
      params[i].set_grad(saved_grads[i]);  // the graph's gradient buffers, which the next replay rewrites
    }
    optim::SGD(params, 0.1f).step();  // the weights change between replays, as in training
  }
}

TEST(CudaGraph, GraphMemoryStaysReservedUntilReset) {
  if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  Tensor x = on_gpu(random_tensor({1000}, 2));
  cuda::Graph graph;
  graph.capture_begin();
  Tensor y = ops::affine(x, 2.0f, 1.0f);
  const void* graph_block = y.raw_data();
  graph.capture_end();
  y = Tensor();  // the graph still writes this block on replay
  Tensor z = Tensor::empty({1000}, DType::Float32, Device::cuda());
  EXPECT_NE(z.raw_data(), graph_block);
  graph.replay();
  cuda::synchronize();
  graph.reset();
  EXPECT_FALSE(graph.captured());
  EXPECT_THROW(graph.replay(), std::runtime_error);
}

TEST(CudaGraph, UnrecordableWorkIsRefusedAndTheCaptureCanBeAbandoned) {
  if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  Tensor w = on_gpu(random_tensor({4}, 3));
  w.set_requires_grad(true);
  Tensor loss = ops::sum(ops::mul(w, w));
  loss.backward();
  optim::SGD sgd({w}, 0.1f);
  cuda::Graph graph;
  graph.capture_begin();
  EXPECT_TRUE(cuda::is_capturing());
  try {
    (void)loss.item();
    ADD_FAILURE() << "item() during capture did not raise";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA graph is being captured"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sgd.step(), std::runtime_error);
  EXPECT_THROW(ops::dropout(w, 0.5f, true), std::runtime_error);
  EXPECT_THROW(Tensor::zeros({3}).to(Device::cuda()), std::runtime_error);
  graph.capture_abort();
  EXPECT_FALSE(cuda::is_capturing());
  EXPECT_FALSE(graph.captured());
  // The runtime still works eagerly.
  sgd.step();
  EXPECT_EQ(values_of(ops::affine(w, 0.0f, 1.0f)), (std::vector<float>{1.0f, 1.0f, 1.0f, 1.0f}));
}

}  // namespace
}  // namespace dlcore
