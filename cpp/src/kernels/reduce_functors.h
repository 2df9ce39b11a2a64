// The combining rule of each ReduceOp, written once for the CPU and CUDA reduce kernels: the
// accumulator, its identity, how one element enters it, how two partial results merge (in any
// order: Max/Min break ties on the index) and how the result is rounded to the output type.
#pragma once
#include <cstdint>
#include <type_traits>

#include "dlcore/kernels.h"

namespace dlcore::functors {

// A partial reduction: the accumulated value and, for Max/Min, the index it came from (-1: empty).
template <class Acc>
struct ReduceState {
  Acc value;
  int64_t index;
};

// Sum/Prod of bool and integers count in int64 (as torch); floats accumulate in double.
template <class T> using reduce_accumulate_t = std::conditional_t<std::is_integral_v<T>, int64_t, double>;
template <class T> using reduce_sum_out_t = std::conditional_t<std::is_integral_v<T>, int64_t, T>;

template <ReduceOp Op, class T> struct Reducer;

template <ReduceOp Op, class T>
struct ArithmeticReducer {
  using Acc = reduce_accumulate_t<T>;
  using Out = reduce_sum_out_t<T>;
  using State = ReduceState<Acc>;
  static DLCORE_HOST_DEVICE State identity() { return {Acc(Op == ReduceOp::Sum ? 0 : 1), -1}; }
  static DLCORE_HOST_DEVICE Acc load(T x) { return static_cast<Acc>(static_cast<opmath_t<T>>(x)); }
  static DLCORE_HOST_DEVICE void step(State& s, Acc v, int64_t) {
    if constexpr (Op == ReduceOp::Sum) s.value += v; else s.value *= v;
  }
  static DLCORE_HOST_DEVICE State combine(const State& a, const State& b) {
    return {Op == ReduceOp::Sum ? a.value + b.value : a.value * b.value, -1};
  }
  static DLCORE_HOST_DEVICE Out finish(const State& s, double scale) {
    if constexpr (std::is_integral_v<Out>) {
      return s.value;
    } else {
      return static_cast<Out>(static_cast<opmath_t<Out>>(Op == ReduceOp::Sum ? s.value * scale : s.value));
    }
  }
};
template <class T> struct Reducer<ReduceOp::Sum, T> : ArithmeticReducer<ReduceOp::Sum, T> {};
template <class T> struct Reducer<ReduceOp::Prod, T> : ArithmeticReducer<ReduceOp::Prod, T> {};

// NaN beats every number (torch propagates it); among equal values the lower index wins.
template <ReduceOp Op, class T>
struct ExtremumReducer {
  using Acc = opmath_t<T>;
  using Out = T;
  using State = ReduceState<Acc>;
  static DLCORE_HOST_DEVICE bool nan(Acc v) { return v != v; }
  static DLCORE_HOST_DEVICE bool beats(Acc v, Acc best) {
    if (nan(v)) return !nan(best);
    if (nan(best)) return false;
    return Op == ReduceOp::Max ? best < v : v < best;
  }
  static DLCORE_HOST_DEVICE State identity() { return {Acc(0), -1}; }
  static DLCORE_HOST_DEVICE Acc load(T x) { return static_cast<Acc>(x); }
  // Elements arrive in increasing index order within one state.
  static DLCORE_HOST_DEVICE void step(State& s, Acc v, int64_t index) {
    if (s.index < 0 || beats(v, s.value)) s = {v, index};
  }
  static DLCORE_HOST_DEVICE State combine(const State& a, const State& b) {
    if (a.index < 0) return b;
    if (b.index < 0) return a;
    if (beats(b.value, a.value)) return b;
    if (beats(a.value, b.value)) return a;
    return b.index < a.index ? b : a;
  }
  static DLCORE_HOST_DEVICE Out finish(const State& s, double) { return static_cast<Out>(s.value); }
};
template <class T> struct Reducer<ReduceOp::Max, T> : ExtremumReducer<ReduceOp::Max, T> {};
template <class T> struct Reducer<ReduceOp::Min, T> : ExtremumReducer<ReduceOp::Min, T> {};

// Calls fn(std::integral_constant<ReduceOp, op>{}) so backends template their kernels on the op.
template <class Fn>
void visit_reduce_op(ReduceOp op, Fn&& fn) {
  switch (op) {
    case ReduceOp::Sum: fn(std::integral_constant<ReduceOp, ReduceOp::Sum>{}); return;
    case ReduceOp::Prod: fn(std::integral_constant<ReduceOp, ReduceOp::Prod>{}); return;
    case ReduceOp::Max: fn(std::integral_constant<ReduceOp, ReduceOp::Max>{}); return;
    case ReduceOp::Min: fn(std::integral_constant<ReduceOp, ReduceOp::Min>{}); return;
  }
}

}  // namespace dlcore::functors
