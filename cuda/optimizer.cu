// Fused multi-tensor CUDA optimizer updates: one launch updates up to kMaxTensors parameter tensors
// (a LeNet step's ten tensors in one launch instead of ten; a small model's step is bound by
// launches), each element read and written once. Block b finds its tensor by a scan of the
// per-tensor first-block table passed by value with the launch, so no device-side list is needed.
// The arithmetic is the CPU backend's own (kernels/optimizer_rules.h: torch.optim's rules, the
// step-dependent scalars computed in double on the host), with IEEE-rounded sqrt and division even
// under --use_fast_math, so the two backends agree to rounding.
#include "cuda_check.h"
#include "dlcore/kernels.h"
#include "kernels/optimizer_rules.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::stream;

constexpr int kThreads = 256;
constexpr int64_t kChunk = 4 * kThreads;  // elements per block
// Kernel parameters are limited to 4 KB; 32 entries of the largest rule take about 3 KB.
constexpr int kMaxTensors = 32;

template <class Rule>
struct Entry {
  OptimizerTensor tensor;
  typename Rule::PerTensor k;
};

template <class Rule>
struct TensorList {
  Entry<Rule> entries[kMaxTensors];
  int32_t first_block[kMaxTensors + 1];  // entry t owns blocks [first_block[t], first_block[t+1])
  int32_t count;
};

template <class Rule>
__global__ void update_kernel(TensorList<Rule> list, typename Rule::Constants c) {
  const int32_t b = static_cast<int32_t>(blockIdx.x);
  int t = 0;
  while (t + 1 < list.count && list.first_block[t + 1] <= b) ++t;
  const Entry<Rule>& e = list.entries[t];
  const int64_t begin = static_cast<int64_t>(b - list.first_block[t]) * kChunk;
  const int64_t end = begin + kChunk < e.tensor.n ? begin + kChunk : e.tensor.n;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) Rule::update(c, e.k, e.tensor, i);
}

// Splits the tensors into launches of at most kMaxTensors non-empty entries.
template <class Rule, class Hyper>
void launch_rule(const OptimizerTensor* tensors, int64_t count, const Hyper& h, const char* name) {
  const typename Rule::Constants c = Rule::constants(h);
  TensorList<Rule> list;
  list.count = 0;
  int32_t blocks = 0;
  auto flush = [&] {
    if (list.count == 0) return;
    list.first_block[list.count] = blocks;
    update_kernel<Rule><<<blocks, kThreads, 0, stream()>>>(list, c);
    DLCORE_CUDA_CHECK_LAUNCH(name);
    list.count = 0;
    blocks = 0;
  };
  for (int64_t t = 0; t < count; ++t) {
    if (tensors[t].n <= 0) continue;
    list.entries[list.count] = {tensors[t], Rule::per_tensor(h, tensors[t])};
    list.first_block[list.count] = blocks;
    blocks += static_cast<int32_t>((tensors[t].n + kChunk - 1) / kChunk);
    if (++list.count == kMaxTensors) flush();
  }
  flush();
}

}  // namespace

void sgd_update(const OptimizerTensor* tensors, int64_t count, const SgdHyper& h) {
  launch_rule<rules::SgdRule>(tensors, count, h, "sgd_update");
}
void adam_update(const OptimizerTensor* tensors, int64_t count, const AdamHyper& h) {
  launch_rule<rules::AdamRule>(tensors, count, h, "adam_update");
}
void adagrad_update(const OptimizerTensor* tensors, int64_t count, const AdagradHyper& h) {
  launch_rule<rules::AdagradRule>(tensors, count, h, "adagrad_update");
}
void adadelta_update(const OptimizerTensor* tensors, int64_t count, const AdadeltaHyper& h) {
  launch_rule<rules::AdadeltaRule>(tensors, count, h, "adadelta_update");
}
void rmsprop_update(const OptimizerTensor* tensors, int64_t count, const RmspropHyper& h) {
  launch_rule<rules::RmspropRule>(tensors, count, h, "rmsprop_update");
}
void adamax_update(const OptimizerTensor* tensors, int64_t count, const AdamaxHyper& h) {
  launch_rule<rules::AdamaxRule>(tensors, count, h, "adamax_update");
}
void nadam_update(const OptimizerTensor* tensors, int64_t count, const NadamHyper& h) {
  launch_rule<rules::NadamRule>(tensors, count, h, "nadam_update");
}
void radam_update(const OptimizerTensor* tensors, int64_t count, const RadamHyper& h) {
  launch_rule<rules::RadamRule>(tensors, count, h, "radam_update");
}

}  // namespace dlcore::kernels::cuda
