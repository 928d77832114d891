"""The derivative rule of ``np.einsum``, linear in each of its operands.

``w = einsum("ij,jk->ik", a, b)`` has tangent
``einsum("ij,jk->ik", ȧ, b) + einsum("ij,jk->ik", a, ḃ)`` (the product rule, one term per active
operand), and each operand's adjoint is another ``einsum``: the other operands and ``w̄``
contracted to that operand's subscripts, ``ā = einsum("jk,ik->ij", b, w̄)``. Where the shapes are
known and the operand's subscripts name each axis once, that call is written out; otherwise
:func:`s2sad.runtime_einsum.einsum_adjoint` makes it when the code runs (``...``, a diagonal
``"ii"``, an axis only that operand has, or one ``einsum`` broadcast). In vector mode a new letter
for the directions leads the active operand's subscripts and the output's.

>>> from s2sad.ir import Const, Var
>>> from s2sad.shapes import Kinds, Kind
>>> kinds = Kinds({"a": Kind((2, 3)), "b": Kind((3, 4)), "w": Kind((2, 4))})
>>> rule = STRUCTURAL["np.einsum"](Const("ij,jk->ik"), Var("a"), Var("b"), out=Var("w"),
...                                 params={}, kinds=kinds)
>>> rule.adjoints[1](Var("g"))
np.einsum("jk,ik->ij", b, g)
"""

from __future__ import annotations

from .algebra import total
from .array_rules import RUNTIME, STRUCTURAL, Linear, np_call, runtime_call
from .errors import NotDifferentiableError
from .ir import Call, Const, Ref
from .primitives import PRIMITIVES
from .runtime_einsum import einsum_parts
from .second_order_rules import multilinear
from .vector_mode import VECTOR_RULES, Batched

EINSUM = PRIMITIVES["np.einsum"]


def _subscripts(arg) -> str:
    """The subscripts, a string constant (written in the call, or a module constant)."""
    value = arg.value if isinstance(arg, Const) else arg.obj if isinstance(arg, Ref) else None
    if not isinstance(value, str):
        raise NotDifferentiableError(
            "np.einsum is differentiated with its subscripts as a string: "
            "np.einsum('ij,jk->ik', a, b)",
            hint="write the subscripts as a string constant, not as lists of axis numbers",
        )
    return value


def _einsum_rule(subscripts, *operands, out, params, kinds):
    text = _subscripts(subscripts)

    def tangent(dots):
        terms = [
            Call(
                EINSUM, (subscripts, *operands[:k], dot, *operands[k + 1 :]), tuple(params.items())
            )
            for k, dot in enumerate(dots[1:])
            if dot is not None
        ]
        return total(terms)

    def adjoint(g, k):
        spec = _written_adjoint(text, k, operands, kinds)
        if spec is None:
            return runtime_call("einsum_adjoint", g, k, text, *operands)
        others = [x for j, x in enumerate(operands) if j != k]
        return np_call("einsum", spec, *others, g)

    return Linear(
        tangent, (None,) + tuple((lambda g, k=k: adjoint(g, k)) for k in range(len(operands)))
    )


def _written_adjoint(text, k, operands, kinds):
    """The subscripts of operand ``k``'s adjoint as one ``einsum`` call, where the shapes are known,
    the operand names each axis once, every one of its letters is in another operand or the output,
    and no axis is broadcast; else ``None``."""
    found = [kinds.of(x) for x in operands]
    if any(kind is None for kind in found):
        return None
    shapes = [kind.shape or () for kind in found]
    inputs, output = einsum_parts(text, [len(s) for s in shapes])
    sizes: dict = {}
    for letters, shape in zip(inputs, shapes):
        for letter, size in zip(letters, shape):
            if sizes.setdefault(letter, size) != size:
                return None  # broadcast along this letter
    target = inputs[k]
    others = [s for j, s in enumerate(inputs) if j != k]
    if len(set(target)) < len(target) or not set(target) <= set(output).union(*others):
        return None
    return ",".join(others + [output]) + "->" + target


def _vector_rule(subscripts, *operands, out, params, kinds: Batched):
    """A letter for the directions leads the active operand's subscripts and the output's."""
    inputs, output = einsum_parts(_subscripts(subscripts), [kinds.ndim(x) for x in operands])
    used = "".join(inputs) + output
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    direction = next(c for c in alphabet if c not in used)

    def tangent(dots):
        terms = []
        for k, dot in enumerate(dots[1:]):
            if dot is None:
                continue
            batched = [direction + s if j == k else s for j, s in enumerate(inputs)]
            spec = Const(",".join(batched) + "->" + direction + output)
            pieces = (*operands[:k], dot, *operands[k + 1 :])
            terms.append(Call(EINSUM, (spec, *pieces), tuple(params.items())))
        return total(terms)

    return tangent


STRUCTURAL["np.einsum"] = _einsum_rule
VECTOR_RULES["np.einsum"] = _vector_rule


def _linear_in(args):
    """``einsum_adjoint(g, k, subscripts, *operands)`` is linear in ``g`` and in each operand but
    the ``k``-th (whose shape alone it reads)."""
    k = args[1].value
    return (0,) + tuple(3 + j for j in range(len(args) - 3) if j != k)


multilinear(RUNTIME["einsum_adjoint"], _linear_in)
