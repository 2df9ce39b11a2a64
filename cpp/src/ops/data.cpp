// gather_normalize: turns a batch of indices into a normalised float batch and int64 labels with
// one kernel on the dataset's device (no gradient; data is an input, not a parameter).
#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {

std::pair<Tensor, Tensor> gather_normalize(const Tensor& images, const Tensor& labels, const Tensor& index_in,
                                           const std::vector<float>& mean, const std::vector<float>& std,
                                           bool channels_last) {
  profiler::OpScope profile_scope("gather_normalize", images, labels, index_in);
  const char* op = "gather_normalize";
  check_defined(images, op, "images");
  check_defined(labels, op, "labels");
  check_defined(index_in, op, "index");
  check_same_device(images, labels, op);
  check_same_device(images, index_in, op);
  if (images.dtype() != DType::UInt8 || labels.dtype() != DType::UInt8 || index_in.dtype() != DType::Int64)
    throw ValueError(std::string(op) + ": expected uint8 images and labels and int64 index, got " + images.describe() +
                     ", " + labels.describe() + ", " + index_in.describe());
  if (images.dim() != 4 || labels.dim() != 1 || labels.size(0) != images.size(0) || index_in.dim() != 1)
    throw ValueError(std::string(op) + ": expected images [N, H, W, C] or [N, C, H, W], labels [N], index [B], got " +
                     shape_str(images.shape()) + ", " + shape_str(labels.shape()) + ", " + shape_str(index_in.shape()));
  GatherShape s{};
  s.batch = index_in.size(0);
  s.channels_last = channels_last;
  s.C = channels_last ? images.size(3) : images.size(1);
  s.H = channels_last ? images.size(1) : images.size(2);
  s.W = channels_last ? images.size(2) : images.size(3);
  if (s.C > 4 || static_cast<int64_t>(mean.size()) != s.C || static_cast<int64_t>(std.size()) != s.C)
    throw ValueError(std::string(op) + ": need one mean and std per channel (at most 4 channels), got " +
                     std::to_string(mean.size()) + " and " + std::to_string(std.size()) + " for " +
                     std::to_string(s.C) + " channels");
  for (int64_t c = 0; c < s.C; ++c) {
    if (!(std[c] > 0)) throw ValueError(std::string(op) + ": std must be positive");
    s.mean[c] = mean[c];
    s.std[c] = std[c];
  }
  Tensor index = index_in.contiguous();
  if (!index.is_cuda()) {  // CUDA indices come from our own sampler; the CPU check is free
    const int64_t* idx = index.data<int64_t>();
    for (int64_t b = 0; b < s.batch; ++b)
      if (idx[b] < 0 || idx[b] >= images.size(0))
        throw ValueError(std::string(op) + ": index " + std::to_string(idx[b]) + " out of range for " +
                         std::to_string(images.size(0)) + " samples");
  }
  Tensor x = Tensor::empty({s.batch, s.C, s.H, s.W}, DType::Float32, images.device());
  Tensor y = Tensor::empty({s.batch}, DType::Int64, images.device());
  if (s.batch > 0) {
    Tensor img = images.contiguous(), lab = labels.contiguous();
    DLCORE_DISPATCH(images.device(), gather_normalize_u8, img.data<uint8_t>(), index.data<int64_t>(), x.data<float>(),
                    lab.data<uint8_t>(), y.data<int64_t>(), s);
  }
  return {x, y};
}

}  // namespace dlcore::ops
