"""Lowering of structured parameters: tuples, lists, dicts, dataclasses and named tuples.

The code is compiled for the structure of the arguments (see :mod:`s2sad.trees`), so while lowering,
a structured parameter is a structure of known shape whose leaves are parameters of the generated
function: a tuple is a tuple of values and a list a :class:`~s2sad.ir.ListValue` of them (the
sequence machinery indexes, unpacks and unrolls them), a named tuple is a :class:`FieldTuple`, and a
dict or dataclass is a :class:`Record`. Reading an entry by a constant key (``params["W1"]``) or a
field (``p.W1``) is then just the leaf's variable, and costs nothing in the generated code. Structures are read-only: writing into one is refused. The
dicts, dataclasses and named tuples a function builds itself are the same kinds of values (see
:mod:`s2sad.constructors`).

>>> import s2sad
>>> def f(p):
...     return p["a"] * p["b"]
>>> print(s2sad.adjoint_source(f, args=({"a": 2.0, "b": 3.0},)).rstrip())
def f_grad(p_a, p_b):
    \"\"\"Gradient of f with respect to p_a, p_b, by reverse mode.\"\"\"
    # line 2: return p["a"] * p["b"]
    p_a_bar = p_b
    p_b_bar = p_a
    return p_a_bar, p_b_bar

Without the arguments (``s2sad.trace(f)``), a parameter used as a structure stops the lowering with
:class:`~s2sad.errors.StructureNeededError`: its code depends on the structure it will be given.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from .arrays import ARRAY_METHODS
from .errors import StructureNeededError
from .ir import Assign, Const, ListValue, Ref, Var
from .trees import Tree, flat_params, trees_in

_NUMBER_ATTRIBUTES = frozenset(dir(0.0)) | {"T", "shape", "ndim", "size", "dtype"}
_DICT_METHODS = ("keys", "values", "items")
READ_ONLY = (
    "dicts, dataclasses and named tuples are read-only here: build a new one whole "
    '(`{"a": a, **params}`, a dict comprehension, `Out(y=y)`)'
)


@dataclass(frozen=True)
class Record:
    """A dict or dataclass while lowering: ``values[i]`` is the value of ``tree.keys[i]``."""

    tree: Tree
    values: tuple
    name: str  # the parameter it comes from, for messages ("" for one the function builds)
    cls: Ref | None = None  # how the code names a dataclass the function constructs

    def describe(self) -> str:
        return f"`{self.name}` ({self.tree.describe()})" if self.name else self.tree.describe()


@dataclass(frozen=True)
class Entries:
    """What ``params.keys()``, ``.values()`` or ``.items()`` of a dict returns: known values."""

    values: tuple


def is_dict_method(node) -> bool:
    """Whether ``node`` is ``something.keys``, ``.values`` or ``.items``."""
    return isinstance(node, cst.Attribute) and node.attr.value in _DICT_METHODS


class FieldTuple(tuple):
    """A named tuple while lowering: a tuple of values that also has its fields by name."""

    tree: Tree
    name: str
    cls: Ref | None = None


def field_tuple(values: tuple, tree: Tree, name: str, cls: Ref | None = None) -> FieldTuple:
    named = FieldTuple(values)
    named.tree, named.name, named.cls = tree, name, cls
    return named


class RecordLowering:
    """The structured-parameter part of :class:`s2sad.lower.Lowering`."""

    def bind_parameters(self, params: list, node) -> list:
        """Bind each parameter (``w1 = x1``, or one such line per leaf of a structure); the
        generated function's parameters, structures replaced by their leaves."""
        trees = trees_in(self.structures)
        leaves = flat_params(tuple(params), trees)
        for position, name in enumerate(params):
            names = iter(leaves[name])
            self.env[name] = self._bound(trees.get(name), names, name, node)
            self.arguments_bound.append(self.env[name])
            method_owner = position == 0 and name in ("self", "cls")
            if name not in trees and not method_owner:
                self.parameter_vars[self.env[name].name] = name
        return [leaf for name in params for leaf in leaves[name]]

    def _bound(self, tree: Tree | None, names, path: str, node):
        if tree is None:
            leaf = next(names)
            var = self.fresh(leaf)
            self.body.append(Assign(var, Var(leaf), self.source.location(node)))
            self.sources[var.name] = Var(leaf)  # the caller's value: see array_lowering._storage
            self.arguments.add(leaf)
            self.leaf_vars[var.name] = leaf
            return var
        if tree.kind == "none":  # None given for it: a constant (see s2sad.nones)
            return Const(None)
        values = tuple(
            self._bound(child, names, f"{path}[{key!r}]", node)
            for key, child in zip(tree.keys, tree.children)
        )
        if tree.kind == "callable":  # a function passed as an argument: called, never a value
            name = getattr(tree.cls, "__name__", "")
            return Ref(name if name.isidentifier() else "fn", tree.cls, "value")
        if tree.kind == "list":
            return ListValue(values)
        if tree.kind == "tuple":
            return values
        if tree.kind == "fields" and issubclass(tree.cls, tuple):
            return field_tuple(values, tree, path)
        return Record(tree, values, path)

    # --- reading entries ----------------------------------------------------------------------

    def record_item(self, node: cst.Subscript, base):
        """``params["W1"]`` of a dict parameter; ``None`` if ``base`` is not a dict."""
        if not isinstance(base, Record):
            self._refuse_key_of_parameter(node, base)
            return None
        if base.tree.kind != "dict":
            raise self.error(
                node, f"{base.describe()} cannot be indexed", "read its fields: `p.name`"
            )
        element = node.slice[0].slice if len(node.slice) == 1 else None
        key = self.expr(element.value) if isinstance(element, cst.Index) else None
        if not isinstance(key, Const):
            raise self.error(
                node,
                f"{base.describe()} can be read only with a constant key here",
                'write the key out (`params["W1"]`), or loop over `params.items()`',
            )
        return self._entry(base, key.value, node)

    def _refuse_key_of_parameter(self, node: cst.Subscript, base) -> None:
        parameter = self.parameter_vars.get(base.name) if isinstance(base, Var) else None
        element = node.slice[0].slice if len(node.slice) == 1 else None
        if parameter is not None and isinstance(element, cst.Index):
            if isinstance(element.value, (cst.SimpleString, cst.ConcatenatedString)):
                raise self.structure_needed(node, parameter, "a dict")

    def record_field(self, node: cst.Attribute, base, attr: str):
        """``p.W1`` of a dataclass or named tuple parameter; ``None`` if ``base`` has no fields."""
        if isinstance(base, FieldTuple):
            base = Record(base.tree, tuple(base), base.name, base.cls)
        if not isinstance(base, Record):
            parameter = self._unknown_structure(base)
            if parameter is not None:
                if attr not in _NUMBER_ATTRIBUTES:  # a field: the argument may be a dataclass
                    raise self.structure_needed(node, parameter, "a dataclass")
            return None
        if base.tree.kind == "dict":
            raise self.error(
                node,
                f"`.{attr}` of {base.describe()} is not supported",
                "read an entry with a constant key, or call .keys(), .values() or .items()",
            )
        return self._entry(base, attr, node)

    def _entry(self, record: Record, key, node):
        if key not in record.tree.keys:
            known = ", ".join(repr(k) for k in record.tree.keys) or "none"
            raise self.error(
                node,
                f"{record.describe()} has no entry {key!r} (it has {known})",
                "the structure is the one of the argument this code was compiled for",
            )
        return record.values[record.tree.keys.index(key)]

    def record_method(self, node: cst.Attribute, receiver) -> Entries | None:
        """``params.values()`` and friends; ``None`` if ``receiver`` is not a dict."""
        name = node.attr.value
        if not isinstance(receiver, Record):
            parameter = self._unknown_structure(receiver)
            if parameter is not None and hasattr(dict, name) and name not in ARRAY_METHODS:
                raise self.structure_needed(node, parameter, "a dict")
            return None
        if receiver.tree.kind != "dict" or name not in _DICT_METHODS:
            raise self.error(
                node,
                f"the method `.{name}()` of {receiver.describe()} is not supported",
                "a dict can be read with .keys(), .values(), .items() and .get(key, default); "
                + READ_ONLY,
            )
        keys = tuple(Const(key) for key in receiver.tree.keys)
        values = {
            "keys": keys,
            "values": receiver.values,
            "items": tuple(zip(keys, receiver.values)),
        }
        return Entries(values[name])

    def iterated_record(self, value) -> tuple | None:
        """A dict's keys, what ``for key in params`` runs over; ``None`` for anything else."""
        if isinstance(value, Record) and value.tree.kind == "dict":
            return tuple(Const(key) for key in value.tree.keys)
        return None

    def refuse_iterating(self, node) -> None:
        """Refuse ``for v in p`` for a dataclass, or a parameter whose structure is not known."""
        value = self.env.get(node.value) if isinstance(node, cst.Name) else None
        if isinstance(value, Record):
            raise self.error(node, f"{value.describe()} is not iterable", "read its fields")
        parameter = self._unknown_structure(value)
        if parameter is not None:
            raise self.structure_needed(node, parameter, "a sequence")

    def refuse_unpacking(self, value, node) -> None:
        parameter = self._unknown_structure(value)
        if parameter is not None:
            raise self.structure_needed(node, parameter, "a tuple")
        if isinstance(value, Record):
            raise self.error(
                node, f"{value.describe()} cannot be unpacked", "read its entries one by one"
            )

    def _unknown_structure(self, value) -> str | None:
        """The parameter ``value`` is, if the arguments' structures are not known yet."""
        if self.structures is not None or not isinstance(value, Var):
            return None
        return self.parameter_vars.get(value.name)

    def structure_needed(self, node, parameter: str, what: str) -> StructureNeededError:
        return StructureNeededError(
            f"`{parameter}` is used as {what} here, so its derivative depends on the structure "
            "of the argument passed for it",
            self.source.location(node),
            "call the derivative with that argument (a tuple, list, dict, dataclass or named "
            "tuple, or an array whose length the code reads) and code is compiled for its "
            "structure; to read that code, give example arguments: "
            "s2sad.adjoint_source(f, args=(...))",
        )
