"""Structured values: tuples, lists, dicts, dataclasses and named tuples of numbers and arrays.

Model parameters are usually passed as one structure (``{"W1": ..., "b1": ...}``). Generated code
takes numbers and arrays only, so a structured argument is *flattened*: each leaf (a number or an
array) becomes a parameter of its own, named after its path (``params_W1``), and the gradient's leaves
are put back into a structure like the argument's. A :class:`Tree` records a structure's shape:
container types, keys and field names, lengths. It is part of what code is specialised for, so an
argument of another structure (a new key, another length) gets new code. A direction (a tangent, or
the ``v`` of a Hessian-vector product) must have its primal's structure and leaf shapes; messages
name a leaf by its path as Python writes it (``p["W"]``).

>>> params = {"W": 1.0, "layers": (2.0, 3.0)}
>>> tree = tree_of(params)
>>> flatten(params, tree)
[1.0, 2.0, 3.0]
>>> leaf_names("params", tree, set())
['params_W', 'params_layers_0', 'params_layers_1']
>>> unflatten(tree, [10.0, 20.0, 30.0])
{'W': 10.0, 'layers': (20.0, 30.0)}

A structured *result* is built by the generated code itself; its Tree (:func:`output_tree`) tells
how its leaves line up with the cotangents a pullback is given and with the blocks of a Jacobian.

>>> cotangent_leaves({"b": 2.0, "a": 1.0}, Tree("dict", ("a", "b"), (None, None)), "f")
[1.0, 2.0]
>>> print(render(tree))
{'W': *, 'layers': (*, *)}
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass

import numpy as np

from .errors import ArgumentError
from .ir import Built, ListValue
from .reals import require_real
from .traversal import leaves

_MAX_LEAVES = 256  # more leaves than this would be a function with hundreds of parameters
_NUMBERS = frozenset({float, int, bool, np.float64, np.float32, np.int64, np.int32})


@dataclass(frozen=True)
class Tree:
    """The shape of a structured value. ``kind`` is ``"tuple"``, ``"list"``, ``"dict"`` or
    ``"fields"`` (a dataclass or named tuple, of type ``cls``); ``keys`` are the dict's keys, the
    field names, or the positions ``0, 1, …``; ``children`` hold a Tree per entry, ``None`` for a leaf.
    A function passed as an argument is a ``"callable"`` of no leaves whose ``cls`` is the function
    itself: code is specialised on the function called, as on a structure (see
    :mod:`s2sad.callables`).
    """

    kind: str
    keys: tuple
    children: tuple
    cls: type | None = None

    def describe(self) -> str:
        """What the structure is, for messages: ``a dict``, ``a tuple``, ``a Params dataclass``."""
        if self.kind == "none":
            return "None"
        if self.kind == "callable":
            return "a function"
        if self.kind != "fields":
            return f"a {self.kind}"
        what = "named tuple" if issubclass(self.cls, tuple) else "dataclass"
        article = "an" if self.cls.__name__[0].lower() in "aeiou" else "a"
        return f"{article} {self.cls.__name__} {what}"


@dataclass(frozen=True)
class ArrayShape:
    """The shape of a number or an array argument (``()`` for a number), for code that reads its
    length while it is lowered (``a, b, c = x``, ``for v in x``, ``len(x)``): paired with the
    generated parameter's name among the structures a function is lowered with."""

    dims: tuple


def array_shapes(params: tuple, values) -> tuple:
    """``(name, ArrayShape)`` for each of ``params`` whose value (of ``values``) is a number or an
    array."""
    return tuple(
        (name, ArrayShape(np.shape(value)))
        for name, value in zip(params, values)
        if type(value) in _NUMBERS or type(value) is np.ndarray
    )


def trees_in(structures) -> dict:
    """The :class:`Tree` of each structured parameter among ``structures`` (which may also hold
    the shapes of arrays, see :class:`ArrayShape`)."""
    return {name: tree for name, tree in structures or () if isinstance(tree, Tree)}


NONE = Tree("none", (), ())  # the structure of None: no leaves


def tree_of(value) -> Tree | None:
    """The structure of ``value``, or ``None`` if it is a leaf (anything but a container)."""
    if value is None:  # an optional argument left out: a constant (see s2sad.nones)
        return NONE
    kind = type(value)
    if kind is tuple or kind is list:
        children = tuple(tree_of(item) for item in value)
        return Tree(kind.__name__, tuple(range(len(value))), children)
    if issubclass(kind, list) and _reads_as_a_list(kind):  # DEAP's Individual
        children = tuple(tree_of(item) for item in value)
        return Tree("list", tuple(range(len(value))), children, kind)
    if kind is dict:
        for key in value:
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise ArgumentError(
                    f"a dict argument has the key {key!r}: s2sad names each entry after its key",
                    hint="use strings (or integers) as the keys of structured arguments",
                )
        return Tree("dict", tuple(value), tuple(tree_of(item) for item in value.values()))
    names = field_names(kind)
    if names is not None:
        return Tree("fields", names, tuple(tree_of(getattr(value, n)) for n in names), kind)
    if is_function_value(value):
        return Tree("callable", (), (), value)
    if isinstance(value, (tuple, list, dict)):
        raise ArgumentError(
            f"an argument of type {kind.__name__}: structured arguments are tuples, lists, "
            "dicts, dataclasses and named tuples",
            hint="convert it to a plain tuple, list or dict",
        )
    return None


# How Python reads a list's elements: a subclass that keeps them is read as the list it is.
_LIST_READS = ("__getitem__", "__iter__", "__len__", "__add__", "__mul__", "__bool__")


def _reads_as_a_list(cls) -> bool:
    return all(getattr(cls, name, None) is getattr(list, name, None) for name in _LIST_READS)


def is_function_value(value) -> bool:
    """Whether ``value`` is something to call rather than a number: a function, a builtin or
    NumPy function, a bound method, a partial, or an instance of a class with ``__call__``."""
    if isinstance(value, (np.ndarray, np.generic, type)):
        return False
    return callable(value)


def field_names(cls) -> tuple | None:
    """A dataclass's constructor fields, a named tuple's fields, or ``None``."""
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls) if f.init)
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return tuple(cls._fields)
    return None


def output_tree(structure) -> Tree | None:
    """The Tree of an output structure of the IR (tuples, lists and :class:`~s2sad.ir.Built`
    values)."""
    if isinstance(structure, tuple):
        kind = "list" if isinstance(structure, ListValue) else "tuple"
        return Tree(kind, tuple(range(len(structure))), tuple(map(output_tree, structure)))
    if isinstance(structure, Built):
        children = tuple(map(output_tree, structure.items))
        if structure.cls is None:
            return Tree("dict", structure.keys, children)
        return Tree("fields", structure.keys, children, structure.cls.obj)
    return None


def describe_output(structure) -> str:
    """``a tuple of 2 values``, ``a dict of 3 values``: what a function returns, for messages."""
    count = len(list(leaves(structure)))
    return f"{output_tree(structure).describe()} of {count} value{'' if count == 1 else 's'}"


def keyed(tree: Tree | None) -> bool:
    """Whether a structure holds a dict, a dataclass or a named tuple (not only tuples)."""
    return tree is not None and (tree.kind in ("dict", "fields") or any(map(keyed, tree.children)))


def render(tree: Tree | None) -> str:
    """A structure with ``*`` for each leaf: ``{'a': *, 'b': (*, *)}``, ``Out(y=*, z=*)``."""
    if tree is None:
        return "*"
    if tree.kind == "none":
        return "None"
    if tree.kind == "callable":
        return getattr(tree.cls, "__name__", "<function>")
    items = [render(child) for child in tree.children]
    if tree.kind == "dict":
        return "{" + ", ".join(f"{k!r}: {item}" for k, item in zip(tree.keys, items)) + "}"
    if tree.kind == "fields":
        fields = ", ".join(f"{k}={item}" for k, item in zip(tree.keys, items))
        return f"{tree.cls.__name__}({fields})"
    text = ", ".join(items) + ("," if len(items) == 1 else "")
    return f"[{text}]" if tree.kind == "list" else f"({text})"


def cotangent_leaves(value, tree: Tree | None, name: str) -> list:
    """The leaves of ``value``, a cotangent for an output of structure ``tree``, in its order.

    Dict keys may come in any order, and a tuple and a list of the same length stand for each other
    (NumPy users write a list as readily as a tuple). Anything of another structure is refused,
    saying which one the output has."""
    if not _conforms(value, tree):
        try:
            given = render(tree_of(value))
        except ArgumentError:  # keys that are not strings, a subclass of dict or list
            given = "*"
        if given == "*":
            given = f"a {type(value).__name__}"
        raise ArgumentError(
            f"the pullback of `{name}` takes a cotangent shaped like its output, {render(tree)}; "
            f"got {given}",
            hint="pass one number or array per output, in the output's structure",
        )
    _require_real_leaves(value, tree, "", f"the cotangent for the output{{}} of `{name}`")
    return flatten(value, tree)


def _require_real_leaves(value, tree: Tree | None, name: str, what: str) -> None:
    """Refuse complex leaves (see :mod:`s2sad.reals`); ``what`` words one, given its path."""
    for path, leaf in zip(leaf_paths(name, tree), flatten(value, tree)):
        require_real(leaf, what.format(path))


def _conforms(value, tree: Tree | None) -> bool:
    if tree is None:  # a number or an array: anything but a dict or a dataclass stands for one
        return not isinstance(value, dict) and field_names(type(value)) is None
    if tree.kind == "none":
        return value is None
    if tree.kind in ("tuple", "list"):
        matches = type(value) in (tuple, list) and len(value) == len(tree.keys)
        items = value if matches else ()
    elif tree.kind == "dict":
        matches = type(value) is dict and set(value) == set(tree.keys)
        items = [value[key] for key in tree.keys] if matches else ()
    else:
        matches = type(value) is tree.cls
        items = [getattr(value, key) for key in tree.keys] if matches else ()
    if tree.kind == "callable":
        matches = value is tree.cls
    return matches and all(_conforms(item, child) for item, child in zip(items, tree.children))


def flatten(value, tree: Tree | None) -> list:
    """The leaves of ``value``, depth first, in the order of ``tree``'s keys."""
    if tree is None:
        return [value]
    if tree.kind == "none":
        return []
    if tree.kind == "callable":
        return []
    if tree.kind == "fields":
        items = [getattr(value, name) for name in tree.keys]
    elif tree.kind == "dict":
        items = [value[key] for key in tree.keys]
    else:
        items = value
    return [leaf for item, child in zip(items, tree.children) for leaf in flatten(item, child)]


def unflatten(tree: Tree | None, leaves: list):
    """A value of structure ``tree`` holding ``leaves`` (consumed from the front of the list)."""
    if tree is None:
        return leaves.pop(0)
    if tree.kind == "none":
        return None
    if tree.kind == "callable":
        return tree.cls
    items = [unflatten(child, leaves) for child in tree.children]
    if tree.kind == "tuple":
        return tuple(items)
    if tree.kind == "list":
        return items if tree.cls is None else tree.cls(items)
    if tree.kind == "dict":
        return dict(zip(tree.keys, items))
    if issubclass(tree.cls, tuple):
        return tree.cls(*items)
    return tree.cls(**dict(zip(tree.keys, items)))


def leaves_of(value) -> list:
    """The leaves of ``value`` in its own structure (``[value]`` for a number or an array)."""
    return flatten(value, tree_of(value))


def flatten_all(values, trees: list) -> list:
    """The leaves of each of ``values``, one after the other (``trees``: one per value)."""
    return [leaf for value, tree in zip(values, trees) for leaf in flatten(value, tree)]


def unflatten_all(trees: list, leaves: list) -> list:
    """One value per tree of ``trees``, holding ``leaves`` in turn: the inverse of flatten_all."""
    rest = list(leaves)
    return [unflatten(tree, rest) for tree in trees]


def leaf_spans(values, trees: list) -> list:
    """The positions of each value's leaves among those :func:`flatten_all` lists."""
    spans, start = [], 0
    for value, tree in zip(values, trees):
        count = len(flatten(value, tree))
        spans.append(range(start, start + count))
        start += count
    return spans


def leaf_names(name: str, tree: Tree | None, taken: set) -> list:
    """Parameter names for the leaves of ``name``'s structure: its path joined by underscores
    (``params_W1``, ``layers_0_b``), each made unique against ``taken`` (which it extends)."""
    if tree is None:
        return [name]
    names = []
    for key, child in zip(tree.keys, tree.children):
        stem = f"{name}_{re.sub(r'[^0-9a-zA-Z_]', '_', str(key))}"
        if child is None:
            while stem in taken:
                stem += "_"
            taken.add(stem)
            names.append(stem)
        else:
            names += leaf_names(stem, child, taken)
    return names


def tree_signature(value):
    """The part of a call's dispatch key for one argument: its type, or for a structure its Tree
    and its leaves' kinds (arrays by shape and dtype)."""
    tree = tree_of(value)
    if tree is None:
        return type(value)
    return tree, tuple(
        (v.shape, v.dtype) if type(v) is np.ndarray else type(v) for v in flatten(value, tree)
    )


def is_plain(value) -> bool:
    """Whether ``value`` is a number or an array: the fast path of dispatch."""
    return type(value) in _NUMBERS or type(value) is np.ndarray


class Layout:
    """How a call's arguments become the generated function's parameters: each structured argument
    of ``params`` replaced by its leaves. ``structures`` pairs each structured parameter with its
    Tree; the first ``skip`` arguments (a method's ``self``) are never taken apart. Arguments after
    those of ``params`` are directions (a Hessian-vector product's ``v``), one for each parameter
    of ``directions``, each of its parameter's structure and leaf shapes.
    """

    def __init__(self, params: tuple, args: tuple, skip: int = 0, directions: tuple = ()):
        primals = args[: len(params)]
        self.trees = [None] * skip + [tree_of(arg) for arg in primals[skip:]]
        self.trees += [None] * (len(params) - len(self.trees))  # left to their default values
        of = dict(zip(params, zip(self.trees, primals)))
        for name, arg, tree in list(zip(params, primals, self.trees))[skip:]:
            _require_real_leaves(arg, tree, name, "`{}`")
        for name, direction in zip(directions, args[len(params) :]):
            _require_like(direction, *of[name], name)
            _require_real_leaves(direction, of[name][0], name, "the direction for `{}`")
        self.trees += [of[name][0] for name in directions]
        self.structures = tuple((p, t) for p, t in zip(params, self.trees) if t is not None)
        self.leaves = flat_params(params, dict(self.structures))
        self.params = tuple(leaf for p in params for leaf in self.leaves[p])
        given = tuple(leaf for p in params[skip : len(primals)] for leaf in self.leaves[p])
        self.shapes = array_shapes(given, self.flatten(primals)[skip:])
        for param, tree in self.structures:
            if len(self.leaves[param]) > _MAX_LEAVES:
                raise ArgumentError(
                    f"`{param}` holds {len(self.leaves[param])} numbers and arrays; s2sad passes "
                    f"each as a parameter of the generated code, at most {_MAX_LEAVES}",
                    hint=f"pass them as one array: np.asarray({param})",
                )

    def flatten(self, args: tuple) -> tuple:
        """The generated function's arguments: ``args`` with each structure replaced by its leaves."""
        return tuple(leaf for arg, tree in zip(args, self.trees) for leaf in flatten(arg, tree))

    def leaf_params(self, names: tuple) -> tuple:
        """The generated function's parameters that ``names`` (parameters of the user's) stand for."""
        return tuple(leaf for name in names for leaf in self.leaves[name])

    def group(self, names: tuple, values: tuple, shape) -> tuple:
        """``values`` (one per leaf of ``names``) as one structure per name, each leaf passed
        through ``shape(value, leaf_name)``."""
        trees = dict(self.structures)
        rest = list(values)
        grouped = []
        for name in names:
            count = len(self.leaves[name])
            shaped = [shape(v, leaf) for v, leaf in zip(rest[:count], self.leaves[name])]
            rest = rest[count:]
            grouped.append(unflatten(trees.get(name), shaped))
        return tuple(grouped)


def _require_like(direction, tree: Tree | None, primal, name: str) -> None:
    """Refuse a direction that is not structured and shaped like its primal, naming the place."""
    different = _difference(name, tree_of(direction), tree)
    if different is not None:
        path, given, expected = different
        raise ArgumentError(
            f"the direction for `{path}` is {_what(given)}, but `{path}` is {_what(expected)}",
            hint=f"give a direction with the structure of its primal `{name}` (the same keys "
            "and lengths)",
        )
    paths = leaf_paths(name, tree)
    for path, v, x in zip(paths, flatten(direction, tree), flatten(primal, tree)):
        if np.shape(v) != np.shape(x):
            raise ArgumentError(
                f"the direction for `{path}` has shape {np.shape(v)}, but `{path}` has shape "
                f"{np.shape(x)}",
                hint="a direction has the shape of the value it moves",
            )


def _difference(path: str, given: Tree | None, tree: Tree | None) -> tuple | None:
    """``(path, given, tree)`` at the first place structure ``given`` differs from ``tree``, or
    ``None``; a dict's keys may come in another order (flattening follows ``tree``'s keys)."""
    if given is None and tree is None:
        return None
    if given is None or tree is None or (given.kind, given.cls) != (tree.kind, tree.cls):
        return path, given, tree
    if (set(given.keys) != set(tree.keys)) if tree.kind == "dict" else given.keys != tree.keys:
        return path, given, tree
    for key, child in zip(tree.keys, tree.children):
        at = given.children[given.keys.index(key)]
        found = _difference(path + _step(tree, key), at, child)
        if found is not None:
            return found
    return None


def _what(tree: Tree | None) -> str:
    if tree is None:
        return "a number or an array"
    if tree.kind == "none":
        return "None"
    if tree.kind in ("tuple", "list"):
        return f"{tree.describe()} of length {len(tree.keys)}"
    entries = "keys" if tree.kind == "dict" else "fields"
    return f"{tree.describe()} with the {entries} {', '.join(map(repr, tree.keys))}"


def leaf_paths(name: str, tree: Tree | None) -> list:
    """How each leaf of ``name``'s structure is written in Python, for messages and tables:
    ``p["W"]``, ``layers[0].b``; ``name`` itself for a leaf.

    >>> leaf_paths("p", tree_of({"W": 1.0, "layers": [2.0]}))
    ['p["W"]', 'p["layers"][0]']
    """
    if tree is None:
        return [name]
    paths = []
    for key, child in zip(tree.keys, tree.children):
        paths += leaf_paths(name + _step(tree, key), child)
    return paths


def _step(tree: Tree, key) -> str:
    """How an entry of ``tree`` is read: ``.W`` of a dataclass, ``["W"]`` or ``[0]`` otherwise."""
    if tree.kind == "fields":
        return f".{key}"
    return f"[{json.dumps(key, ensure_ascii=False)}]"  # "W" as Python is usually written, not 'W'


def flat_params(params: tuple, structures: dict) -> dict:
    """``parameter -> its leaves' names`` (itself for a parameter that holds no structure)."""
    taken = set(params)
    return {p: leaf_names(p, structures.get(p), taken) for p in params}
