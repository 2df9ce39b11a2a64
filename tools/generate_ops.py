#!/usr/bin/env python3
"""Generates dlcore's pointwise-op code from the op table (cpp/op_table.py), run by CMake at build time.

Writes into OUTDIR:
  dlcore/pointwise_ops.inc   X-macro list DLCORE_POINTWISE_OP(Functor, name, arity, dtypes, bool_output,
                             differentiable, saved_inputs_mask, saves_result, condition_inputs_mask,
                             divisor_inputs_mask): the PointwiseOp enum, the op layer's op info and the
                             kernels' functor dispatch are all expanded from it
  dlcore/ops_generated.h     the C++ op declarations (namespace dlcore::ops)
  ops_generated.cpp          their definitions: argument packing and a call into the pointwise op layer
  bindings_generated.cpp     pybind11 bindings of every surface and _C._op_table_json (the table as JSON:
                             the Python re-exports and the tests' op list are read from it)

Usage: generate_ops.py OP_TABLE OUTDIR
"""
from __future__ import annotations

import ast
import importlib.util
import json
import pathlib
import re
import sys
from dataclasses import dataclass


@dataclass
class Arg:
    name: str
    kind: str          # "Tensor", "float", "float?", "int", "str", "str?"
    default: str | None
    keyword_only: bool


def parse_signature(signature: str) -> tuple[str, list[Arg]]:
    m = re.fullmatch(r"(\w+)\((.*)\)", signature.strip())
    if not m:
        raise SyntaxError(f"op table: bad signature {signature!r}")
    name, body = m.group(1), m.group(2)
    args, keyword_only = [], False
    for part in [p.strip() for p in body.split(",") if p.strip()]:
        if part == "*":
            keyword_only = True
            continue
        am = re.fullmatch(r"(Tensor|float\??|int|str\??)\s+(\w+)(?:\s*=\s*(.+))?", part)
        if not am:
            raise SyntaxError(f"op table: bad argument {part!r} in {signature!r}")
        args.append(Arg(am.group(2), am.group(1), am.group(3), keyword_only))
    return name, args


def cpp_default(arg: Arg) -> str:
    if arg.default is None:
        return ""
    if arg.kind in ("float?", "str?") and arg.default == "None":
        return " = std::nullopt"
    if arg.kind in ("str", "str?"):
        return f' = "{ast.literal_eval(arg.default)}"'
    return f" = {arg.default}"


def cpp_param(arg: Arg, with_default: bool) -> str:
    ctype = {"Tensor": "const Tensor&", "float": "double", "float?": "std::optional<double>", "int": "int64_t",
             "str": "const std::string&", "str?": "const std::optional<std::string>&"}[arg.kind]
    return f"{ctype} {arg.name}" + (cpp_default(arg) if with_default else "")


SLOTS = ("a", "b", "c")  # PointwiseArgs' scalar slots, filled in argument order
DTYPE_CLASSES = {"FLOAT": "Float", "FLOAT_ONLY": "FloatOnly", "NUMERIC": "Numeric", "ALL": "All",
                 "INTEGRAL": "Integral", "INTEGRAL_BOOL": "IntegralBool"}


def choice_literal(value: str | None) -> str:
    return "None" if value is None else f"'{value}'"


def scalar_packing(op, name: str, args: list[Arg]) -> list[str]:
    """Lines filling a PointwiseArgs `p` from the scalar arguments, in order (p.a, p.b, p.c). A choice
    is passed as its index in the row's `choices`."""
    lines = []
    scalars = [a for a in args if a.kind != "Tensor"]
    if len(scalars) > len(SLOTS):
        raise SyntaxError(f"op table: {name} has more than {len(SLOTS)} scalar arguments")
    for slot, arg in zip(SLOTS, scalars):
        if arg.kind in ("float", "int"):
            lines.append(f"  p.{slot} = static_cast<double>({arg.name});")
        elif arg.kind == "float?":
            lines.append(f"  p.{slot} = {arg.name}.value_or(std::numeric_limits<double>::quiet_NaN());")
            lines.append(f"  p.has_{slot} = {arg.name}.has_value();")
        else:
            choices = op.choices.get(arg.name)
            if not choices:
                raise SyntaxError(f"op table: {name}: choice argument {arg.name} has no `choices`")
            if (None in choices) != (arg.kind == "str?"):
                raise SyntaxError(f"op table: {name}: {arg.name} may be None exactly when it is `str?`")
            value = f"(*{arg.name})" if arg.kind == "str?" else arg.name
            cond = " ".join(f'{value} == "{c}" ? {i}.0 :' for i, c in enumerate(choices) if c is not None)
            if None in choices:
                cond = f"!{arg.name}.has_value() ? {choices.index(None)}.0 : " + cond
            allowed = ", ".join(choice_literal(c) for c in choices)
            got = f'"\'" + *{arg.name} + "\'"' if arg.kind == "str?" else f'"\'" + {arg.name} + "\'"'
            lines.append(f"  p.{slot} = {cond} -1.0;")
            lines.append(f'  if (p.{slot} < 0) throw ValueError("{name}: {arg.name} must be one of {allowed}, got " '
                         f'+ std::string({got}));')
    return lines


def functor_choice(op, name: str, args: list[Arg]) -> str:
    """The expression naming the functor to run: the row's own, or a variant's for some choice values."""
    own = f"PointwiseOp::{op.functor}"
    if not op.variants:
        return own
    choice_args = [(slot, a) for slot, a in zip(SLOTS, [a for a in args if a.kind != "Tensor"])
                   if a.kind in ("str", "str?")]
    if len(choice_args) != 1:
        raise SyntaxError(f"op table: {name} has variants but not exactly one choice argument")
    slot, arg = choice_args[0]
    expr = own
    for value, functor in reversed(list(op.variants.items())):
        if value not in op.choices[arg.name]:
            raise SyntaxError(f"op table: {name}: variant {value!r} is not a choice of {arg.name}")
        expr = f"p.{slot} == {op.choices[arg.name].index(value)}.0 ? PointwiseOp::{functor} : {expr}"
    return expr


def profile_scope(name: str, tensors: list[Arg]) -> str:
    """The profiler's scope opening each generated op (cpp/include/dlcore/profiler.h)."""
    return f'profiler::OpScope profile_scope("{name}", ' + ", ".join(a.name for a in tensors) + ");"


def py_default(arg: Arg) -> str:
    if arg.default is None:
        return ""
    if arg.default == "None":
        return " = py::none()"
    if arg.kind in ("str", "str?"):
        return f' = std::string("{ast.literal_eval(arg.default)}")'
    if arg.kind == "int":
        return f" = int64_t{{{int(arg.default)}}}"
    return f" = {float(arg.default)!r}"


def load_table(table_path: pathlib.Path):
    spec = importlib.util.spec_from_file_location("op_table", table_path)
    table = importlib.util.module_from_spec(spec)
    sys.modules["op_table"] = table  # dataclasses look their module up while the table is executed
    spec.loader.exec_module(table)
    return table.OPS


def check_table(ops) -> None:
    """Names (aliases included) and functors are unique; variants name rows of the same arity."""
    names, functors = set(), {}
    for op in ops:
        name, args = parse_signature(op.signature)
        for n in (name, *op.aliases):
            if n in names:
                raise SyntaxError(f"op table: the name {n} is declared twice")
            names.add(n)
        if op.functor in functors:
            raise SyntaxError(f"op table: functor {op.functor} is used by two rows")
        if op.dtypes not in DTYPE_CLASSES:
            raise SyntaxError(f"op table: {name}: unknown dtypes {op.dtypes!r}")
        functors[op.functor] = sum(a.kind == "Tensor" for a in args)
        tensors = {a.name for a in args if a.kind == "Tensor"}
        unknown = set(op.divisors) - tensors
        if unknown:
            raise SyntaxError(f"op table: {name}: divisors {sorted(unknown)} are not Tensor arguments")
    for op in ops:
        name, args = parse_signature(op.signature)
        for functor in op.variants.values():
            if functor not in functors:
                raise SyntaxError(f"op table: {name}: variant functor {functor} has no row")
            if functors[functor] != functors[op.functor]:
                raise SyntaxError(f"op table: {name}: variant {functor} takes another number of tensors")


def generate(table_path: pathlib.Path, outdir: pathlib.Path) -> None:
    ops = load_table(table_path)
    check_table(ops)
    row_name = {op.functor: parse_signature(op.signature)[0] for op in ops}
    # A variant reports (errors, backward node names) under the public op that runs it.
    reported_name = dict(row_name)
    for op in ops:
        for functor in op.variants.values():
            if not next(o for o in ops if o.functor == functor).surfaces:
                reported_name[functor] = row_name[op.functor]
    inc, decl, defs, binds, meta = [], [], [], [], []
    for op in ops:
        name, args = parse_signature(op.signature)
        tensors = [a for a in args if a.kind == "Tensor"]
        scalars = [a for a in args if a.kind != "Tensor"]
        arity = len(tensors)
        saves = op.saves or ()
        saved_inputs = sum(1 << i for i, a in enumerate(tensors) if a.name in saves)
        condition_inputs = sum(1 << i for i, a in enumerate(tensors) if a.name == "condition")
        divisor_inputs = sum(1 << i for i, a in enumerate(tensors) if a.name in op.divisors)
        unknown = set(saves) - {a.name for a in tensors} - {"result"}
        if unknown:
            raise SyntaxError(f"op table: {name} saves unknown values {sorted(unknown)}")
        dtype_class = DTYPE_CLASSES[op.dtypes]
        inc.append(f"DLCORE_POINTWISE_OP({op.functor}, {reported_name[op.functor]}, {arity}, DTypeClass::{dtype_class}, "
                   f"{'true' if op.output == 'bool' else 'false'}, {'false' if op.saves is None else 'true'}, "
                   f"{saved_inputs:#x}, {'true' if 'result' in saves else 'false'}, {condition_inputs:#x}, "
                   f"{divisor_inputs:#x})")
        params = ", ".join(cpp_param(a, True) for a in args)
        params_nodefault = ", ".join(cpp_param(a, False) for a in args)
        decl.append(f"Tensor {name}({params});")
        packing = scalar_packing(op, name, args)
        packing.append(f"  const PointwiseOp op = {functor_choice(op, name, args)};")
        tensor_list = ", ".join(a.name for a in tensors)
        defs.append(f"Tensor {name}({params_nodefault}) {{\n  {profile_scope(name, tensors)}\n  PointwiseArgs p;\n" + "\n".join(packing) + "\n" +
                    f"  return pointwise::compute(op, {{{tensor_list}}}, p);\n}}")
        inplace = "inplace" in op.surfaces
        if inplace:
            self_params = ", ".join(cpp_param(a, i > 0) for i, a in enumerate(args))
            self_params_nd = ", ".join(cpp_param(a, False) for a in args)
            decl.append(f"Tensor {name}_({self_params});  // in place on {tensors[0].name}; returns it")
            defs.append(f"Tensor {name}_({self_params_nd}) {{\n  {profile_scope(name + '_', tensors)}\n  PointwiseArgs p;\n" + "\n".join(packing) + "\n" +
                        f"  return pointwise::compute_into({tensors[0].name}, op, {{{tensor_list}}}, p);\n}}")

        # ---- bindings: Tensor arguments arrive as Python objects (numbers become wrapped numbers) ----
        def lambda_params(arg_list, first_is_self=False):
            out = []
            for i, a in enumerate(arg_list):
                if a.kind == "Tensor":
                    out.append(("const Tensor& " if first_is_self and i == 0 else "const py::object& ") + a.name)
                else:
                    out.append(cpp_param(a, False))
            return ", ".join(out)

        def call_args(arg_list, first_is_self=False):
            out = []
            for i, a in enumerate(arg_list):
                if a.kind == "Tensor":
                    if first_is_self and i == 0:
                        out.append(a.name)
                    else:
                        out.append(f'tensor_operand({a.name}, "{name}")')
                else:
                    out.append(a.name)
            return ", ".join(out)

        def py_args(arg_list, skip_first=False):
            out, kw_done = [], False
            for i, a in enumerate(arg_list):
                if skip_first and i == 0:
                    continue
                if a.keyword_only and not kw_done:
                    out.append("py::kw_only()")
                    kw_done = True
                out.append(f'py::arg("{a.name}"){py_default(a)}')
            return ", ".join(out)

        pyargs_all = py_args(args)
        for bound in (name, *op.aliases):  # an alias is the same function under another name
            if "dl" in op.surfaces:
                binds.append(f'  m.def("{bound}", []({lambda_params(args)}) {{ return ops::{name}({call_args(args)}); }}'
                             f'{", " + pyargs_all if pyargs_all else ""});')
            if "F" in op.surfaces:
                if inplace:
                    lp = lambda_params(args) + ", bool inplace"
                    binds.append(f'  functional.def("{bound}", []({lp}) {{\n'
                                 f'    return inplace ? ops::{name}_(tensor_operand({tensors[0].name}, "{name}")'
                                 f'{", " + call_args(args[1:]) if len(args) > 1 else ""}) : ops::{name}({call_args(args)});\n'
                                 f'  }}, {pyargs_all}, py::arg("inplace") = false);')
                else:
                    binds.append(f'  functional.def("{bound}", []({lambda_params(args)}) {{ return ops::{name}({call_args(args)}); }}'
                                 f'{", " + pyargs_all if pyargs_all else ""});')
            if "method" in op.surfaces:
                rest = py_args(args, skip_first=True)
                binds.append(f'  tensor.def("{bound}", []({lambda_params(args, True)}) {{ return ops::{name}({call_args(args, True)}); }}'
                             f'{", " + rest if rest else ""});')
                if inplace:
                    binds.append(f'  tensor.def("{bound}_", []({lambda_params(args, True)}) {{ return ops::{name}_({call_args(args, True)}); }}'
                                 f'{", " + rest if rest else ""});')
        meta.append({
            "name": name, "functor": op.functor, "tensor_args": [a.name for a in tensors],
            "scalar_args": [[a.name, a.kind, None if a.default in (None, "None") else ast.literal_eval(a.default)]
                            for a in scalars],
            "choices": {k: list(v) for k, v in op.choices.items()}, "dtypes": op.dtypes, "output": op.output,
            "saves": None if op.saves is None else list(op.saves), "surfaces": list(op.surfaces),
            "domain": op.domain, "aliases": list(op.aliases),
            "variants": {value: row_name[functor] for value, functor in op.variants.items()},
            "divisors": list(op.divisors),
        })

    header = "// Generated by tools/generate_ops.py from cpp/op_table.py: edit the table, not this file.\n"
    (outdir / "dlcore").mkdir(parents=True, exist_ok=True)
    write(outdir / "dlcore" / "pointwise_ops.inc", header + "\n".join(inc) + "\n")
    write(outdir / "dlcore" / "ops_generated.h", header +
          "#pragma once\n#include <cstdint>\n#include <optional>\n#include <string>\n\n#include \"dlcore/tensor.h\"\n\n"
          "namespace dlcore::ops {\n\n" + "\n".join(decl) + "\n\n}  // namespace dlcore::ops\n")
    write(outdir / "ops_generated.cpp", header +
          "#include <limits>\n\n#include \"dlcore/ops.h\"\n#include \"dlcore/profiler.h\"\n#include \"ops/pointwise.h\"\n\n"
          "namespace dlcore::ops {\n\n" + "\n\n".join(defs) + "\n\n}  // namespace dlcore::ops\n")
    write(outdir / "bindings_generated.cpp", header +
          "#include <pybind11/stl.h>\n\n#include \"bindings.h\"\n#include \"dlcore/ops.h\"\n\n"
          "namespace dlcore::bindings {\n\n"
          "void bind_generated_ops(py::module_& m, py::module_& functional, py::class_<Tensor>& tensor) {\n" +
          "\n".join(binds) + '\n  m.attr("_op_table_json") = R"json(' + json.dumps(meta) + ')json";\n}\n\n'
          "}  // namespace dlcore::bindings\n")


def write(path: pathlib.Path, text: str) -> None:
    """Writes only when the content changed, so an unchanged table rebuilds nothing."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


if __name__ == "__main__":
    generate(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))
