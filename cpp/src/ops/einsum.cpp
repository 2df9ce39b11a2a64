// einsum with torch's equation language: letters a-z A-Z, one "..." per operand, an explicit
// "->output" or the implicit one (broadcast dimensions, then the letters used once, in order).
// Repeated letters within an operand take its diagonal first. Two operands with matching sizes
// contract through bmm (batch, kept and summed letters grouped into three dimensions); anything
// else multiplies the aligned operands with broadcasting and sums the contracted letters.
#include <algorithm>
#include <map>

#include "dlcore/profiler.h"
#include "op_util.h"

namespace dlcore::ops {
namespace {

constexpr int kLetters = 52;  // label ids: 'A'-'Z' 0..25, 'a'-'z' 26..51, then the "..." dimensions
constexpr int kEllipsis = -1;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("einsum(): " + what); }

int letter_id(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  return -2;
}

// One term of the equation: letter ids with kEllipsis where "..." stands.
std::vector<int> parse_term(const std::string& term, size_t offset) {
  std::vector<int> labels;
  bool ellipsis = false;
  for (size_t i = 0; i < term.size(); ++i) {
    if (term[i] == '.') {
      if (ellipsis || term.compare(i, 3, "...") != 0)
        fail("found '.' at index " + std::to_string(offset + i) + " that is not part of exactly one ellipsis ('...')");
      ellipsis = true;
      labels.push_back(kEllipsis);
      i += 2;
      continue;
    }
    const int id = letter_id(term[i]);
    if (id < 0)
      fail("invalid subscript given at index " + std::to_string(offset + i) +
           " in the equation string, subscripts must be in [a-zA-Z]");
    labels.push_back(id);
  }
  return labels;
}

// The operand's dimensions as label ids, "..." replaced by the ids of the last `dims` of the
// `ellipsis_dims` broadcast dimensions (right-aligned, as broadcasting aligns them).
std::vector<int> expand_ellipsis(const std::vector<int>& term, int64_t dims, int64_t ellipsis_dims) {
  std::vector<int> labels;
  for (int id : term) {
    if (id != kEllipsis) {
      labels.push_back(id);
      continue;
    }
    for (int64_t j = 0; j < dims; ++j) labels.push_back(static_cast<int>(kLetters + ellipsis_dims - dims + j));
  }
  return labels;
}

// Takes the diagonal of every letter repeated within one operand, so each label appears once.
void take_diagonals(Tensor& x, std::vector<int>& labels) {
  for (size_t p = 0; p < labels.size(); ++p) {
    for (size_t q = p + 1; q < labels.size(); ++q) {
      if (labels[q] != labels[p]) continue;
      if (x.size(static_cast<int64_t>(p)) != x.size(static_cast<int64_t>(q)))
        fail("subscript repeated within an operand has sizes " + std::to_string(x.size(p)) + " and " +
             std::to_string(x.size(q)));
      const int label = labels[p];
      x = diagonal(x, 0, static_cast<int64_t>(p), static_cast<int64_t>(q));
      labels.erase(labels.begin() + static_cast<std::ptrdiff_t>(q));
      labels.erase(labels.begin() + static_cast<std::ptrdiff_t>(p));
      labels.push_back(label);
      p = static_cast<size_t>(-1);  // restart: the positions moved
      break;
    }
  }
}

// x (dimensions `labels`) permuted into `order` with size-1 dimensions for the labels it lacks.
Tensor align(const Tensor& x, const std::vector<int>& labels, const std::vector<int>& order) {
  std::vector<int64_t> perm;
  Shape shape;
  for (int id : order) {
    const auto at = std::find(labels.begin(), labels.end(), id);
    if (at == labels.end()) {
      shape.push_back(1);
      continue;
    }
    perm.push_back(at - labels.begin());
    shape.push_back(x.size(at - labels.begin()));
  }
  return reshape(permute(x, perm), shape);
}

int64_t product_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t v : s) n *= v;
  return n;
}

// Two operands whose shared labels have equal sizes: sum the labels only one side has and the
// output lacks, then one bmm over [batch, kept-left, contracted] x [batch, contracted, kept-right].
Tensor contract_pair(Tensor a, std::vector<int> la, Tensor b, std::vector<int> lb, const std::vector<int>& out,
                     const std::map<int, int64_t>& size) {
  auto in = [](const std::vector<int>& v, int id) { return std::find(v.begin(), v.end(), id) != v.end(); };
  auto sum_private = [&](Tensor& x, std::vector<int>& lx, const std::vector<int>& other) {
    std::vector<int64_t> dims;
    std::vector<int> kept;
    for (size_t i = 0; i < lx.size(); ++i) {
      if (!in(other, lx[i]) && !in(out, lx[i])) dims.push_back(static_cast<int64_t>(i));
      else kept.push_back(lx[i]);
    }
    if (!dims.empty()) x = sum(x, dims);
    lx = kept;
  };
  sum_private(a, la, lb);
  sum_private(b, lb, la);
  std::vector<int> batch, left, right, contracted;
  for (int id : la) (in(lb, id) ? (in(out, id) ? batch : contracted) : left).push_back(id);
  for (int id : lb) if (!in(la, id)) right.push_back(id);
  auto sizes = [&](const std::vector<int>& ids) {
    Shape s;
    for (int id : ids) s.push_back(size.at(id));
    return s;
  };
  std::vector<int> order_a = batch, order_b = batch;
  order_a.insert(order_a.end(), left.begin(), left.end());
  order_a.insert(order_a.end(), contracted.begin(), contracted.end());
  order_b.insert(order_b.end(), contracted.begin(), contracted.end());
  order_b.insert(order_b.end(), right.begin(), right.end());
  const int64_t B = product_of(sizes(batch)), L = product_of(sizes(left)), C = product_of(sizes(contracted)),
                R = product_of(sizes(right));
  const Tensor result = bmm(reshape(align(a, la, order_a), {B, L, C}), reshape(align(b, lb, order_b), {B, C, R}));
  std::vector<int> labels = batch;
  labels.insert(labels.end(), left.begin(), left.end());
  labels.insert(labels.end(), right.begin(), right.end());
  Shape shape = sizes(batch), left_sizes = sizes(left), right_sizes = sizes(right);
  shape.insert(shape.end(), left_sizes.begin(), left_sizes.end());
  shape.insert(shape.end(), right_sizes.begin(), right_sizes.end());
  return contiguous(align(reshape(result, shape), labels, out));
}

}  // namespace

Tensor einsum(const std::string& equation_in, const std::vector<Tensor>& operands) {
  profiler::OpScope profile_scope("einsum", operands);
  std::string equation;
  for (char c : equation_in) if (c != ' ') equation.push_back(c);
  const size_t arrow = equation.find("->");
  const std::string lhs = equation.substr(0, arrow);
  std::vector<std::vector<int>> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(parse_term(lhs.substr(start, comma - start), start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (operands.empty()) fail("must provide at least one operand");
  if (terms.size() != operands.size())
    fail(std::string(terms.size() < operands.size() ? "more" : "fewer") + " operands were provided than specified in the equation");
  int64_t ellipsis_dims = 0;
  std::vector<int64_t> operand_ellipsis(operands.size(), 0);
  for (size_t i = 0; i < operands.size(); ++i) {
    check_defined(operands[i], "einsum", "operand");
    const auto letters = static_cast<int64_t>(std::count_if(terms[i].begin(), terms[i].end(), [](int id) { return id != kEllipsis; }));
    const bool has_ellipsis = letters != static_cast<int64_t>(terms[i].size());
    if (has_ellipsis ? operands[i].dim() < letters : operands[i].dim() != letters)
      fail("the number of subscripts in the equation (" + std::to_string(letters) +
           ") does not match the number of dimensions (" + std::to_string(operands[i].dim()) + ") for operand " +
           std::to_string(i) + (has_ellipsis ? "" : " and no ellipsis was given"));
    operand_ellipsis[i] = has_ellipsis ? operands[i].dim() - letters : 0;
    ellipsis_dims = std::max(ellipsis_dims, operand_ellipsis[i]);
    if (i > 0) check_same_device(operands[0], operands[i], "einsum");
  }
  std::vector<Tensor> xs(operands.begin(), operands.end());
  std::vector<std::vector<int>> labels(operands.size());
  std::map<int, int64_t> size;  // each label's size (1 broadcasts against any other)
  std::map<int, int> uses;
  for (size_t i = 0; i < xs.size(); ++i) {
    labels[i] = expand_ellipsis(terms[i], operand_ellipsis[i], ellipsis_dims);
    for (int id : labels[i]) ++uses[id];
    take_diagonals(xs[i], labels[i]);
    for (size_t d = 0; d < labels[i].size(); ++d) {
      const int64_t s = xs[i].size(static_cast<int64_t>(d));
      auto [at, fresh] = size.emplace(labels[i][d], s);
      if (!fresh && at->second != s && at->second != 1 && s != 1)
        fail("operands do not broadcast: subscript sizes " + std::to_string(at->second) + " and " + std::to_string(s) +
             " (operand " + std::to_string(i) + " is " + shape_str(operands[i].shape()) + ")");
      if (!fresh && at->second == 1) at->second = s;
    }
  }
  std::vector<int> out;
  if (arrow == std::string::npos) {
    for (int64_t j = 0; j < ellipsis_dims; ++j) out.push_back(static_cast<int>(kLetters + j));
    for (auto [id, n] : uses) if (id < kLetters && n == 1) out.push_back(id);
  } else {
    for (int id : parse_term(equation.substr(arrow + 2), arrow + 2)) {
      if (id == kEllipsis) {
        for (int64_t j = 0; j < ellipsis_dims; ++j) out.push_back(static_cast<int>(kLetters + j));
        continue;
      }
      if (!size.count(id))
        fail("output subscript " + std::string(1, static_cast<char>(id < 26 ? 'A' + id : 'a' + id - 26)) +
             " does not appear in the equation for any input operand");
      if (std::count(out.begin(), out.end(), id)) fail("output subscript appears more than once in the output");
      out.push_back(id);
    }
  }
  if (xs.size() == 2 && xs[0].dtype() == xs[1].dtype() && xs[0].dtype() != DType::Bool) {
    bool same_sizes = true;
    for (size_t d = 0; d < labels[0].size(); ++d)
      for (size_t e = 0; e < labels[1].size(); ++e)
        if (labels[0][d] == labels[1][e] && xs[0].size(d) != xs[1].size(e)) same_sizes = false;
    if (same_sizes) return contract_pair(xs[0], labels[0], xs[1], labels[1], out, size);
  }
  std::vector<int> order = out;
  for (auto [id, n] : size) if (std::find(out.begin(), out.end(), id) == out.end()) order.push_back(id);
  Tensor product = align(xs[0], labels[0], order);
  for (size_t i = 1; i < xs.size(); ++i) product = mul(product, align(xs[i], labels[i], order));
  const DType dtype = product.dtype();
  if (order.size() > out.size()) {
    std::vector<int64_t> contracted;
    for (size_t d = out.size(); d < order.size(); ++d) contracted.push_back(static_cast<int64_t>(d));
    product = sum(product, contracted);
  }
  Shape out_shape;
  for (int id : out) out_shape.push_back(size.at(id));
  product = contiguous(expand(product, out_shape));  // a label of size 1 in every operand but broadcast
  return product.dtype() == dtype ? product : to_dtype(product, dtype);
}

}  // namespace dlcore::ops
