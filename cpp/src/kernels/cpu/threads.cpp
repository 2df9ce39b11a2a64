// The CPU backend's process-wide thread count (dl.set_num_threads / dl.get_num_threads); every
// parallel region of the CPU kernels sizes its team from it (cpu_parallel.h).
#include <omp.h>

#include "cpu_parallel.h"
#include "dlcore/kernels.h"

namespace dlcore::kernels::cpu {

void set_num_threads(int n) {
  detail::thread_count_setting().store(n, std::memory_order_relaxed);
  omp_set_num_threads(n);  // for OpenMP code outside dlcore's kernels on this thread
}

int num_threads() { return detail::max_threads(); }

}  // namespace dlcore::kernels::cpu
