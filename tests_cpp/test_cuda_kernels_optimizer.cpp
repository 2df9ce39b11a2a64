// Tests of the fused CUDA optimizer updates against the CPU backend over several steps: SGD in
// every momentum / dampening / nesterov / weight-decay combination, Adam and AdamW, each over a
// list of tensors of awkward sizes in one multi-tensor call.
#include "cuda_test_buffers.h"
#include "dlcore/cuda_runtime.h"
#include "dlcore/kernels.h"
#include "kernel_test_util.h"

namespace dlcore {
namespace {

using testing::all_close;
using testing::DeviceBuffer;
using testing::random_vector;

// Same formulas in the same order; only FMA contraction can differ: 1e-6 relative.
constexpr double kTol = 1e-6;
// Tensor sizes for one multi-tensor call: a block's chunk is 1024 elements, so these cover a
// partial chunk, exact chunks, many chunks, an empty tensor, and (with kManyTensors) more tensors
// than one launch takes.
const std::vector<int64_t> kSizes = {1, 1024, 3000, 0, 10007, 65};
constexpr int kManyTensors = 40;

// Host copies of several tensors and their device mirrors.
struct TensorSet {
  std::vector<std::vector<float>> host;
  std::vector<DeviceBuffer<float>> device;
  TensorSet(const std::vector<int64_t>& sizes, uint32_t& seed, bool random) {
    for (int64_t n : sizes) {
      host.push_back(random ? random_vector(n, seed++) : std::vector<float>(n, 0.0f));
      device.emplace_back(host.back());
    }
  }
  void expect_close(const char* what) {
    for (size_t t = 0; t < host.size(); ++t)
      EXPECT_TRUE(all_close(device[t].download(), host[t], kTol)) << what << " tensor " << t;
  }
};

std::vector<int64_t> many_sizes() {
  std::vector<int64_t> sizes;
  for (int t = 0; t < kManyTensors; ++t) sizes.push_back(1 + 97 * t);
  return sizes;
}

TEST(CudaKernelsOptimizer, Sgd) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const SgdHyper configs[] = {{0.05f, 0.0f, 0.0f, 0.0f, false}, {0.05f, 0.9f, 0.0f, 0.0f, false},
                              {0.05f, 0.9f, 0.1f, 1e-2f, false}, {0.05f, 0.9f, 0.0f, 5e-4f, true}};
  uint32_t seed = 1;
  for (const auto& sizes : {kSizes, many_sizes()})
    for (const SgdHyper& h : configs) {
      TensorSet p(sizes, seed, true), buf(sizes, seed, true), grad(sizes, seed, true);  // buf: garbage, ignored at first
      for (int step = 0; step < 3; ++step) {
        std::vector<SgdParam> dev, host;
        for (size_t t = 0; t < sizes.size(); ++t) {
          grad.host[t] = random_vector(sizes[t], seed++);
          grad.device[t].upload(grad.host[t]);
          dev.push_back({p.device[t].get(), grad.device[t].get(), buf.device[t].get(), sizes[t], step == 0});
          host.push_back({p.host[t].data(), grad.host[t].data(), buf.host[t].data(), sizes[t], step == 0});
        }
        kernels::cuda::sgd_update(dev.data(), static_cast<int64_t>(dev.size()), h);
        kernels::cpu::sgd_update(host.data(), static_cast<int64_t>(host.size()), h);
      }
      p.expect_close("param");
      if (h.momentum != 0.0f) buf.expect_close("momentum buffer");
    }
}

TEST(CudaKernelsOptimizer, AdamAndAdamW) {
  if (!dlcore::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  uint32_t seed = 100;
  for (const auto& sizes : {kSizes, many_sizes()})
    for (bool decoupled : {false, true})
      for (float weight_decay : {0.0f, 0.01f}) {
        const AdamHyper h{1e-3f, 0.9f, 0.999f, 1e-8f, weight_decay, decoupled};
        TensorSet p(sizes, seed, true), m(sizes, seed, false), v(sizes, seed, false), grad(sizes, seed, true);
        for (int64_t step = 1; step <= 4; ++step) {
          std::vector<AdamParam> dev, host;
          for (size_t t = 0; t < sizes.size(); ++t) {
            grad.host[t] = random_vector(sizes[t], seed++);
            grad.device[t].upload(grad.host[t]);
            const int64_t own_step = step + static_cast<int64_t>(t % 3);  // tensors may be at different steps
            dev.push_back({p.device[t].get(), grad.device[t].get(), m.device[t].get(), v.device[t].get(), sizes[t],
                           own_step});
            host.push_back({p.host[t].data(), grad.host[t].data(), m.host[t].data(), v.host[t].data(), sizes[t],
                            own_step});
          }
          kernels::cuda::adam_update(dev.data(), static_cast<int64_t>(dev.size()), h);
          kernels::cpu::adam_update(host.data(), static_cast<int64_t>(host.size()), h);
        }
        p.expect_close("param");
        m.expect_close("exp_avg");
        v.expect_close("exp_avg_sq");
      }
}

}  // namespace
}  // namespace dlcore
