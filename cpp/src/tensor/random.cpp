// Host-side random tensors for initialisation and tests, from one global generator that
// manual_seed resets. Values are drawn on the CPU and copied to the target device, so a seed gives
// the same parameters on every device.
#include <mutex>
#include <random>
#include <string>

#include "dlcore/ops.h"
#include "dlcore/tensor.h"

namespace dlcore {
namespace {
std::mt19937_64& generator() {
  static std::mt19937_64 gen(0x5eed);
  return gen;
}
std::mutex& generator_mutex() {
  static std::mutex m;
  return m;
}

template <typename Draw>
Tensor generate(const Shape& shape, Device device, Draw draw) {
  Tensor host = Tensor::empty(shape, DType::Float32, Device::cpu());
  float* p = host.data<float>();
  {
    std::lock_guard<std::mutex> lock(generator_mutex());
    for (int64_t i = 0, n = host.numel(); i < n; ++i) p[i] = draw(generator());
  }
  return host.to(device);
}
}  // namespace

void manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(generator_mutex());
  generator().seed(seed);
}

uint64_t next_seed() {
  std::lock_guard<std::mutex> lock(generator_mutex());
  return generator()();
}

Tensor uniform(const Shape& shape, float low, float high, Device device) {
  std::uniform_real_distribution<float> dist(low, high);
  return generate(shape, device, [&](std::mt19937_64& g) { return dist(g); });
}

Tensor rand(const Shape& shape, Device device) { return uniform(shape, 0.0f, 1.0f, device); }

Tensor randn(const Shape& shape, Device device) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  return generate(shape, device, [&](std::mt19937_64& g) { return dist(g); });
}

Tensor arange(int64_t n, Device device) {
  if (n < 0) throw ValueError("arange: end must be >= 0, got " + std::to_string(n));
  Tensor host = Tensor::empty({n}, DType::Float32, Device::cpu());
  float* p = host.data<float>();
  for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(i);
  return host.to(device);
}

}  // namespace dlcore
