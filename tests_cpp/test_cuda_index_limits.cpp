// The CUDA kernels index in 32 bits where the CPU kernels take any size; past the limit every
// launcher refuses the same way, a std::runtime_error naming the op and the limit. The checks run
// on the host before any CUDA call, so these tests need a CUDA build but no GPU.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "dlcore/kernels.h"

namespace dlcore {
namespace {

template <class Fn>
void expect_index_limit_error(Fn&& fn, const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "expected a std::runtime_error mentioning '" << fragment << "'";
  } catch (const std::invalid_argument& e) {
    ADD_FAILURE() << "a ValueError-style std::invalid_argument, not std::runtime_error: " << e.what();
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(fragment), std::string::npos) << "message: " << message;
    EXPECT_NE(message.find("32-bit indexing limit (2147483647)"), std::string::npos) << "message: " << message;
  }
}

TEST(CudaIndexLimits, GemmDimensionPast32BitsIsARuntimeError) {
  const int64_t big = int64_t{1} << 31;
  expect_index_limit_error(
      [&] { kernels::cuda::gemm(false, false, big, 4, 4, 1.0f, nullptr, 4, nullptr, 4, 0.0f, nullptr, 4); },
      "gemm: dimension M=2147483648");
  expect_index_limit_error(
      [&] { kernels::cuda::gemm(false, false, 4, 4, big, 1.0f, nullptr, big, nullptr, 4, 0.0f, nullptr, 4); },
      "gemm: dimension K=2147483648");
}

TEST(CudaIndexLimits, ConvTensorPast32BitsIsARuntimeError) {
  // One 65536x65536 image: 2^32 input elements, each direction of the convolution refuses it.
  Conv2dShape s{1, 1, 65536, 65536, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 65536, 65536};
  expect_index_limit_error([&] { kernels::cuda::conv2d_forward(nullptr, nullptr, nullptr, s); },
                           "conv2d_forward: tensor of 4294967296 elements");
  expect_index_limit_error([&] { kernels::cuda::conv2d_backward_input(nullptr, nullptr, nullptr, s); },
                           "conv2d_backward_input: tensor of 4294967296 elements");
  expect_index_limit_error([&] { kernels::cuda::conv2d_backward_weight(nullptr, nullptr, nullptr, s); },
                           "conv2d_backward_weight: tensor of 4294967296 elements");
}

}  // namespace
}  // namespace dlcore
