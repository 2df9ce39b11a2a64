// Tests of the fused CUDA optimizer updates against the CPU backend over several steps: every rule
// (SGD in each momentum / dampening / nesterov / weight-decay / maximize combination, Adam and
// AdamW with AMSGrad, Adagrad, Adadelta, RMSprop plain / centered / with momentum, Adamax, NAdam,
// RAdam before and after rectification), each over a list of tensors of awkward sizes in one
// multi-tensor call, tensors at different step counts.
#include <functional>

#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_vector;

// Same formulas in the same order; only FMA contraction can differ: 1e-6 relative (floor 1e-3
// for state that passes through zero).
constexpr double kTol = 1e-6;
// Tensor sizes for one multi-tensor call: a block's chunk is 1024 elements, so these cover a
// partial chunk, exact chunks, many chunks and an empty tensor. The launch's list splitting is
// shared by every rule: SGD and Adam also run with more tensors than one launch takes (kept small,
// since each emulated block costs OS threads).
const std::vector<int64_t> kSizes = {1, 1024, 3000, 0, 10007, 65};
constexpr int kManyTensors = 40;

std::vector<int64_t> many_sizes() {
  std::vector<int64_t> sizes;
  for (int t = 0; t < kManyTensors; ++t) sizes.push_back(1 + 13 * t);
  return sizes;
}

// Host copies of several tensors and their device mirrors.
struct TensorSet {
  std::vector<std::vector<float>> host;
  std::vector<DeviceBuffer<float>> device;
  TensorSet(const std::vector<int64_t>& sizes, uint32_t& seed, float lo, float hi) {
    for (int64_t n : sizes) {
      host.push_back(random_vector(n, seed++, lo, hi));
      device.emplace_back(host.back());
    }
  }
  void expect_close(const std::string& what) {
    for (size_t t = 0; t < host.size(); ++t)
      EXPECT_TRUE(all_close(device[t].download(), host[t], kTol, 1e-3)) << what << " tensor " << t;
  }
};

using Update = std::function<void(bool cuda, const OptimizerTensor*, int64_t)>;

// The range of one state slot's initial values: non-negative for averages of squares.
struct Range {
  float lo, hi;
};

// Runs `steps` steps of `update` on both backends from the same random parameters and state (one
// tensor per entry of `state_ranges`) with fresh random gradients each step, the tensors starting
// at step counts first_step.., then compares parameters and state; over kSizes and, with
// many_tensors, over many_sizes() too.
void compare_backends(const std::string& what, const Update& update, const std::vector<Range>& state_ranges,
                      int steps, int64_t first_step, bool many_tensors = false) {
  const int state_slots = static_cast<int>(state_ranges.size());
  uint32_t seed = 7;
  std::vector<std::vector<int64_t>> size_lists = {kSizes};
  if (many_tensors) size_lists.push_back(many_sizes());
  for (const auto& sizes : size_lists) {
    TensorSet p(sizes, seed, -1.0f, 1.0f), grad(sizes, seed, -1.0f, 1.0f);
    std::vector<TensorSet> state;
    for (const Range& r : state_ranges) state.emplace_back(sizes, seed, r.lo, r.hi);
    float mu_product = 0.7f;
    for (int step = 0; step < steps; ++step) {
      std::vector<OptimizerTensor> dev, host;
      mu_product *= 0.9f;
      for (size_t t = 0; t < sizes.size(); ++t) {
        grad.host[t] = random_vector(sizes[t], seed++);
        grad.device[t].upload(grad.host[t]);
        OptimizerTensor d{}, h{};
        d.param = p.device[t].get();
        h.param = p.host[t].data();
        d.grad = grad.device[t].get();
        h.grad = grad.host[t].data();
        for (int s = 0; s < state_slots; ++s) {
          d.state[s] = state[s].device[t].get();
          h.state[s] = state[s].host[t].data();
        }
        d.n = h.n = sizes[t];
        d.step = h.step = first_step + step + static_cast<int64_t>(t % 3);  // tensors at different steps
        d.mu_product = h.mu_product = mu_product;
        d.first_step = h.first_step = step == 0;
        dev.push_back(d);
        host.push_back(h);
      }
      update(true, dev.data(), static_cast<int64_t>(dev.size()));
      update(false, host.data(), static_cast<int64_t>(host.size()));
    }
    p.expect_close(what + ": param");
    for (int s = 0; s < state_slots; ++s) state[s].expect_close(what + ": state " + std::to_string(s));
  }
}

template <class Hyper>
Update rule(void (*cuda)(const OptimizerTensor*, int64_t, const Hyper&),
            void (*cpu)(const OptimizerTensor*, int64_t, const Hyper&), Hyper h) {
  return [=](bool on_cuda, const OptimizerTensor* t, int64_t n) { on_cuda ? cuda(t, n, h) : cpu(t, n, h); };
}

TEST(CudaKernelsOptimizer, Sgd) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const SgdHyper configs[] = {{0.05, 0.0, 0.0, 0.0, false, false},  {0.05, 0.9, 0.0, 0.0, false, false},
                              {0.05, 0.9, 0.1, 1e-2, false, true}, {0.05, 0.9, 0.0, 5e-4, true, false}};
  for (const SgdHyper& h : configs)  // the buffers start as garbage: the first step must ignore them
    compare_backends("sgd momentum " + std::to_string(h.momentum),
                     rule(kernels::cuda::sgd_update, kernels::cpu::sgd_update, h), {{-1.0f, 1.0f}}, 3, 1,
                     &h == &configs[1]);
}

TEST(CudaKernelsOptimizer, AdamAdamWAndAmsgrad) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  // (decoupled, amsgrad, weight decay); maximize rides along with amsgrad.
  const AdamHyper configs[] = {{1e-3, 0.9, 0.999, 1e-8, 0.0, false, false, false},
                               {1e-3, 0.9, 0.999, 1e-8, 0.01, true, false, false},
                               {1e-3, 0.9, 0.999, 1e-8, 0.01, false, true, true},
                               {1e-3, 0.9, 0.999, 1e-8, 0.0, true, true, true}};
  for (const AdamHyper& h : configs)
    compare_backends("adam decoupled " + std::to_string(h.decoupled) + " amsgrad " + std::to_string(h.amsgrad),
                     rule(kernels::cuda::adam_update, kernels::cpu::adam_update, h),
                     {{-1.0f, 1.0f}, {0.0f, 1.0f}, {0.0f, 1.0f}}, 4, 1, &h == &configs[3]);
}

TEST(CudaKernelsOptimizer, Adagrad) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const AdagradHyper h{0.01, 0.01, 0.1, 1e-10, true};
  compare_backends("adagrad", rule(kernels::cuda::adagrad_update, kernels::cpu::adagrad_update, h), {{0.0f, 1.0f}},
                   3, 1);
}

TEST(CudaKernelsOptimizer, Adadelta) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const AdadeltaHyper h{1.0, 0.9, 1e-6, 0.01, false};
  compare_backends("adadelta", rule(kernels::cuda::adadelta_update, kernels::cpu::adadelta_update, h),
                   {{0.0f, 1.0f}, {0.0f, 1.0f}}, 3, 1);
}

TEST(CudaKernelsOptimizer, RmspropPlainCenteredAndMomentum) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const RmspropHyper configs[] = {{0.01, 0.99, 1e-8, 0.0, 0.0, false, false},
                                  {0.01, 0.99, 1e-8, 0.01, 0.9, false, true},
                                  {0.01, 0.99, 1e-8, 0.01, 0.9, true, false}};
  for (const RmspropHyper& h : configs)
    // square_avg - grad_avg^2 stays positive: square_avg from 0.5, grad_avg within 0.1.
    compare_backends("rmsprop centered " + std::to_string(h.centered) + " momentum " + std::to_string(h.momentum),
                     rule(kernels::cuda::rmsprop_update, kernels::cpu::rmsprop_update, h),
                     {{0.5f, 1.0f}, {-1.0f, 1.0f}, {-0.1f, 0.1f}}, 3, 1);
}

TEST(CudaKernelsOptimizer, Adamax) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const AdamaxHyper h{2e-3, 0.9, 0.999, 1e-8, 0.01, true};
  compare_backends("adamax", rule(kernels::cuda::adamax_update, kernels::cpu::adamax_update, h),
                   {{-1.0f, 1.0f}, {0.0f, 1.0f}}, 3, 1);
}

TEST(CudaKernelsOptimizer, NadamL2AndDecoupled) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (bool decoupled : {false, true}) {
    const NadamHyper h{2e-3, 0.9, 0.999, 1e-8, 0.01, 4e-3, decoupled, false};
    compare_backends("nadam", rule(kernels::cuda::nadam_update, kernels::cpu::nadam_update, h),
                     {{-1.0f, 1.0f}, {0.0f, 1.0f}}, 3, 1);
  }
}

TEST(CudaKernelsOptimizer, RadamBeforeAndAfterRectification) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (bool decoupled : {false, true}) {
    const RadamHyper h{1e-3, 0.9, 0.999, 1e-8, 0.01, decoupled, false};
    // rho_t passes 5 at step 6 with beta2 = 0.999: steps 3..7 cover both branches in one list.
    compare_backends("radam", rule(kernels::cuda::radam_update, kernels::cpu::radam_update, h),
                     {{-1.0f, 1.0f}, {0.0f, 1.0f}}, 3, 3);
  }
}

}  // namespace
}  // namespace dlcore
