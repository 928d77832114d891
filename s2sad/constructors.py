"""Lowering of the structures a function builds: dicts, dataclasses and named tuples.

A dict display with constant keys (``{"a": y, **params}``), a dict comprehension over a known
sequence, ``dict(a=y)``, and a call to a dataclass or named tuple class (``Out(y, z=z)``) lower,
like a structured parameter (:mod:`s2sad.records`), to a :class:`~s2sad.records.Record` or
:class:`~s2sad.records.FieldTuple` of known keys: reading an entry back costs nothing. What the
function returns becomes an output structure (:class:`~s2sad.ir.Built`) that the generated code
builds where it returns, so the derivative reads as the function does and returns what it returns:

>>> import s2sad
>>> def f(x):
...     return {"y": x * x, "z": 2.0 * x}
>>> print(s2sad.tangent_source(f).rstrip())
def f_jvp(x, x_dot):
    \"\"\"Forward mode (tangent) of f with respect to x.\"\"\"
    # line 2: return {"y": x * x, "z": 2.0 * x}
    w2 = x * x
    w2_dot = 2 * (x * x_dot)
    w3 = 2.0 * x
    w3_dot = 2.0 * x_dot
    return {"y": w2, "z": w3}, {"y": w2_dot, "z": w3_dot}

A class is named as any callee is: a module global by its name, read when the code runs; anything
else bound by identity. Only what can be followed while lowering is accepted: constant keys, and
classes whose constructor stores its arguments as the fields (dataclasses without
``__post_init__``, named tuples).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace

import libcst as cst

from .ir import Built, Const, ListValue, Ref
from .records import FieldTuple, Record, field_tuple
from .trees import Tree, field_names

_KEYS = (
    'write the key out (`{"W1": w}`), or loop over a known sequence of keys '
    "(`{k: ... for k in params}`); for keys known only when the function runs, return a tuple"
)
_CLASSES = "make it a @dataclass or a typing.NamedTuple, or return a dict or a tuple"


@dataclass(frozen=True)
class Constructor:
    """A dataclass or named tuple class, called: ``Out(y, z)``."""

    ref: Ref
    fields: tuple  # the constructor's fields, in the class's order
    positional: tuple  # those that may be passed by position
    defaults: dict  # field -> its default value, for the fields that have one


def _constructor(ref: Ref) -> Constructor | None:
    """How ``ref``'s class is constructed, or ``None`` if it is not a dataclass or named tuple."""
    cls = ref.obj
    fields = field_names(cls)
    if fields is None:
        return None
    if not dataclasses.is_dataclass(cls):
        return Constructor(ref, fields, fields, dict(cls._field_defaults))
    every = [f for f in dataclasses.fields(cls) if f.init]
    defaults = {f.name: f.default for f in every if f.default is not dataclasses.MISSING}
    positional = tuple(f.name for f in every if not getattr(f, "kw_only", False))
    return Constructor(ref, fields, positional, defaults)


def _tree_of_value(value) -> Tree | None:
    """The structure of a lowered value: a record's, a tuple's, ``None`` for one value."""
    if isinstance(value, (Record, FieldTuple)):
        return value.tree
    if isinstance(value, tuple):
        kind = "list" if isinstance(value, ListValue) else "tuple"
        return Tree(kind, tuple(range(len(value))), tuple(map(_tree_of_value, value)))
    return None


class ConstructorLowering:
    """The structure-building part of :class:`s2sad.lower.Lowering`."""

    def class_call(self, ref: Ref, func_node) -> Constructor:
        """``Out`` called: how to construct it, or an error saying why it cannot be followed."""
        cls = ref.obj
        made = _constructor(ref)
        if made is None:
            raise self.error(
                func_node,
                f"`{ref.name}` is a class that is neither a dataclass nor a named tuple: s2sad "
                "cannot follow what its constructor stores",
                _CLASSES,
            )
        params = getattr(cls, "__dataclass_params__", None)
        own = "__post_init__" if hasattr(cls, "__post_init__") else "__init__"
        if own == "__post_init__" or params is not None and not params.init:
            raise self.error(
                func_node,
                f"`{ref.name}` has its own {own}, which s2sad does not follow: its fields may "
                "not be the values it is given",
                "compute the values first and pass them to a dataclass that stores them as given",
            )
        return made

    def construct(self, made: Constructor, node: cst.Call):
        """``Out(y, z=z)``: a record of the class's fields, in the class's order."""
        name = made.ref.name
        values: dict = {}
        for arg in node.args:
            if arg.star:
                raise self.error(
                    arg,
                    f"`{arg.star}` in a call to `{name}` is not supported",
                    f"pass each field: `{name}({', '.join(f'{f}=...' for f in made.fields)})`",
                )
            if arg.keyword is None:
                if len(values) >= len(made.positional):
                    raise self.error(
                        arg,
                        f"`{name}` takes {len(made.positional)} field(s) by position "
                        f"({', '.join(made.positional)}), got more",
                        "pass as many values as it has fields",
                    )
                field = made.positional[len(values)]
            else:
                field = arg.keyword.value
                if field not in made.fields:
                    raise self.error(
                        arg,
                        f"`{name}` has no field `{field}`",
                        f"its fields are {', '.join(made.fields)}",
                    )
            if field in values:
                raise self.error(arg, f"`{name}` got the field `{field}` twice", "pass it once")
            values[field] = self.expr(arg.value)
        for field in made.fields:
            if field not in values:
                values[field] = self._default(made, field, node)
        ordered = tuple(values[field] for field in made.fields)
        children = tuple(map(_tree_of_value, ordered))
        tree = Tree("fields", made.fields, children, made.ref.obj)
        if issubclass(tree.cls, tuple):
            return field_tuple(ordered, tree, "", made.ref)
        return Record(tree, ordered, "", made.ref)

    def _default(self, made: Constructor, field: str, node) -> Const:
        default = made.defaults.get(field, dataclasses.MISSING)
        if isinstance(default, (int, float, str, type(None))):
            return Const(default)
        what = "no default" if default is dataclasses.MISSING else "a default that is not a number"
        raise self.error(
            node,
            f"`{made.ref.name}` is constructed without its field `{field}`, which has {what}",
            f"pass `{field}=...`",
        )

    def dict_display(self, node: cst.Dict) -> Record:
        """``{"a": y, **params}``: a record of constant keys, the last value of a key winning."""
        entries: dict = {}
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                value = self.expr(element.value)
                parameter = self._unknown_structure(value)
                if parameter is not None:
                    raise self.structure_needed(element, parameter, "a dict")
                if not (isinstance(value, Record) and value.tree.kind == "dict"):
                    raise self.error(
                        element,
                        "`**` of something that is not a dict known while lowering",
                        "write its entries out",
                    )
                entries.update(zip(value.tree.keys, value.values))
            else:
                key = self.key(element.key)
                entries[key] = self.expr(element.value)
        return dict_record(entries)

    def dict_comprehension(self, node: cst.DictComp) -> Record:
        """``{k: v * 2 for k, v in params.items()}``, unrolled over a known sequence."""
        pairs = self.comprehension(node, lambda: (self.key(node.key), self.expr(node.value)))
        return dict_record(dict(pairs))

    def dict_call(self, node: cst.Call) -> Record:
        """``dict(a=y, b=z)``."""
        entries: dict = {}
        for arg in node.args:
            if arg.keyword is None or arg.star:
                what = f"`dict({arg.star}...)`" if arg.star else "`dict(...)` of a value"
                raise self.error(
                    arg,
                    f"{what} is not supported: only `dict(name=value, ...)` is",
                    'write a dict display: `{"a": a, **params}`',
                )
            entries[arg.keyword.value] = self.expr(arg.value)
        return dict_record(entries)

    def key(self, node):
        """A key of a dict the function builds: a constant string or integer."""
        key = self.expr(node)
        if not isinstance(key, Const):
            raise self.error(
                node,
                "a dict built here needs keys known while lowering: s2sad names each entry "
                "after its key",
                _KEYS,
            )
        if not isinstance(key.value, (str, int)) or isinstance(key.value, bool):
            raise self.error(
                node,
                f"the dict key {key.value!r} is not a string or an integer",
                "use strings (or integers) as the keys of a dict the function returns or reads",
            )
        return key.value

    def output(self, value, node):
        """A returned value as an output structure: expressions, tuples, lists, and the dicts,
        dataclasses and named tuples the function built or was given, built again by the generated
        code."""
        if isinstance(value, (Record, FieldTuple)):
            entries = value.values if isinstance(value, Record) else tuple(value)
            items = tuple(self.output(item, node) for item in entries)
            if value.tree.kind == "dict":
                return Built(value.tree.keys, items)
            cls = value.cls or Ref(value.tree.cls.__name__, value.tree.cls)  # an argument's class
            return Built(value.tree.keys, items, cls)
        if isinstance(value, tuple):
            items = (self.output(item, node) for item in value)
            return ListValue(items) if isinstance(value, ListValue) else tuple(items)
        return self.atom(value, node)

    def merged_records(self, cond, then, other, node):
        """The record after an ``if`` whose branches bound records of the same keys."""
        same = type(then) is type(other) and (then.tree.kind, then.tree.keys, then.tree.cls) == (
            other.tree.kind,
            other.tree.keys,
            other.tree.cls,
        )
        if not same:
            raise self.error(
                node,
                f"the branches of this `if` leave a name bound to {_what(then)} and {_what(other)}",
                "build the same keys or fields, in the same order, in both branches",
            )
        if isinstance(then, Record):
            values = zip(then.values, other.values)
            return replace(
                then, values=tuple(self._merge_values(cond, a, b, node) for a, b in values)
            )
        values = tuple(self._merge_values(cond, a, b, node) for a, b in zip(then, other))
        return field_tuple(values, then.tree, then.name, then.cls)


def dict_record(entries: dict) -> Record:
    children = tuple(map(_tree_of_value, entries.values()))
    return Record(Tree("dict", tuple(entries), children), tuple(entries.values()), "")


def _what(value) -> str:
    if isinstance(value, (Record, FieldTuple)):
        keys = ", ".join(map(repr, value.tree.keys))
        return f"{value.tree.describe()} of {keys or 'no keys'}"
    return "a tuple" if isinstance(value, tuple) else "one value"
