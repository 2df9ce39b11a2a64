#!/usr/bin/env python3
"""Generates dlcore's pointwise-op code from the op table (cpp/op_table.py), run by CMake at build time.

Writes into OUTDIR:
  dlcore/pointwise_ops.inc   X-macro list DLCORE_POINTWISE_OP(Functor, name, arity, dtypes, bool_output,
                             differentiable, saved_inputs_mask, saves_result, condition_inputs_mask): the
                             PointwiseOp enum, the op layer's op info and the kernels' functor dispatch
                             are all expanded from it
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
    kind: str          # "Tensor", "float", "float?", "str"
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
        am = re.fullmatch(r"(Tensor|float\??|str)\s+(\w+)(?:\s*=\s*(.+))?", part)
        if not am:
            raise SyntaxError(f"op table: bad argument {part!r} in {signature!r}")
        args.append(Arg(am.group(2), am.group(1), am.group(3), keyword_only))
    return name, args


def cpp_default(arg: Arg) -> str:
    if arg.default is None:
        return ""
    if arg.kind == "float?" and arg.default == "None":
        return " = std::nullopt"
    if arg.kind == "str":
        return f' = "{ast.literal_eval(arg.default)}"'
    return f" = {arg.default}"


def cpp_param(arg: Arg, with_default: bool) -> str:
    ctype = {"Tensor": "const Tensor&", "float": "double", "float?": "std::optional<double>",
             "str": "const std::string&"}[arg.kind]
    return f"{ctype} {arg.name}" + (cpp_default(arg) if with_default else "")


def scalar_packing(op, name: str, args: list[Arg]) -> list[str]:
    """Lines filling a PointwiseArgs `p` from the scalar arguments, in order (p.a, then p.b)."""
    lines, slots = [], iter(["a", "b"])
    for arg in args:
        if arg.kind == "Tensor":
            continue
        slot = next(slots)
        if arg.kind == "float":
            lines.append(f"  p.{slot} = {arg.name};")
        elif arg.kind == "float?":
            lines.append(f"  p.{slot} = {arg.name}.value_or(std::numeric_limits<double>::quiet_NaN());")
            lines.append(f"  p.has_{slot} = {arg.name}.has_value();")
        else:
            choices = op.choices[arg.name]
            cond = " ".join(f'{arg.name} == "{c}" ? {i}.0 :' for i, c in enumerate(choices))
            allowed = ", ".join(f"'{c}'" for c in choices)
            lines.append(f"  p.{slot} = {cond} -1.0;")
            lines.append(f'  if (p.{slot} < 0) throw ValueError("{name}: {arg.name} must be one of {allowed}, got \'" '
                         f'+ {arg.name} + "\'");')
    return lines


def py_default(arg: Arg) -> str:
    if arg.default is None:
        return ""
    if arg.default == "None":
        return " = py::none()"
    if arg.kind == "str":
        return f' = std::string("{ast.literal_eval(arg.default)}")'
    return f" = {float(arg.default)!r}"


def generate(table_path: pathlib.Path, outdir: pathlib.Path) -> None:
    spec = importlib.util.spec_from_file_location("op_table", table_path)
    table = importlib.util.module_from_spec(spec)
    sys.modules["op_table"] = table  # dataclasses look their module up while the table is executed
    spec.loader.exec_module(table)
    ops = table.OPS
    inc, decl, defs, binds, meta = [], [], [], [], []
    for op in ops:
        name, args = parse_signature(op.signature)
        tensors = [a for a in args if a.kind == "Tensor"]
        scalars = [a for a in args if a.kind != "Tensor"]
        arity = len(tensors)
        saves = op.saves or ()
        saved_inputs = sum(1 << i for i, a in enumerate(tensors) if a.name in saves)
        condition_inputs = sum(1 << i for i, a in enumerate(tensors) if a.name == "condition")
        unknown = set(saves) - {a.name for a in tensors} - {"result"}
        if unknown:
            raise SyntaxError(f"op table: {name} saves unknown values {sorted(unknown)}")
        dtype_class = {"FLOAT": "Float", "NUMERIC": "Numeric", "ALL": "All"}[op.dtypes]
        inc.append(f"DLCORE_POINTWISE_OP({op.functor}, {name}, {arity}, DTypeClass::{dtype_class}, "
                   f"{'true' if op.output == 'bool' else 'false'}, {'false' if op.saves is None else 'true'}, "
                   f"{saved_inputs:#x}, {'true' if 'result' in saves else 'false'}, {condition_inputs:#x})")
        params = ", ".join(cpp_param(a, True) for a in args)
        params_nodefault = ", ".join(cpp_param(a, False) for a in args)
        decl.append(f"Tensor {name}({params});")
        packing = scalar_packing(op, name, args)
        tensor_list = ", ".join(a.name for a in tensors)
        defs.append(f"Tensor {name}({params_nodefault}) {{\n  PointwiseArgs p;\n" + "\n".join(packing) +
                    ("\n" if packing else "") +
                    f"  return pointwise::compute(PointwiseOp::{op.functor}, {{{tensor_list}}}, p);\n}}")
        inplace = "inplace" in op.surfaces
        if inplace:
            self_params = ", ".join(cpp_param(a, i > 0) for i, a in enumerate(args))
            self_params_nd = ", ".join(cpp_param(a, False) for a in args)
            decl.append(f"Tensor {name}_({self_params});  // in place on {tensors[0].name}; returns it")
            defs.append(f"Tensor {name}_({self_params_nd}) {{\n  PointwiseArgs p;\n" + "\n".join(packing) +
                        ("\n" if packing else "") +
                        f"  return pointwise::compute_into({tensors[0].name}, PointwiseOp::{op.functor}, "
                        f"{{{tensor_list}}}, p);\n}}")

        # ---- bindings: Tensor arguments arrive as Python objects (numbers become wrapped numbers) ----
        def lambda_params(arg_list, first_is_self=False):
            out = []
            for i, a in enumerate(arg_list):
                if a.kind == "Tensor":
                    out.append(("const Tensor& " if first_is_self and i == 0 else "const py::object& ") + a.name)
                elif a.kind == "float":
                    out.append(f"double {a.name}")
                elif a.kind == "float?":
                    out.append(f"std::optional<double> {a.name}")
                else:
                    out.append(f"const std::string& {a.name}")
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
        if "dl" in op.surfaces:
            binds.append(f'  m.def("{name}", []({lambda_params(args)}) {{ return ops::{name}({call_args(args)}); }}'
                         f'{", " + pyargs_all if pyargs_all else ""});')
        if "F" in op.surfaces:
            if inplace:
                lp = lambda_params(args) + ", bool inplace"
                binds.append(f'  functional.def("{name}", []({lp}) {{\n'
                             f'    return inplace ? ops::{name}_(tensor_operand({tensors[0].name}, "{name}")'
                             f'{", " + call_args(args[1:]) if len(args) > 1 else ""}) : ops::{name}({call_args(args)});\n'
                             f'  }}, {pyargs_all}, py::arg("inplace") = false);')
            else:
                binds.append(f'  functional.def("{name}", []({lambda_params(args)}) {{ return ops::{name}({call_args(args)}); }}'
                             f'{", " + pyargs_all if pyargs_all else ""});')
        if "method" in op.surfaces:
            rest = py_args(args, skip_first=True)
            binds.append(f'  tensor.def("{name}", []({lambda_params(args, True)}) {{ return ops::{name}({call_args(args, True)}); }}'
                         f'{", " + rest if rest else ""});')
            if inplace:
                binds.append(f'  tensor.def("{name}_", []({lambda_params(args, True)}) {{ return ops::{name}_({call_args(args, True)}); }}'
                             f'{", " + rest if rest else ""});')
        meta.append({
            "name": name, "functor": op.functor, "tensor_args": [a.name for a in tensors],
            "scalar_args": [[a.name, a.kind, None if a.default in (None, "None") else ast.literal_eval(a.default)]
                            for a in scalars],
            "choices": {k: list(v) for k, v in op.choices.items()}, "dtypes": op.dtypes, "output": op.output,
            "saves": None if op.saves is None else list(op.saves), "surfaces": list(op.surfaces),
            "domain": op.domain,
        })

    header = "// Generated by tools/generate_ops.py from cpp/op_table.py: edit the table, not this file.\n"
    (outdir / "dlcore").mkdir(parents=True, exist_ok=True)
    write(outdir / "dlcore" / "pointwise_ops.inc", header + "\n".join(inc) + "\n")
    write(outdir / "dlcore" / "ops_generated.h", header +
          "#pragma once\n#include <optional>\n#include <string>\n\n#include \"dlcore/tensor.h\"\n\n"
          "namespace dlcore::ops {\n\n" + "\n".join(decl) + "\n\n}  // namespace dlcore::ops\n")
    write(outdir / "ops_generated.cpp", header +
          "#include <limits>\n\n#include \"dlcore/ops.h\"\n#include \"ops/pointwise.h\"\n\n"
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
