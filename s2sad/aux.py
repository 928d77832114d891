"""Gradients of functions that return a value and auxiliary data: ``has_aux=True``, as in JAX.

``def loss(w, x): ...; return l, {"accuracy": a}`` returns its loss and what it measured on the way.
``s2sad.grad(loss, has_aux=True)(w, x)`` is ``(∂l/∂w, aux)`` and
``s2sad.value_and_grad(loss, has_aux=True)(w, x)`` is ``((l, aux), ∂l/∂w)``: one forward sweep
computes both, and one reverse sweep the gradient of the first output alone (its cotangent is
``(1.0, zeros like aux)``, so the auxiliary data contributes nothing).
"""

from __future__ import annotations

import numpy as np

from .arguments import header, is_method, unwrap, wrt_names
from .errors import NonScalarOutputError, user_facing
from .jacobians import split_vjp
from .traces import DERIVATIVE
from .traversal import several
from .trees import describe_output, leaves_of, tree_of, unflatten

_HINT = "return the value and the auxiliary data as a pair: `return loss, aux`"


def aux_gradient(fn, wrt, kind: str):
    """The gradient (``kind`` ``"grad"``) or value and gradient (``"value_and_grad"``) of the
    first of the two values ``fn`` returns, with the second returned beside it."""
    plain, owner = unwrap(fn)
    trace = header(plain)
    names, single = wrt_names(trace, wrt, is_method(fn))
    if trace.body:  # known before any call: what the function returns
        ret = trace.body[-1]
        if not isinstance(ret.value, tuple) or len(ret.value) != 2:
            what = describe_output(ret.value) if several(ret.value) else "one value"
            raise NonScalarOutputError(
                f"has_aux=True needs `{trace.name}` to return a pair (value, aux), but it returns "
                f"{what}",
                ret.loc,
                _HINT,
            )

    def gradient_with_aux(*args, **keywords):
        value, pullback = split_vjp(fn, args, keywords, names)
        if not isinstance(value, tuple) or len(value) != 2:
            raise NonScalarOutputError(
                f"has_aux=True needs `{trace.name}` to return a pair (value, aux), but it "
                f"returned a {type(value).__name__}",
                hint=_HINT,
            )
        loss, aux = value
        tree = tree_of(loss)
        if tree is not None or np.ndim(loss) != 0:
            what = f"an array of shape {np.shape(loss)}" if tree is None else tree.describe()
            raise NonScalarOutputError(
                f"has_aux=True differentiates the first value `{trace.name}` returns, which must "
                f"be one number; it is {what}",
                hint="reduce it (np.sum, np.mean), or use s2sad.vjp",
            )
        zeros = [np.zeros(np.shape(leaf)) if np.ndim(leaf) else 0.0 for leaf in leaves_of(aux)]
        adjoints = pullback((1.0, unflatten(tree_of(aux), zeros)))
        gradient = adjoints[0] if single else adjoints
        return (gradient, aux) if kind == "grad" else ((loss, aux), gradient)

    gradient_with_aux.__name__ = f"{trace.name}_{kind}_with_aux"
    setattr(gradient_with_aux, DERIVATIVE, ("tuple", fn, names))  # not differentiated again
    return user_facing(gradient_with_aux)
