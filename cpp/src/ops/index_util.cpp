// The shared machinery of the advanced-indexing ops (see index_util.h): position checks, broadcast
// strides, the coalesced IndexIter, the kernel calls and the recording of writes.
#include "index_util.h"

namespace dlcore::ops::indexing {

bool is_index_dtype(DType dtype) { return dtype == DType::Int64 || dtype == DType::Int32; }
bool is_mask_dtype(DType dtype) { return dtype == DType::Bool || dtype == DType::UInt8; }

void check_index_device(const Tensor& index, const Tensor& x, const char* op, const char* what) {
  if (index.device() != x.device() && !index.device().is_cpu())
    throw std::runtime_error(std::string(op) + ": " + what + " on " + index.device().str() +
                             " cannot index a tensor on " + x.device().str() + " (" + index.describe() +
                             "); put it on " + x.device().str() + " or the cpu");
}

Tensor checked_positions(const Tensor& index_in, int64_t size, bool allow_negative, Device device,
                         const OutOfRange& fail) {
  NoGradGuard no_grad;
  Tensor index = index_in.dtype() == DType::Int64 ? index_in : to_dtype(index_in, DType::Int64);
  const int64_t low = allow_negative ? -size : 0;
  auto report = [&](int64_t position) {
    fail(position);
    throw std::logic_error("index check: the out-of-range handler returned");
  };
  if (index.numel() == 0) return index.to(device);
  if (index.device().is_cpu()) {
    Tensor host = index.contiguous();
    const int64_t* p = host.data<int64_t>();
    const int64_t n = host.numel();
    bool negative = false;
    for (int64_t i = 0; i < n; ++i) {
      if (p[i] < low || p[i] >= size) report(p[i]);
      negative = negative || p[i] < 0;
    }
    if (negative) {
      Tensor wrapped = Tensor::empty(host.shape(), DType::Int64);
      int64_t* w = wrapped.data<int64_t>();
      for (int64_t i = 0; i < n; ++i) w[i] = p[i] < 0 ? p[i] + size : p[i];
      host = wrapped;
    }
    return host.to(device);
  }
  // On the device: the smallest and largest position come back in one copy.
  const Tensor bounds = cat({view(amin(index), {1}), view(amax(index), {1})}, 0).to(Device::cpu());
  const int64_t smallest = bounds.data<int64_t>()[0], largest = bounds.data<int64_t>()[1];
  if (smallest < low) report(smallest);
  if (largest >= size) report(largest);
  if (device != index.device()) index = index.to(device);
  if (smallest >= 0) return index;
  const Tensor zero = Tensor::wrapped_number(Scalar(int64_t{0}));
  return where(lt(index, zero), add(index, Tensor::wrapped_number(Scalar(size))), index);
}

std::optional<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t x = i + a.size() >= n ? a[i + a.size() - n] : 1;
    const int64_t y = i + b.size() >= n ? b[i + b.size() - n] : 1;
    if (x != y && x != 1 && y != 1) return std::nullopt;
    out[i] = x == 1 ? y : x;
  }
  return out;
}

std::optional<Shape> broadcast_strides(const Tensor& t, const Shape& shape) {
  const int64_t n = static_cast<int64_t>(shape.size());
  int64_t skip = 0;  // leading size-1 dimensions of t beyond shape's rank
  while (t.dim() - skip > n) {
    if (t.shape()[skip] != 1) return std::nullopt;
    ++skip;
  }
  const int64_t lead = n - (t.dim() - skip);
  Shape strides(shape.size(), 0);
  for (int64_t d = skip; d < t.dim(); ++d) {
    const int64_t target = d - skip + lead;
    if (t.shape()[d] == shape[target]) {
      strides[target] = t.strides()[d];
    } else if (t.shape()[d] != 1) {
      return std::nullopt;
    }
  }
  return strides;
}

IndexIter make_index_iter(const Shape& sizes, const Shape& data_strides, const Shape& offset_strides,
                          const Shape& other_strides, const char* op) {
  IndexIter it;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 1) continue;
    if (it.ndim > 0) {
      const int last = it.ndim - 1;
      if (it.data_strides[last] == data_strides[d] * sizes[d] && it.offset_strides[last] == offset_strides[d] * sizes[d] &&
          it.other_strides[last] == other_strides[d] * sizes[d]) {
        it.sizes[last] *= sizes[d];
        it.data_strides[last] = data_strides[d];
        it.offset_strides[last] = offset_strides[d];
        it.other_strides[last] = other_strides[d];
        continue;
      }
    }
    if (it.ndim == kMaxDims)
      throw ValueError(std::string(op) + ": the indexing of shape " + shape_str(sizes) + " needs more than " +
                       std::to_string(kMaxDims) + " dimensions after merging; make the tensors contiguous first");
    it.sizes[it.ndim] = sizes[d];
    it.data_strides[it.ndim] = data_strides[d];
    it.offset_strides[it.ndim] = offset_strides[d];
    it.other_strides[it.ndim] = other_strides[d];
    ++it.ndim;
  }
  if (it.ndim == 0) {  // a single element
    it.ndim = 1;
    it.sizes[0] = 1;
  }
  return it;
}

void gather_into(const Tensor& data, const Tensor& offsets, const Tensor& out, const IndexIter& it) {
  if (it.numel() == 0) return;
  DLCORE_DISPATCH(data.device(), index_gather, data.dtype(), data.raw_data(), offsets.data<int64_t>(), out.raw_data(),
                  it);
}

void scatter_into(const Tensor& data, const Tensor& offsets, const Tensor& values, const IndexIter& it,
                  ScatterMode mode, const char* op) {
  if (it.numel() == 0) return;
  for (int64_t d = 0; d < data.dim(); ++d)
    if (data.strides()[d] == 0 && data.shape()[d] > 1)
      throw std::runtime_error(std::string(op) + ": unsupported operation: more than one element of the written-to "
                               "tensor " + data.describe() + " refers to a single memory location; clone() it first");
  if (values.dtype() != data.dtype() || values.device() != data.device())
    throw std::logic_error(std::string(op) + ": scatter of " + values.describe() + " into " + data.describe());
  data.bump_version();
  DLCORE_DISPATCH(data.device(), index_scatter, data.dtype(), data.raw_data(), offsets.data<int64_t>(),
                  values.raw_data(), it, mode);
}

void check_inplace_leaf(const Tensor& x, const char* op) {
  if (GradMode::is_enabled() && x.requires_grad() && x.is_leaf())
    throw std::runtime_error(std::string(op) + ": a leaf Variable that requires grad is being used in an in-place "
                             "operation (" + x.describe() + "); do it under dl.no_grad()");
}

Tensor write_recorded(const Tensor& x, bool in_place, const char* op, const std::vector<const Tensor*>& others,
                      const std::function<void(const Tensor&)>& write,
                      const std::function<std::shared_ptr<Node>()>& make_node) {
  bool grad = GradMode::is_enabled() && x.requires_grad();
  for (const Tensor* t : others) grad = grad || (GradMode::is_enabled() && t->defined() && t->requires_grad());
  if (in_place) check_inplace_leaf(x, op);
  const Edge history = grad ? autograd::gradient_edge(x) : Edge{};
  Tensor target = in_place ? x : x.clone();
  {
    NoGradGuard no_grad;
    write(target);
  }
  if (grad) {
    std::shared_ptr<Node> node = make_node();
    node->next_edges.clear();
    node->next_edges.push_back(history);
    for (const Tensor* t : others) node->next_edges.push_back(autograd::gradient_edge(*t));
    target.impl()->grad_fn = node;
    target.impl()->requires_grad = true;
  }
  return target;
}

DimPlan dim_plan(const Tensor& base, int64_t dim, const Tensor& positions, const Shape& iteration,
                 bool positions_along_dim) {
  NoGradGuard no_grad;
  DimPlan p;
  p.data_strides = base.strides();
  int64_t stride = 1;
  if (base.dim() > 0) {
    stride = base.strides()[dim];
    p.data_strides[dim] = 0;
  }
  p.offsets = (stride == 1 ? positions : mul(positions, Tensor::wrapped_number(Scalar(stride)))).contiguous();
  if (positions_along_dim) {
    p.offset_strides.assign(iteration.size(), 0);
    if (!iteration.empty()) p.offset_strides[dim] = 1;
  } else {
    p.offset_strides = contiguous_strides(iteration);
  }
  return p;
}

Tensor gather_along(const Tensor& base, int64_t dim, const Tensor& positions, const Shape& iteration,
                    bool positions_along_dim, const char* op) {
  Tensor out = Tensor::empty(iteration, base.dtype(), base.device());
  if (out.numel() == 0) return out;
  const DimPlan p = dim_plan(base, dim, positions, iteration, positions_along_dim);
  gather_into(base, p.offsets, out,
              make_index_iter(iteration, p.data_strides, p.offset_strides, contiguous_strides(iteration), op));
  return out;
}

void scatter_along(const Tensor& base, int64_t dim, const Tensor& positions, const Tensor& values_in,
                   const Shape& iteration, bool positions_along_dim, ScatterMode mode, const char* op) {
  if (shape_numel(iteration) == 0) return;
  // A source that shares the destination's memory is read from a copy: the scatter would overwrite it.
  const Tensor values = values_in.storage() == base.storage() ? values_in.clone() : values_in;
  const Shape value_strides = values.dim() == 0 ? Shape(iteration.size(), 0) : values.strides();
  const DimPlan p = dim_plan(base, dim, positions, iteration, positions_along_dim);
  scatter_into(base, p.offsets, values, make_index_iter(iteration, p.data_strides, p.offset_strides, value_strides, op),
               mode, op);
}

Tensor value_as_tensor(const Tensor& value, const Tensor& x, const char* op) {
  check_defined(value, op, "value");
  if (value.is_wrapped_number()) return Tensor::full({}, value.item(), x.dtype(), x.device());
  if (value.dim() != 0)
    throw std::runtime_error(std::string(op) + " only supports a 0-dimensional value tensor, but got tensor with " +
                             std::to_string(value.dim()) + " dimension(s)");
  Tensor v = value;
  if (v.device() != x.device()) {
    if (GradMode::is_enabled() && v.requires_grad())
      throw std::runtime_error(std::string(op) + ": the value " + v.describe() + " requires grad and is not on " +
                               x.device().str() + ", the device of " + x.describe());
    v = v.to(x.device());
  }
  return to_dtype(v, x.dtype());
}

}  // namespace dlcore::ops::indexing
