"""The op table: the one declaration of every pointwise op (PyTorch's native_functions.yaml and
derivatives.yaml in one place). tools/generate_ops.py reads it at build time and writes the C++
declarations and definitions, the pybind11 bindings of every surface, the Python re-exports and the
list the test suites parametrise over. An op's math is one functor in its family's header under
cpp/src/kernels/functors/ (activation.h, unary.h, binary.h, logic.h), shared by the CPU and CUDA
backends.

Row fields:
  signature  PyTorch's Python signature: Tensor arguments, then scalars (`float`, `float?` for an
             optional number, `int`, `str` / `str?` for a choice among `choices`, None included for
             `str?`), defaults in Python syntax. At most three scalars (PointwiseArgs a, b, c).
  functor    the functor's name in cpp/src/kernels/functors/ (also the PointwiseOp enumerator).
  dtypes     the dtypes the kernels are instantiated for, and what happens to other inputs:
             FLOAT       float16, bfloat16, float32, float64; integer and bool inputs are promoted to
                         the default dtype (float32 unless set_default_dtype changed it), as PyTorch's sin/exp/div do
             FLOAT_ONLY  the same kernels; integer and bool inputs raise NotImplementedError, as
                         PyTorch's hypot/silu/lerp do
             NUMERIC     FLOAT + uint8, int32, int64 (bool inputs raise NotImplementedError)
             ALL         NUMERIC + bool
             INTEGRAL    uint8, int32, int64 (the shifts); float and bool inputs raise NotImplementedError
             INTEGRAL_BOOL  INTEGRAL + bool (bitwise and/or/xor/not)
  output     "promoted" (the inputs' promoted dtype) or "bool" (comparisons, logical ops, isnan).
  saves      which forward values the backward functor reads ("input", "other", "result"...); None
             for ops without a gradient (their results never require grad); () for a gradient that
             reads nothing (neg, or floor's zeros).
  surfaces   where the op appears: "dl" (dl.X), "F" (dl.nn.functional.X), "method" (Tensor.X),
             "inplace" (Tensor.X_, and F.X(..., inplace=True) where F has it), "module:Name"
             (dl.nn.Name, a Module whose forward is F.X with the scalar arguments as attributes).
             A row with no surfaces is internal: it is reached through another row's `variants`.
  domain     where tests draw inputs: "real", "positive" (log, sqrt), "nonzero" (div's divisor),
             "unit" (|x| < 0.9: asin, atanh, erfinv), "above_one" (acosh), "probability" (logit).
  aliases    other names of the same op on the same surfaces (clip for clamp): one function, bound
             under each name.
  variants   {choice value: functor} for the row's `str`/`str?` argument: those values run another
             row's functor (an internal row, or a public one) instead of this row's, so each keeps its
             own dtypes and gradient (div's rounding_mode='trunc' keeps integers integral).
  divisors   the Tensor arguments that divide in integer arithmetic: a zero among them raises
             RuntimeError (ZeroDivisionError) on the CPU, as in PyTorch, instead of trapping.
A Tensor argument named `condition` is a bool mask: it takes no part in type promotion and gets no
gradient; every other floating-point Tensor argument is differentiable.
"""
from __future__ import annotations

from dataclasses import dataclass, field

FLOAT = "FLOAT"
FLOAT_ONLY = "FLOAT_ONLY"
NUMERIC = "NUMERIC"
ALL = "ALL"
INTEGRAL = "INTEGRAL"
INTEGRAL_BOOL = "INTEGRAL_BOOL"


@dataclass(frozen=True)
class Op:
    signature: str
    functor: str
    dtypes: str
    saves: tuple[str, ...] | None
    surfaces: tuple[str, ...]
    output: str = "promoted"
    domain: str = "real"
    choices: dict[str, tuple[str | None, ...]] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    variants: dict[str | None, str] = field(default_factory=dict)
    divisors: tuple[str, ...] = ()


ACTIVATION = ("dl", "F", "method", "inplace")
MATH = ("dl", "method", "inplace")
LOGIC = ("dl", "method")

OPS = [
    # ---- activations ----
    Op("relu(Tensor input)", "Relu", NUMERIC, ("result",), ACTIVATION + ("module:ReLU",)),
    Op("sigmoid(Tensor input)", "Sigmoid", FLOAT, ("result",), ACTIVATION + ("module:Sigmoid",)),
    Op("tanh(Tensor input)", "Tanh", FLOAT, ("result",), ACTIVATION + ("module:Tanh",)),
    Op("silu(Tensor input)", "Silu", FLOAT_ONLY, ("input",), ("F", "inplace", "module:SiLU")),
    Op("gelu(Tensor input, str approximate='none')", "Gelu", FLOAT_ONLY, ("input",), ("F", "module:GELU"),
       choices={"approximate": ("none", "tanh")}),
    Op("elu(Tensor input, float alpha=1.0)", "Elu", FLOAT_ONLY, ("input", "result"), ("F", "inplace", "module:ELU")),
    Op("leaky_relu(Tensor input, float negative_slope=0.01)", "LeakyRelu", FLOAT_ONLY, ("input",),
       ("F", "inplace", "module:LeakyReLU")),
    Op("hardtanh(Tensor input, float min_val=-1.0, float max_val=1.0)", "Hardtanh", NUMERIC, ("input",),
       ("F", "inplace", "module:Hardtanh")),
    Op("relu6(Tensor input)", "Relu6", NUMERIC, ("input",), ("F", "inplace", "module:ReLU6")),
    Op("hardsigmoid(Tensor input)", "Hardsigmoid", FLOAT_ONLY, ("input",), ("F", "inplace", "module:Hardsigmoid")),
    Op("hardswish(Tensor input)", "Hardswish", FLOAT_ONLY, ("input",), ("F", "inplace", "module:Hardswish")),
    Op("mish(Tensor input)", "Mish", FLOAT_ONLY, ("input",), ("F", "inplace", "module:Mish")),
    Op("softplus(Tensor input, float beta=1.0, float threshold=20.0)", "Softplus", FLOAT_ONLY, ("input",),
       ("F", "module:Softplus")),
    Op("softsign(Tensor input)", "Softsign", FLOAT, ("input",), ("F", "module:Softsign")),
    Op("selu(Tensor input)", "Selu", FLOAT_ONLY, ("input",), ("dl", "F", "inplace", "module:SELU")),
    Op("celu(Tensor input, float alpha=1.0)", "Celu", FLOAT_ONLY, ("input",), ("dl", "F", "inplace", "module:CELU")),
    Op("logsigmoid(Tensor input)", "Logsigmoid", FLOAT_ONLY, ("input",), ("F", "module:LogSigmoid")),
    Op("tanhshrink(Tensor input)", "Tanhshrink", FLOAT, ("input",), ("F", "module:Tanhshrink")),
    Op("hardshrink(Tensor input, float lambd=0.5)", "Hardshrink", FLOAT_ONLY, ("input",),
       ("dl", "F", "method", "module:Hardshrink")),
    Op("softshrink(Tensor input, float lambd=0.5)", "Softshrink", FLOAT_ONLY, ("input",), ("F", "module:Softshrink")),
    # ---- unary math ----
    Op("exp(Tensor input)", "Exp", FLOAT, ("result",), MATH),
    Op("exp2(Tensor input)", "Exp2", FLOAT, ("result",), MATH),
    Op("expm1(Tensor input)", "Expm1", FLOAT, ("result",), MATH),
    Op("log(Tensor input)", "Log", FLOAT, ("input",), MATH, domain="positive"),
    Op("log2(Tensor input)", "Log2", FLOAT, ("input",), MATH, domain="positive"),
    Op("log10(Tensor input)", "Log10", FLOAT, ("input",), MATH, domain="positive"),
    Op("log1p(Tensor input)", "Log1p", FLOAT, ("input",), MATH, domain="positive"),
    Op("sqrt(Tensor input)", "Sqrt", FLOAT, ("result",), MATH, domain="positive"),
    Op("rsqrt(Tensor input)", "Rsqrt", FLOAT, ("result",), MATH, domain="positive"),
    Op("reciprocal(Tensor input)", "Reciprocal", FLOAT, ("result",), MATH, domain="nonzero"),
    Op("square(Tensor input)", "Square", NUMERIC, ("input",), MATH),
    Op("sin(Tensor input)", "Sin", FLOAT, ("input",), MATH),
    Op("cos(Tensor input)", "Cos", FLOAT, ("input",), MATH),
    Op("tan(Tensor input)", "Tan", FLOAT, ("result",), MATH, domain="unit"),
    Op("asin(Tensor input)", "Asin", FLOAT, ("input",), MATH, domain="unit"),
    Op("acos(Tensor input)", "Acos", FLOAT, ("input",), MATH, domain="unit"),
    Op("atan(Tensor input)", "Atan", FLOAT, ("input",), MATH),
    Op("sinh(Tensor input)", "Sinh", FLOAT, ("input",), MATH),
    Op("cosh(Tensor input)", "Cosh", FLOAT, ("input",), MATH),
    Op("asinh(Tensor input)", "Asinh", FLOAT, ("input",), MATH),
    Op("acosh(Tensor input)", "Acosh", FLOAT, ("input",), MATH, domain="above_one"),
    Op("atanh(Tensor input)", "Atanh", FLOAT, ("input",), MATH, domain="unit"),
    Op("erf(Tensor input)", "Erf", FLOAT, ("input",), MATH),
    Op("erfc(Tensor input)", "Erfc", FLOAT, ("input",), MATH),
    Op("erfinv(Tensor input)", "Erfinv", FLOAT, ("result",), MATH, domain="unit"),
    Op("logit(Tensor input, float? eps=None)", "Logit", FLOAT, ("input",), MATH, domain="probability"),
    Op("abs(Tensor input)", "Abs", NUMERIC, ("input",), MATH),
    Op("neg(Tensor input)", "Neg", NUMERIC, (), MATH),
    Op("sign(Tensor input)", "Sign", ALL, (), MATH),
    # floor, ceil, round and trunc keep integer tensors as they are; their gradient is zero
    Op("floor(Tensor input)", "Floor", NUMERIC, (), MATH),
    Op("ceil(Tensor input)", "Ceil", NUMERIC, (), MATH),
    Op("round(Tensor input, *, int decimals=0)", "Round", NUMERIC, (), MATH),
    Op("trunc(Tensor input)", "Trunc", NUMERIC, (), MATH),
    Op("frac(Tensor input)", "Frac", FLOAT_ONLY, (), MATH),
    Op("clamp(Tensor input, float? min=None, float? max=None)", "Clamp", NUMERIC, ("input",), MATH, aliases=("clip",)),
    Op("nan_to_num(Tensor input, float? nan=0.0, float? posinf=None, float? neginf=None)", "NanToNum", ALL, ("input",),
       MATH),
    # ---- binary arithmetic (Python numbers allowed for either operand) ----
    Op("add(Tensor input, Tensor other, *, float alpha=1)", "Add", NUMERIC, (), MATH),
    Op("sub(Tensor input, Tensor other, *, float alpha=1)", "Sub", NUMERIC, (), MATH),
    Op("mul(Tensor input, Tensor other)", "Mul", NUMERIC, ("input", "other"), MATH),
    Op("div(Tensor input, Tensor other, *, str? rounding_mode=None)", "Div", FLOAT, ("input", "other"), MATH,
       domain="nonzero", choices={"rounding_mode": (None, "trunc", "floor")},
       variants={"trunc": "DivTrunc", "floor": "DivFloor"}, aliases=("true_divide",)),
    Op("div_trunc(Tensor input, Tensor other)", "DivTrunc", NUMERIC, (), (), domain="nonzero", divisors=("other",)),
    Op("div_floor(Tensor input, Tensor other)", "DivFloor", NUMERIC, (), (), domain="nonzero", divisors=("other",)),
    # torch has no derivative for floor_divide (div(rounding_mode='floor') has a zero one)
    Op("floor_divide(Tensor input, Tensor other)", "FloorDivide", NUMERIC, None, MATH, domain="nonzero",
       divisors=("other",)),
    Op("remainder(Tensor input, Tensor other)", "Remainder", NUMERIC, ("input", "other"), MATH, domain="nonzero",
       divisors=("other",)),
    Op("fmod(Tensor input, Tensor other)", "Fmod", NUMERIC, ("input", "other"), MATH, domain="nonzero",
       divisors=("other",)),
    Op("pow(Tensor input, Tensor exponent)", "Pow", NUMERIC, ("input", "exponent", "result"), MATH,
       domain="positive"),
    Op("atan2(Tensor input, Tensor other)", "Atan2", FLOAT, ("input", "other"), MATH),
    Op("hypot(Tensor input, Tensor other)", "Hypot", FLOAT_ONLY, ("input", "other", "result"), MATH),
    Op("copysign(Tensor input, Tensor other)", "Copysign", FLOAT, ("input", "result"), MATH),
    Op("logaddexp(Tensor input, Tensor other)", "Logaddexp", FLOAT_ONLY, ("input", "other"), LOGIC),
    Op("logaddexp2(Tensor input, Tensor other)", "Logaddexp2", FLOAT_ONLY, ("input", "other"), LOGIC),
    Op("xlogy(Tensor input, Tensor other)", "Xlogy", FLOAT, ("input", "other"), MATH, domain="positive"),
    Op("maximum(Tensor input, Tensor other)", "Maximum", NUMERIC, ("input", "other"), LOGIC),
    Op("minimum(Tensor input, Tensor other)", "Minimum", NUMERIC, ("input", "other"), LOGIC),
    Op("fmax(Tensor input, Tensor other)", "Fmax", ALL, ("input", "other"), LOGIC),
    Op("fmin(Tensor input, Tensor other)", "Fmin", ALL, ("input", "other"), LOGIC),
    # ---- bits (integer and bool tensors) ----
    Op("bitwise_and(Tensor input, Tensor other)", "BitwiseAnd", INTEGRAL_BOOL, None, MATH),
    Op("bitwise_or(Tensor input, Tensor other)", "BitwiseOr", INTEGRAL_BOOL, None, MATH),
    Op("bitwise_xor(Tensor input, Tensor other)", "BitwiseXor", INTEGRAL_BOOL, None, MATH),
    Op("bitwise_not(Tensor input)", "BitwiseNot", INTEGRAL_BOOL, None, MATH),
    Op("bitwise_left_shift(Tensor input, Tensor other)", "BitwiseLeftShift", INTEGRAL, None, MATH),
    Op("bitwise_right_shift(Tensor input, Tensor other)", "BitwiseRightShift", INTEGRAL, None, MATH),
    # ---- comparisons, logic and classification (bool results, no gradient) ----
    Op("eq(Tensor input, Tensor other)", "Eq", ALL, None, LOGIC, output="bool"),
    Op("ne(Tensor input, Tensor other)", "Ne", ALL, None, LOGIC, output="bool"),
    Op("lt(Tensor input, Tensor other)", "Lt", NUMERIC, None, LOGIC, output="bool"),
    Op("le(Tensor input, Tensor other)", "Le", NUMERIC, None, LOGIC, output="bool"),
    Op("gt(Tensor input, Tensor other)", "Gt", NUMERIC, None, LOGIC, output="bool"),
    Op("ge(Tensor input, Tensor other)", "Ge", NUMERIC, None, LOGIC, output="bool"),
    Op("logical_and(Tensor input, Tensor other)", "LogicalAnd", ALL, None, LOGIC, output="bool"),
    Op("logical_or(Tensor input, Tensor other)", "LogicalOr", ALL, None, LOGIC, output="bool"),
    Op("logical_xor(Tensor input, Tensor other)", "LogicalXor", ALL, None, LOGIC, output="bool"),
    Op("logical_not(Tensor input)", "LogicalNot", ALL, None, LOGIC, output="bool"),
    Op("isnan(Tensor input)", "Isnan", ALL, None, LOGIC, output="bool"),
    Op("isinf(Tensor input)", "Isinf", ALL, None, LOGIC, output="bool"),
    Op("isposinf(Tensor input)", "Isposinf", ALL, None, LOGIC, output="bool"),
    Op("isneginf(Tensor input)", "Isneginf", ALL, None, LOGIC, output="bool"),
    Op("isfinite(Tensor input)", "Isfinite", ALL, None, LOGIC, output="bool"),
    Op("signbit(Tensor input)", "Signbit", ALL, None, LOGIC, output="bool"),
    # ---- three tensors ----
    Op("where(Tensor condition, Tensor input, Tensor other)", "Where", ALL, ("condition",), ("dl",)),
    Op("lerp(Tensor input, Tensor end, Tensor weight)", "Lerp", FLOAT_ONLY, ("input", "end", "weight"), MATH),
    Op("addcmul(Tensor input, Tensor tensor1, Tensor tensor2, *, float value=1)", "Addcmul", NUMERIC,
       ("tensor1", "tensor2"), MATH),
    Op("addcdiv(Tensor input, Tensor tensor1, Tensor tensor2, *, float value=1)", "Addcdiv", FLOAT_ONLY,
       ("tensor1", "tensor2"), MATH, domain="nonzero"),
]
