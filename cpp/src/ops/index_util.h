// Internal to cpp/src/ops: what every advanced-indexing op shares. Positions are checked (and
// wrapped) once here, offsets are index x stride, the IndexIter is built and coalesced here, and
// in-place writes on tensors in the autograd graph are recorded here, so the op files only say
// which dimensions an index picks and what their backward is.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "op_util.h"

namespace dlcore::ops::indexing {

bool is_index_dtype(DType dtype);  // int64 or int32
bool is_mask_dtype(DType dtype);   // bool or uint8 (the deprecated mask dtype torch still takes)

// Index and mask tensors may live on the CPU whatever x's device (they are moved there, as torch
// allows); on any other device they are refused with a RuntimeError naming both devices.
void check_index_device(const Tensor& index, const Tensor& x, const char* op, const char* what);

// Called with the first position found out of range; throws the op's error.
using OutOfRange = std::function<void(int64_t position)>;
// index (int64 or int32) as int64 positions on `device`, each checked to lie in [0, size) or, with
// allow_negative, in [-size, size) (negative ones are wrapped). CPU indices are checked as they are
// read; CUDA ones with one min/max read back to the host (a synchronisation, like a mask's count).
Tensor checked_positions(const Tensor& index, int64_t size, bool allow_negative, Device device,
                         const OutOfRange& fail);

// The broadcast of two shapes, or nullopt when they do not broadcast.
std::optional<Shape> broadcast_shapes(const Shape& a, const Shape& b);
// t's element strides when read as if broadcast to `shape` (0 along broadcast dimensions; leading
// size-1 dimensions of t beyond shape's are dropped, as torch does for assigned values), or
// nullopt when t does not broadcast to shape.
std::optional<Shape> broadcast_strides(const Tensor& t, const Shape& shape);

// The kernels' iteration over `sizes` (see IndexIter), with size-1 dimensions dropped and
// neighbours that step together merged; a ValueError naming op when more than kMaxDims remain.
IndexIter make_index_iter(const Shape& sizes, const Shape& data_strides, const Shape& offset_strides,
                          const Shape& other_strides, const char* op);

// The two kernels on tensors: offsets is contiguous int64 on data's device. scatter_into bumps
// data's version and refuses a destination that overlaps itself (an expanded view).
void gather_into(const Tensor& data, const Tensor& offsets, const Tensor& out, const IndexIter& it);
void scatter_into(const Tensor& data, const Tensor& offsets, const Tensor& values, const IndexIter& it,
                  ScatterMode mode, const char* op);

// `op: a leaf Variable that requires grad is being used in an in-place operation` (torch's
// RuntimeError), when grad mode is on and x is such a leaf.
void check_inplace_leaf(const Tensor& x, const char* op);

// The write of an indexing op into x (in place) or into a copy of x, recorded by autograd when x
// or one of `others` requires grad: write(target) runs under no_grad, then make_node()'s node
// becomes the result's history with edges [x's previous history, others...].
Tensor write_recorded(const Tensor& x, bool in_place, const char* op, const std::vector<const Tensor*>& others,
                      const std::function<void(const Tensor&)>& write,
                      const std::function<std::shared_ptr<Node>()>& make_node);

// positions (int64, checked and wrapped) times base's stride along dim: the offsets of the ops
// along one dimension (gather, scatter, index_add, ...), and the data strides that go with them
// (base's strides, 0 at dim). positions_along_dim: positions is 1-D and runs along dim of the
// iteration (index_add/copy/fill/select); otherwise it has the iteration's shape (gather/scatter).
struct DimPlan {
  Tensor offsets;
  Shape data_strides, offset_strides;
};
DimPlan dim_plan(const Tensor& base, int64_t dim, const Tensor& positions, const Shape& iteration,
                 bool positions_along_dim);
// out (contiguous, shape `iteration`) = base gathered along dim at positions.
Tensor gather_along(const Tensor& base, int64_t dim, const Tensor& positions, const Shape& iteration,
                    bool positions_along_dim, const char* op);
// base scattered into along dim at positions from values (strided over `iteration`, or 0-d).
void scatter_along(const Tensor& base, int64_t dim, const Tensor& positions, const Tensor& values,
                   const Shape& iteration, bool positions_along_dim, ScatterMode mode, const char* op);

// A value argument (a wrapped number or a 0-d tensor) as a 0-d tensor of x's dtype on x's device;
// differentiable when it is a tensor that requires grad.
Tensor value_as_tensor(const Tensor& value, const Tensor& x, const char* op);

}  // namespace dlcore::ops::indexing
