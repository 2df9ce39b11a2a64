// Fused optimizer updates for the CPU backend: one pass over each parameter tensor per step, each
// element read and written once, with the update rules of kernels/optimizer_rules.h (torch.optim's
// formulas term for term). This is the reference the CUDA multi-tensor kernels are tested against.
#include "../optimizer_rules.h"
#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {

using detail::kParallelGrain;
using detail::parallel_for;

namespace {

// Every rule costs a handful of operations per element; the ones with square roots and divisions
// about twice SGD's, so they fork threads at half the size.
template <class Rule, class Hyper>
void run_rule(const OptimizerTensor* tensors, int64_t count, const Hyper& h, int64_t grain) {
  const typename Rule::Constants constants = Rule::constants(h);
  for (int64_t t = 0; t < count; ++t) {
    const typename Rule::PerTensor scalars = Rule::per_tensor(h, tensors[t]);
    parallel_for(tensors[t].n, grain, [&, entry = tensors[t]](int64_t begin, int64_t end) {
      // Local copies: the compiler then knows the stores through the state pointers cannot change
      // the pointers or the constants, and vectorizes the loop.
      const OptimizerTensor e = entry;
      const typename Rule::Constants c = constants;
      const typename Rule::PerTensor k = scalars;
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) Rule::update(c, k, e, i);
    });
  }
}

}  // namespace

void sgd_update(const OptimizerTensor* tensors, int64_t count, const SgdHyper& h) {
  run_rule<rules::SgdRule>(tensors, count, h, kParallelGrain);
}
void adam_update(const OptimizerTensor* tensors, int64_t count, const AdamHyper& h) {
  run_rule<rules::AdamRule>(tensors, count, h, kParallelGrain / 2);
}
void adagrad_update(const OptimizerTensor* tensors, int64_t count, const AdagradHyper& h) {
  run_rule<rules::AdagradRule>(tensors, count, h, kParallelGrain / 2);
}
void adadelta_update(const OptimizerTensor* tensors, int64_t count, const AdadeltaHyper& h) {
  run_rule<rules::AdadeltaRule>(tensors, count, h, kParallelGrain / 2);
}
void rmsprop_update(const OptimizerTensor* tensors, int64_t count, const RmspropHyper& h) {
  run_rule<rules::RmspropRule>(tensors, count, h, kParallelGrain / 2);
}
void adamax_update(const OptimizerTensor* tensors, int64_t count, const AdamaxHyper& h) {
  run_rule<rules::AdamaxRule>(tensors, count, h, kParallelGrain / 2);
}
void nadam_update(const OptimizerTensor* tensors, int64_t count, const NadamHyper& h) {
  run_rule<rules::NadamRule>(tensors, count, h, kParallelGrain / 2);
}
void radam_update(const OptimizerTensor* tensors, int64_t count, const RadamHyper& h) {
  run_rule<rules::RadamRule>(tensors, count, h, kParallelGrain / 2);
}

}  // namespace dlcore::kernels::cpu
