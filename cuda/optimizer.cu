// Fused multi-tensor CUDA optimizer updates: one launch updates up to kMaxTensors parameter tensors
// (a LeNet step's ten tensors in one launch instead of ten; a small model's step is bound by
// launches), each element read and written once. Block b finds its tensor by a scan of the
// per-tensor first-block table passed by value with the launch, so no device-side list is needed.
// The arithmetic follows the CPU backend term for term (torch.optim's formulas, bias corrections
// in double on the host); sqrt and division are IEEE-rounded even under --use_fast_math so the two
// backends agree to rounding.
#include <algorithm>
#include <cmath>

#include "cuda_check.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cuda {
namespace {

using ::dlcore::cuda::stream;

constexpr int kThreads = 256;
constexpr int64_t kChunk = 4 * kThreads;  // elements per block
// Kernel parameters are limited to 4 KB; 32 Adam entries take about 2 KB.
constexpr int kMaxTensors = 32;

template <class Entry>
struct TensorList {
  Entry entries[kMaxTensors];
  int32_t first_block[kMaxTensors + 1];  // entry t owns blocks [first_block[t], first_block[t+1])
  int32_t count;
};

__device__ inline int64_t numel(const SgdParam& e) { return e.n; }

// The entry this block works on and its element range [begin, end).
template <class Entry>
__device__ const Entry& block_entry(const TensorList<Entry>& list, int64_t& begin, int64_t& end) {
  const int32_t b = static_cast<int32_t>(blockIdx.x);
  int t = 0;
  while (t + 1 < list.count && list.first_block[t + 1] <= b) ++t;
  const Entry& e = list.entries[t];
  begin = static_cast<int64_t>(b - list.first_block[t]) * kChunk;
  const int64_t n = numel(e);
  end = begin + kChunk < n ? begin + kChunk : n;
  return e;
}

// Splits params into launches of at most kMaxTensors entries; make_entry(param) builds an Entry.
template <class Entry, class Param, class MakeEntry, class Launch>
void launch_lists(const Param* params, int64_t count, MakeEntry make_entry, Launch launch) {
  TensorList<Entry> list;
  list.count = 0;
  int32_t blocks = 0;
  auto flush = [&] {
    if (list.count == 0) return;
    list.first_block[list.count] = blocks;
    launch(list, blocks);
    list.count = 0;
    blocks = 0;
  };
  for (int64_t t = 0; t < count; ++t) {
    if (params[t].n <= 0) continue;
    list.entries[list.count] = make_entry(params[t]);
    list.first_block[list.count] = blocks;
    blocks += static_cast<int32_t>((params[t].n + kChunk - 1) / kChunk);
    if (++list.count == kMaxTensors) flush();
  }
  flush();
}

__global__ void sgd_update_kernel(TensorList<SgdParam> list, SgdHyper h) {
  int64_t begin, end;
  const SgdParam& a = block_entry(list, begin, end);
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    float g = a.grad[i];
    if (h.weight_decay != 0.0f) g += h.weight_decay * a.p[i];
    if (h.momentum != 0.0f) {
      // torch seeds the buffer with the raw gradient on the first step (no dampening).
      const float buf = a.first_step ? g : h.momentum * a.momentum_buf[i] + (1.0f - h.dampening) * g;
      a.momentum_buf[i] = buf;
      g = h.nesterov ? g + h.momentum * buf : buf;
    }
    a.p[i] -= h.lr * g;
  }
}

struct AdamEntry {
  AdamParam a;
  float step_size;         // lr / (1 - beta1^step)
  float correction2_sqrt;  // sqrt(1 - beta2^step)
};

__device__ inline int64_t numel(const AdamEntry& e) { return e.a.n; }

struct AdamConstants {
  float beta2, eps, weight_decay;
  float decay;       // 1 - lr * weight_decay (AdamW)
  float avg_weight;  // 1 - beta1, the weight of exp_avg.lerp_(grad, .)
  bool decoupled;
};

__global__ void adam_update_kernel(TensorList<AdamEntry> list, AdamConstants k) {
  int64_t begin, end;
  const AdamEntry& e = block_entry(list, begin, end);
  const AdamParam& a = e.a;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    float g = a.grad[i];
    float param = a.p[i];
    if (k.decoupled)
      param *= k.decay;
    else if (k.weight_decay != 0.0f)
      g += k.weight_decay * param;
    const float m0 = a.exp_avg[i];
    // torch's lerp picks its formula by the weight so that it is exact at both ends.
    const float m = k.avg_weight < 0.5f ? m0 + k.avg_weight * (g - m0) : g - (g - m0) * (1.0f - k.avg_weight);
    const float v = k.beta2 * a.exp_avg_sq[i] + (1.0f - k.beta2) * g * g;
    a.exp_avg[i] = m;
    a.exp_avg_sq[i] = v;
    const float denom = __fdiv_rn(__fsqrt_rn(v), e.correction2_sqrt) + k.eps;
    a.p[i] = param - __fdiv_rn(e.step_size * m, denom);
  }
}

}  // namespace

void sgd_update(const SgdParam* params, int64_t count, const SgdHyper& h) {
  launch_lists<SgdParam>(
      params, count, [](const SgdParam& p) { return p; },
      [&](const TensorList<SgdParam>& list, int32_t blocks) {
        sgd_update_kernel<<<blocks, kThreads, 0, stream()>>>(list, h);
        DLCORE_CUDA_CHECK_LAUNCH("sgd_update");
      });
}

void adam_update(const AdamParam* params, int64_t count, const AdamHyper& h) {
  AdamConstants k;
  k.beta2 = h.beta2;
  k.eps = h.eps;
  k.weight_decay = h.weight_decay;
  k.decay = static_cast<float>(1.0 - static_cast<double>(h.lr) * h.weight_decay);
  k.avg_weight = 1.0f - h.beta1;
  k.decoupled = h.decoupled;
  auto make_entry = [&](const AdamParam& a) {
    // torch computes the bias corrections in Python floats (double).
    const double correction1 = 1.0 - std::pow(static_cast<double>(h.beta1), static_cast<double>(a.step));
    const double correction2 = 1.0 - std::pow(static_cast<double>(h.beta2), static_cast<double>(a.step));
    return AdamEntry{a, static_cast<float>(h.lr / correction1), static_cast<float>(std::sqrt(correction2))};
  };
  launch_lists<AdamEntry>(params, count, make_entry, [&](const TensorList<AdamEntry>& list, int32_t blocks) {
    adam_update_kernel<<<blocks, kThreads, 0, stream()>>>(list, k);
    DLCORE_CUDA_CHECK_LAUNCH("adam_update");
  });
}

}  // namespace dlcore::kernels::cuda
