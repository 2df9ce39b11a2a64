"""``add_graph``'s recorder: one forward of a dlcore Module turned into a TensorBoard GraphDef.

dlcore has no JIT to trace with, so the forward is observed from Python, for the one call only:
- every module gets forward pre/post hooks, which give each node its scope (``LeNet5/conv1``); a
  module call that ran no observable op (a C++ layer: Conv2d, Linear, ReLU, ...) becomes one node;
- the public functions of ``dlcore`` and ``dlcore.nn.functional`` and the Tensor methods (named
  ones and the operator dunders) are temporarily wrapped, so each op a Python forward calls
  (``F.max_pool2d``, ``x.flatten(1)``, ``x + y``) becomes a node; calls made inside another
  recorded op are not recorded twice;
- edges follow the tensors: each output is remembered (by object, kept alive while recording) as
  produced by its node; an input nobody produced is a parameter or buffer of the model (matched by
  data pointer and shape), the example input, or else a constant.
Each node records its output shapes (shown on the edges), the autograd node that its output's
``grad_fn`` names (the op the autograd graph recorded) and its non-tensor arguments.
"""
from __future__ import annotations

import operator
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from tensorboard.compat.proto.attr_value_pb2 import AttrValue
from tensorboard.compat.proto.graph_pb2 import GraphDef
from tensorboard.compat.proto.node_def_pb2 import NodeDef
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.compat.proto.versions_pb2 import VersionDef

import dlcore
from dlcore import _C
from dlcore.autograd import enable_grad
from dlcore.nn import functional

# The Tensor dunders that are ops: those the operator module names, and their reflected forms.
_OPERATOR_DUNDERS = {name for name in dir(operator)
                     if name.startswith("__") and name.endswith("__") and callable(getattr(operator, name))}
_OPERATOR_DUNDERS |= {"__r" + name[2:] for name in _OPERATOR_DUNDERS}


def tensors_in(value: Any) -> Iterator[Any]:
    """The dlcore tensors in ``value``, depth first through lists, tuples and dict values."""
    if isinstance(value, _C.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from tensors_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors_in(item)


def describe_arguments(args: tuple, kwargs: dict) -> str:
    """The non-tensor arguments, e.g. ``2, stride=2`` (tensors shown as ``T``), for the node's info panel."""
    def show(value: Any) -> str:
        if isinstance(value, _C.Tensor):
            return "T"
        if isinstance(value, (list, tuple)):
            return "[" + ", ".join(show(v) for v in value) + "]"
        return repr(value)
    text = ", ".join([show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()])
    return text if len(text) <= 200 else text[:197] + "..."


@dataclass
class RecordedNode:
    """One node of the graph being built: its unique name, op, input node names and attributes."""

    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    output_shapes: list[tuple[int, ...]] = field(default_factory=list)
    grad_fn: str = ""
    arguments: str = ""

    def to_proto(self) -> NodeDef:
        shapes = [TensorShapeProto(dim=[TensorShapeProto.Dim(size=size) for size in shape])
                  for shape in self.output_shapes]
        attrs = {"_output_shapes": AttrValue(list=AttrValue.ListValue(shape=shapes))}
        if self.grad_fn:
            attrs["grad_fn"] = AttrValue(s=self.grad_fn.encode())
        if self.arguments:
            attrs["arguments"] = AttrValue(s=self.arguments.encode())
        return NodeDef(name=self.name, op=self.op, input=self.inputs, attr=attrs)


class GraphRecorder:
    """Collects the nodes and edges of one forward (see the module docstring)."""

    def __init__(self, model: Any) -> None:
        self.root_scope = type(model).__name__
        self.nodes: list[RecordedNode] = []
        self.names: set[str] = set()
        self.scopes: list[tuple[str, int]] = []  # (scope, len(nodes) when the module call began)
        self.producers: dict[int, str] = {}  # id(tensor) -> "node" or "node:k"
        self.alive: list[Any] = []  # the tensors in `producers`, so that their ids stay unique
        self.nested_calls = 0
        self.states = {(t.data_ptr(), tuple(t.shape)): name for name, t in
                       [*model.named_parameters(), *model.named_buffers()] if t.numel() > 0}

    def scope(self) -> str:
        return self.scopes[-1][0] if self.scopes else self.root_scope

    def add_node(self, base_name: str, op: str, inputs: list[Any], outputs: list[Any], **attrs: str) -> RecordedNode:
        name, suffix = base_name, 0
        while name in self.names:  # TensorBoard needs unique names; repeated ops get _1, _2, ...
            suffix += 1
            name = f"{base_name}_{suffix}"
        node = RecordedNode(name, op, [self.producer_of(t) for t in inputs],
                            [tuple(t.shape) for t in outputs], **attrs)
        self.names.add(name)
        self.nodes.append(node)
        for index, tensor in enumerate(outputs):
            self.producers[id(tensor)] = name if index == 0 else f"{name}:{index}"
            self.alive.append(tensor)
        return node

    def producer_of(self, tensor: Any) -> str:
        known = self.producers.get(id(tensor))
        if known is not None:
            return known
        state = self.states.get((tensor.data_ptr(), tuple(tensor.shape))) if tensor.numel() > 0 else None
        if state is not None:
            node = self.add_node("/".join([self.root_scope, *state.split(".")]), "Parameter", [], [tensor])
        else:
            node = self.add_node(f"{self.scope()}/constant", "Constant", [], [tensor])
        return node.name

    def add_inputs(self, example: tuple) -> None:
        for index, tensor in enumerate(tensors_in(example)):
            self.add_node(f"input/input.{index}", "IO Node", [], [tensor])

    def add_outputs(self, output: Any) -> None:
        for index, tensor in enumerate(tensors_in(output)):
            self.add_node(f"output/output.{index}", "IO Node", [tensor], [])
            self.nodes[-1].output_shapes = [tuple(tensor.shape)]

    def record_op(self, op_name: str, args: tuple, kwargs: dict, output: Any) -> None:
        outputs = list(tensors_in(output))
        if not outputs:  # a query (size, dim, item, ...), not an op of the graph
            return
        grad_fn = outputs[0].grad_fn
        self.add_node(f"{self.scope()}/{op_name}", f"dlcore::{op_name}", list(tensors_in((args, kwargs))), outputs,
                      grad_fn=grad_fn.name() if grad_fn is not None else "", arguments=describe_arguments(args, kwargs))

    def traced(self, op_name: str, function: Callable) -> Callable:
        """``function`` recording its call as one op (unless called from inside another recorded op)."""
        def call(*args: Any, **kwargs: Any) -> Any:
            if self.nested_calls:
                return function(*args, **kwargs)
            self.nested_calls += 1
            try:
                output = function(*args, **kwargs)
            finally:
                self.nested_calls -= 1
            self.record_op(op_name, args, kwargs, output)
            return output
        return call

    def module_hooks(self, qualified_name: str) -> tuple[Callable, Callable]:
        scope = "/".join([self.root_scope, *qualified_name.split(".")]) if qualified_name else self.root_scope

        def before(module: Any, args: tuple) -> None:
            self.scopes.append((scope, len(self.nodes)))

        def after(module: Any, args: tuple, output: Any) -> None:
            _, nodes_before = self.scopes.pop()
            if len(self.nodes) == nodes_before and self.nested_calls == 0:  # a layer whose ops ran in C++
                outputs = list(tensors_in(output))
                grad_fn = outputs[0].grad_fn if outputs else None
                self.add_node(f"{scope}/{type(module).__name__}", type(module).__name__, list(tensors_in(args)),
                              outputs, grad_fn=grad_fn.name() if grad_fn is not None else "",
                              arguments=module.extra_repr())
        return before, after

    def graph_def(self) -> GraphDef:
        return GraphDef(node=[node.to_proto() for node in self.nodes], versions=VersionDef(producer=22))


def _patch_targets() -> Iterator[tuple[Any, str, Callable, Any]]:
    """(owner, name, function to call, original attribute) for every op the recorder wraps."""
    for namespace in (dlcore, functional):
        for name in dir(namespace):
            value = getattr(namespace, name)
            if not name.startswith("_") and isinstance(value, (types.BuiltinFunctionType, types.FunctionType)):
                yield namespace, name, value, value
    for name, attribute in list(vars(_C.Tensor).items()):
        if type(attribute).__name__ == "instancemethod" and (not name.startswith("_") or name in _OPERATOR_DUNDERS):
            yield _C.Tensor, name, getattr(_C.Tensor, name), attribute


def record_graph(model: Any, example_input: Any) -> GraphDef:
    """The GraphDef of ``model(*example_input)`` (a tensor is one argument); the model is called
    once, in its current train/eval mode, with gradients enabled so that ops name their autograd node."""
    if not isinstance(model, dlcore.nn.Module):
        raise TypeError(f"add_graph: model must be a dlcore.nn.Module, got {type(model).__name__}")
    example = example_input if isinstance(example_input, tuple) else (example_input,)
    if not list(tensors_in(example)):
        raise TypeError(f"add_graph: input_to_model must be a dlcore tensor or a tuple holding tensors, "
                        f"got {type(example_input).__name__}")
    recorder = GraphRecorder(model)
    recorder.add_inputs(example)
    handles, originals = [], []
    try:
        for name, module in model.named_modules():
            before, after = recorder.module_hooks(name)
            handles += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]
        for owner, name, function, original in _patch_targets():
            originals.append((owner, name, original))
            setattr(owner, name, recorder.traced(name.strip("_"), function))  # __add__ is shown as add
        with enable_grad():
            output = model(*example)
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)
        for handle in handles:
            handle.remove()
    recorder.add_outputs(output)
    return recorder.graph_def()
