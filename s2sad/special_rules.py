"""Derivative rules of ``scipy.special``'s ``expit``, ``logit``, ``log1p``, ``erf``, ``gammaln``,
``digamma``, ``xlogy``, ``xlog1py`` and ``logsumexp``, registered where SciPy is installed.

They are registered by :func:`register` when a first function is lowered in a process that has
imported SciPy: importing ``scipy.special`` costs more than importing s2sad, and code can call its
functions only once its module has imported SciPy.

The elementwise functions state their partial derivatives, like NumPy's (:mod:`s2sad.array_rules`),
so they serve numbers and arrays, both modes and second derivatives alike::

    expit' = expit (1 - expit)        logit' = 1 / (x (1 - x))        erf' = 2 exp(-x²) / √π
    gammaln' = digamma                digamma' = ζ(2, x)               (ζ(s, x))' = -s ζ(s + 1, x)
    xlogy: (log y, x / y)             xlog1py: (log1p y, x / (1 + y))

``ζ`` is the Hurwitz zeta function ``special.zeta(s, x)``: ``polygamma(n, x)`` is
``(-1)ⁿ⁺¹ n! ζ(n + 1, x)``, and unlike ``polygamma`` it is a ufunc, which gives a number for a
number; derivative code calls it with a constant ``s``. ``xlogy(0, y)`` is 0 for every ``y``, and so
is its partial in ``y`` there (``x / y``, for ``y != 0``).

``logsumexp(a, axis, keepdims=...)`` is a reduction whose gradient is the softmax
``exp(a - logsumexp(a))``: its tangent sums that times ``ȧ`` over the axes reduced, its adjoint is
``ḡ`` times it, stated once for forward, reverse and vector mode. Its weights ``b=`` and
``return_sign=`` are refused where the call is read.
"""

from __future__ import annotations

import math
import sys

from .array_rules import STRUCTURAL, Linear, np_call
from .arrays import ARRAY_FUNCTIONS, _KEEP_ALIVE, ArrayOp
from .algebra import build, const
from .ir import PREC_ATOM, Expr, Primitive
from .primitives import PRIMITIVES
from .printing import MODULE_ALIASES
from .rules import rule
from .vector_mode import VECTOR_RULES, _shifted_axes

_registered = []  # scipy.special, once its rules are registered


def _register(special, name: str, obj, user: bool = True, **spec) -> None:
    """``special.<name>`` as a primitive; ``user`` if code may call it (else derivative code only)."""
    prim = Primitive(
        f"scipy.special.{name}",
        obj,
        "call",
        name,
        PREC_ATOM,
        foldable=False,
        module=special.__name__,
    )
    PRIMITIVES[prim.name] = prim
    if user:
        ARRAY_FUNCTIONS[id(obj)] = ArrayOp(prim, **spec)
        _KEEP_ALIVE.append(obj)


def _sp(name: str, *args) -> Expr:
    return build(PRIMITIVES[f"scipy.special.{name}"], tuple(const(a) for a in args))


def _softmax(a, out, params):
    """``exp(a - logsumexp(a))``, and how to give the result's values back their reduced axes."""
    axis, keepdims = params.get("axis"), params.get("keepdims", False)

    def lifted(value):
        return value if axis is None or keepdims else np_call("expand_dims", value, axis=axis)

    return np_call("exp", a - lifted(out)), lifted


def _logsumexp(a, out, params, kinds):
    weights, lifted = _softmax(a, out, params)
    return Linear(
        lambda dots: np_call("sum", weights * dots[0], **params), (lambda g: lifted(g) * weights,)
    )


def _batched_logsumexp(a, out, params, kinds):
    weights, _ = _softmax(a, out, params)
    batched = {**params, "axis": _shifted_axes(a, params, kinds)}
    return lambda dots: np_call("sum", weights * dots[0], **batched)


def register() -> None:
    """Register the rules, once, if SciPy is imported (SciPy is optional: without it there is
    nothing to register)."""
    if _registered or "scipy" not in sys.modules:
        return
    try:
        import scipy.special as special
    except ImportError:
        return
    _registered.append(special)
    MODULE_ALIASES[special.__name__] = "special"  # printed special.expit(x), as users write it
    for _name in ("expit", "logit", "log1p", "erf", "gammaln", "digamma"):
        _register(special, _name, getattr(special, _name))
    for _name in ("xlogy", "xlog1py"):
        _register(special, _name, getattr(special, _name), operands=(2, 2))
    _register(special, "zeta", special.zeta, user=False)
    _register(special, "logsumexp", special.logsumexp, statics=("axis",), keywords=("keepdims",))

    rule("scipy.special.expit")(lambda x, out: out * (1 - out))
    rule("scipy.special.logit")(lambda x, out: 1 / (x * (1 - x)))
    rule("scipy.special.log1p")(lambda x, out: 1 / (1 + x))
    rule("scipy.special.erf")(lambda x, out: 2 / math.sqrt(math.pi) * np_call("exp", -(x**2)))
    rule("scipy.special.gammaln")(lambda x, out: _sp("digamma", x))
    rule("scipy.special.digamma")(lambda x, out: _sp("zeta", 2, x))
    rule("scipy.special.zeta")(lambda s, x, out: (0, -s * _sp("zeta", s + 1, x)))
    rule("scipy.special.xlogy")(lambda x, y, out: (np_call("log", y), x / y))
    rule("scipy.special.xlog1py")(lambda x, y, out: (np_call("log1p", y), x / (1 + y)))

    STRUCTURAL["scipy.special.logsumexp"] = _logsumexp
    VECTOR_RULES["scipy.special.logsumexp"] = _batched_logsumexp
