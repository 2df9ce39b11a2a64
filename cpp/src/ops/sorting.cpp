// sort, argsort, topk, unique, cumsum and cumprod along a dimension, on either backend. The
// dimension is moved innermost and made contiguous for the row kernels of kernel_list.inc (sort_rows,
// topk_rows, scan_rows, cumprod_backward_rows). Sorted values are a gather of the input by the
// sorted indices, so their gradient is gather's. unique() is composed of device ops (argsort, gather,
// masked_select, cumsum, scatter, nonzero); unique(dim=) sorts slices on the host and so refuses
// CUDA tensors with a RuntimeError naming the op.
#include <algorithm>
#include <numeric>
#include <vector>

#include "../dispatch.h"
#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {
namespace {


// x with `dim` swapped to the end, contiguous: rows of the kernels' layout. A 0-d x is one row of 1.
struct Rows {
  Tensor data;
  int64_t dim = 0, rows = 0, n = 0;
};
Rows rows_along(const Tensor& x, int64_t dim, const char* op) {
  Rows r;
  const Tensor x1 = x.dim() == 0 ? reshape(x, {1}) : x;
  r.dim = wrap_dim(dim, x1.dim(), op);
  r.data = contiguous(transpose(x1, r.dim, -1));
  r.n = r.data.size(-1);
  r.rows = r.n == 0 ? 0 : r.data.numel() / r.n;
  return r;
}

// Undoes rows_along on a result laid out like r.data: transposed back, shaped like x.
Tensor from_rows(const Tensor& result, const Rows& r, const Tensor& x) {
  const Tensor back = contiguous(transpose(result, r.dim, -1));
  return x.dim() == 0 ? reshape(back, {}) : back;
}

Tensor sorted_indices(const Tensor& x, int64_t dim, bool descending, const char* op) {
  check_defined(x, op, "input");
  Rows r = rows_along(x.detach(), dim, op);
  Tensor idx = Tensor::empty(r.data.shape(), DType::Int64, x.device());
  if (r.rows > 0)
    DLCORE_DISPATCH(x.device(), sort_rows, x.dtype(), r.data.raw_data(), r.rows, r.n,
                    descending ? SortOrder::Descending : SortOrder::Ascending, idx.data<int64_t>());
  return from_rows(idx, r, x);
}

Tensor gather_along(const Tensor& x, int64_t dim, const Tensor& indices) {
  if (x.dim() == 0) return reshape(gather(reshape(x, {1}), 0, reshape(indices, {1})), {});
  return gather(x, dim, indices);
}

// cumsum's gradient: the reversed running sum of g.
struct CumsumBackward : Node {
  int64_t dim = 0;
  std::vector<Tensor> apply(const Tensor& g) override {
    if (g.dim() == 0) return {g};
    return {flip(cumsum(flip(g, {dim}), dim), {dim})};
  }
  std::string name() const override { return "CumsumBackward"; }
};

struct CumprodBackward : Node {
  int64_t dim = 0;
  Tensor input, result;
  std::vector<Tensor> apply(const Tensor& g) override {
    Rows x = rows_along(input, dim, "cumprod"), y = rows_along(result, dim, "cumprod");
    Rows gr = rows_along(g.dtype() == input.dtype() ? g : to_dtype(g, input.dtype()), dim, "cumprod");
    Tensor gx = Tensor::empty(x.data.shape(), input.dtype(), input.device());
    if (x.rows > 0)
      DLCORE_DISPATCH(input.device(), cumprod_backward_rows, input.dtype(), x.data.raw_data(), y.data.raw_data(),
                      gr.data.raw_data(), gx.raw_data(), x.rows, x.n);
    return {from_rows(gx, x, input)};
  }
  std::string name() const override { return "CumprodBackward"; }
  bool release_saved() override {
    input = result = Tensor();
    return true;
  }
};

Tensor scan(ScanOp op, const Tensor& x_in, int64_t dim, std::optional<DType> dtype, const char* name) {
  check_defined(x_in, name, "input");
  const Tensor x = dtype ? to_dtype(x_in, *dtype) : x_in;
  Rows r = rows_along(x.detach(), dim, name);
  const DType out_dtype = is_floating(x.dtype()) ? x.dtype() : DType::Int64;  // torch: integer scans are int64
  Tensor out = Tensor::empty(r.data.shape(), out_dtype, x.device());
  if (r.rows > 0) DLCORE_DISPATCH(x.device(), scan_rows, op, x.dtype(), r.data.raw_data(), out.raw_data(), r.rows, r.n);
  out = from_rows(out, r, x);
  if (autograd::any_requires_grad({&x})) {
    if (op == ScanOp::Sum) {
      auto node = std::make_shared<CumsumBackward>();
      node->dim = r.dim;
      autograd::record(node, {&x}, out);
    } else {
      auto node = std::make_shared<CumprodBackward>();
      node->dim = r.dim;
      node->save(node->input, x);
      node->save(node->result, out);
      autograd::record(node, {&x}, out);
    }
  }
  return out;
}

}  // namespace

ValuesIndices sort(const Tensor& x, int64_t dim, bool descending) {
  profiler::OpScope profile_scope("sort", x);
  const Tensor indices = sorted_indices(x, dim, descending, "sort");
  return {gather_along(x, dim, indices), indices};
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending) {
  profiler::OpScope profile_scope("argsort", x);
  return sorted_indices(x, dim, descending, "argsort");
}

ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim, bool largest) {
  profiler::OpScope profile_scope("topk", x);
  check_defined(x, "topk", "input");
  const int64_t d = wrap_dim(dim, x.dim(), "topk");
  const int64_t n = x.dim() == 0 ? 1 : x.size(d);
  if (k < 0 || k > n)
    throw std::runtime_error("topk: selected index k out of range: k = " + std::to_string(k) + " for dimension " +
                             std::to_string(d) + " of size " + std::to_string(n) + " in " + shape_str(x.shape()));
  Rows r = rows_along(x.detach(), d, "topk");
  Shape picked = r.data.shape();
  picked.back() = k;
  Tensor indices = Tensor::empty(picked, DType::Int64, x.device());
  if (r.rows > 0 && k > 0)
    DLCORE_DISPATCH(x.device(), topk_rows, x.dtype(), r.data.raw_data(), r.rows, r.n, k,
                    largest ? SortOrder::Descending : SortOrder::Ascending, indices.data<int64_t>());
  indices = from_rows(indices, r, x);
  return {gather_along(x, d, indices), indices};
}

UniqueResult unique(const Tensor& x) {
  profiler::OpScope profile_scope("unique", x);
  check_defined(x, "unique", "input");
  NoGradGuard no_grad;  // torch's unique has no gradient
  const Tensor flat = reshape(x.detach(), {-1});
  const int64_t n = flat.numel();
  UniqueResult u;
  if (n == 0) {
    u.values = Tensor::empty({0}, x.dtype(), x.device());
    u.inverse = Tensor::empty(x.shape(), DType::Int64, x.device());
    u.counts = Tensor::empty({0}, DType::Int64, x.device());
    return u;
  }
  const Tensor order = argsort(flat, 0, false);
  const Tensor sorted = gather(flat, 0, order);
  // starts[i]: sorted[i] begins a new value (NaN never equals NaN, so each NaN stands alone, as torch)
  const Tensor starts = cat({Tensor::full({1}, Scalar(true), DType::Bool, x.device()),
                             ne(slice(sorted, 0, 1, n), slice(sorted, 0, 0, n - 1))}, 0);
  u.values = masked_select(sorted, starts);
  const Tensor group = sub(cumsum(starts, 0, std::nullopt), Tensor::wrapped_number(Scalar(int64_t{1})));
  u.inverse = reshape(scatter(Tensor::empty({n}, DType::Int64, x.device()), 0, order, group), x.shape());
  const Tensor first = reshape(nonzero(starts), {-1});
  const Tensor ends =
      cat({slice(first, 0, 1, first.numel()), Tensor::full({1}, Scalar(n), DType::Int64, x.device())}, 0);
  u.counts = sub(ends, first);
  return u;
}

UniqueResult unique_dim(const Tensor& x_in, int64_t dim) {
  profiler::OpScope profile_scope("unique", x_in);
  check_defined(x_in, "unique", "input");
  if (x_in.is_cuda())
    throw std::runtime_error("unique: with dim= it sorts slices on the host and has no CUDA version yet (input " +
                             x_in.describe() + "); move the tensor with .cpu() first, or call unique() without dim");
  NoGradGuard no_grad;
  if (x_in.dim() == 0)
    throw IndexError("unique(): dimension specified as " + std::to_string(dim) + " but the tensor has no dimensions");
  const int64_t d = wrap_dim(dim, x_in.dim(), "unique");
  for (int64_t k = 0; k < x_in.dim(); ++k)
    if (k != d && x_in.size(k) == 0)
      throw std::runtime_error("unique(): there are 0 sized dimensions, and they aren't selected, so unique cannot be "
                               "applied (input " + x_in.describe() + ", dim " + std::to_string(d) + ")");
  // Slices along d become rows of a [n, m] matrix, sorted lexicographically (torch's order).
  std::vector<int64_t> to_front(static_cast<size_t>(x_in.dim()));
  to_front[0] = d;
  for (int64_t k = 0, j = 1; k < x_in.dim(); ++k)
    if (k != d) to_front[static_cast<size_t>(j++)] = k;
  const Tensor front = permute(x_in.detach(), to_front).contiguous();
  const int64_t n = x_in.size(d), m = n == 0 ? 0 : front.numel() / n;
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::vector<int64_t> first_rows, group(static_cast<size_t>(n));  // group: each sorted row's unique index
  visit_dtype(front.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* rows = front.data<T>();
    auto row = [&](int64_t r) { return rows + r * m; };
    // stable_sort never reads out of bounds, even for NaN's inconsistent comparisons.
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return std::lexicographical_compare(row(a), row(a) + m, row(b), row(b) + m);
    });
    for (int64_t i = 0; i < n; ++i) {
      const int64_t r = order[static_cast<size_t>(i)];
      if (i == 0 || !std::equal(row(r), row(r) + m, row(order[static_cast<size_t>(i - 1)]))) first_rows.push_back(r);
      group[static_cast<size_t>(i)] = static_cast<int64_t>(first_rows.size()) - 1;
    }
  });
  const int64_t k = static_cast<int64_t>(first_rows.size());
  UniqueResult u;
  u.inverse = Tensor::empty({n}, DType::Int64);
  u.counts = Tensor::zeros({k}, DType::Int64);
  Tensor picked = Tensor::empty({k}, DType::Int64);
  std::copy(first_rows.begin(), first_rows.end(), picked.data<int64_t>());
  int64_t* inverse = u.inverse.data<int64_t>();
  int64_t* counts = u.counts.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    inverse[order[static_cast<size_t>(i)]] = group[static_cast<size_t>(i)];
    ++counts[group[static_cast<size_t>(i)]];
  }
  // Back to the input's layout: the unique slices along d, the other dims as they were.
  std::vector<int64_t> back(to_front.size());
  for (size_t j = 0; j < to_front.size(); ++j) back[static_cast<size_t>(to_front[j])] = static_cast<int64_t>(j);
  u.values = permute(index_select(front, 0, picked), back).contiguous();
  return u;
}

Tensor cumsum(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  profiler::OpScope profile_scope("cumsum", x);
  return scan(ScanOp::Sum, x, dim, dtype, "cumsum");
}
Tensor cumprod(const Tensor& x, int64_t dim, std::optional<DType> dtype) {
  profiler::OpScope profile_scope("cumprod", x);
  return scan(ScanOp::Product, x, dim, dtype, "cumprod");
}

}  // namespace dlcore::ops
