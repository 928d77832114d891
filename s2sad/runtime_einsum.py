"""Run-time helpers of the rule for ``np.einsum`` (see :mod:`s2sad.einsum_rules`).

``np.einsum`` is linear in each operand, and the adjoint of one operand is another ``einsum``: the
other operands and the output's adjoint, contracted to that operand's subscripts. Three cases need
more than that one call, and :func:`einsum_adjoint` handles them: a letter repeated in the operand
(``"ii->"`` reads a diagonal, so the adjoint is written on the diagonal), a letter only that operand
has (``"ij->i"`` sums it out, so the adjoint is broadcast along it), and an axis of length 1 that
``einsum`` broadcast (its adjoint is summed back). Copied into exported modules.

>>> import numpy as np
>>> einsum_parts("i...j,j", (3, 1))
(['iaj', 'j'], 'ai')
>>> einsum_adjoint(np.ones(2), 0, "ii->i", np.zeros((2, 2))).tolist()
[[1.0, 0.0], [0.0, 1.0]]
"""

from __future__ import annotations

import numpy as np


def einsum_parts(subscripts, ndims):
    """``(inputs, output)``: the subscripts of ``np.einsum`` for operands with ``ndims`` axes, with
    ``...`` written out as letters the subscripts do not use and the output stated (in the implicit
    form, as NumPy reads it: the broadcast axes, then the letters used once, in alphabetical order).
    """
    text = subscripts.replace(" ", "")
    left, arrow, output = text.partition("->")
    inputs = left.split(",")
    if len(inputs) != len(ndims):
        raise ValueError(f"einsum subscripts {subscripts!r} name {len(inputs)} operands")
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    spare = [c for c in alphabet if c not in text]
    widths = [n - len(s.replace("...", "")) for s, n in zip(inputs, ndims)]
    width = max([w for s, w in zip(inputs, widths) if "..." in s], default=0)
    broadcast = "".join(spare[:width])
    named = "".join(s.replace("...", "") for s in inputs)
    inputs = [s.replace("...", broadcast[width - w :]) for s, w in zip(inputs, widths)]
    if arrow:
        return inputs, output.replace("...", broadcast)
    return inputs, broadcast + "".join(sorted(c for c in set(named) if named.count(c) == 1))


def einsum_adjoint(g, k, subscripts, *operands):
    """The adjoint of operand ``k`` of ``np.einsum(subscripts, *operands)`` for the output's
    adjoint ``g``, shaped like that operand."""
    inputs, output = einsum_parts(subscripts, [np.ndim(x) for x in operands])
    target, shape = inputs[k], np.shape(operands[k])
    others = [j for j in range(len(operands)) if j != k]
    reached = set(output).union(*(inputs[j] for j in others))
    letters = "".join(dict.fromkeys(target))  # each once, in order
    kept = "".join(c for c in letters if c in reached)
    spec = ",".join([inputs[j] for j in others] + [output]) + "->" + kept
    part = np.einsum(spec, *(operands[j] for j in others), g, optimize=len(operands) > 2)
    size = dict(zip(target, shape))
    spread = tuple(i for i, c in enumerate(kept) if size[c] == 1 and np.shape(part)[i] != 1)
    if spread:  # an axis einsum broadcast: its adjoint sums back
        part = np.sum(part, axis=spread, keepdims=True)
    part = np.expand_dims(part, tuple(i for i, c in enumerate(letters) if c not in reached))
    result = np.zeros(shape, dtype=np.result_type(part, 0.0))
    # a repeated letter reads a diagonal: einsum gives a writeable view of it to fill
    view = np.einsum(f"{target}->{letters}", result) if len(letters) < len(target) else result
    view[...] = part  # broadcast along the letters only this operand has
    return result


HELPERS = (einsum_parts, einsum_adjoint)
