"""Complex values are refused: s2sad differentiates real-valued functions of real inputs.

Its rules are the derivatives of real functions (``abs'(x) = sign(x)``, ``max`` routes by ``>=``), and
a complex value passing through them gives numbers that look like derivatives and are not: the
tangent of ``np.abs`` at ``3+4j`` would come out as ``0.6+0.8j``, a gradient cast back to a real
array would drop its imaginary part. So complex numbers and arrays are refused where they enter: as
arguments, directions and cotangents (:class:`~s2sad.errors.ArgumentError`, from
:class:`~s2sad.trees.Layout` and the pullback), and as constants in the function
(``x * (1 + 2j)``, a complex global, ``dtype=complex``; refused at their line while lowering).

>>> import numpy as np
>>> is_complex(1 + 2j), is_complex(np.ones(2, dtype=complex)), is_complex(complex), is_complex(2.0)
(True, True, True, False)
>>> describe(np.zeros(3, dtype=np.complex64))
'an array of complex64'
"""

from __future__ import annotations

import numpy as np

from .errors import ArgumentError

HINT = (
    "s2sad differentiates real-valued functions of real inputs: split a complex value into its "
    "real and imaginary parts (`z.real`, `z.imag`), pass them as two real inputs, and write the "
    "complex arithmetic out in them (|z| is np.hypot(x, y))"
)


def is_complex(value) -> bool:
    """Whether ``value`` is a complex number, a complex array, or a complex type or dtype (also
    named: ``"complex64"``)."""
    if isinstance(value, (complex, np.complexfloating)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "c"
    if isinstance(value, type):
        return issubclass(value, (complex, np.complexfloating))
    if isinstance(value, np.dtype):
        return value.kind == "c"
    if isinstance(value, str) and value.startswith("complex"):
        try:
            return np.dtype(value).kind == "c"
        except TypeError:  # text that is no dtype
            return False
    return False


def describe(value) -> str:
    """``a complex number, (1+2j)`` or ``an array of complex128``, for messages."""
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype.name}"
    if isinstance(value, (type, np.dtype, str)):
        return "a complex dtype"
    return f"a complex number, {value!r}"


def require_real(value, what: str) -> None:
    """Refuse a complex ``value``; ``what`` names it as the caller wrote it (```z```, ```p["W"]```)."""
    if is_complex(value):
        raise ArgumentError(f"{what} is {describe(value)}", hint=HINT)
