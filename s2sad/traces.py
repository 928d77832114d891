"""The SSA trace of a Python function, lowered once per definition and kept while what it was built
from is current (see :mod:`s2sad.provenance`): rebinding a function it inlined, or a value it bound,
lowers it again.

>>> import math
>>> def f(x1, x2):
...     return x1 * x2 + math.sin(x1)
>>> trace_of(f) is trace_of(f)
True
"""

from __future__ import annotations

import types

from .errors import SourceNotFoundError, StructureNeededError
from .execute import is_generated
from .frontend import require_function
from . import special_rules
from .ir import Function
from .provenance import current

_traces: dict = {}  # (code, file, structures) -> the traces lowered, newest first

# Lowerings refused for want of the arguments' structures, by known_key.
_needs_structure: dict = {}


def known_key(fn: types.FunctionType, structures) -> tuple:
    """The function's definition and structures, and what the globals its code names are now."""
    names = fn.__code__.co_names
    return (fn.__code__, fn.__code__.co_filename, structures) + tuple(
        id(fn.__globals__.get(name)) for name in names
    )


# The attribute a function s2sad returns carries to say what it is the derivative of (see higher).
DERIVATIVE = "_s2sad_derivative"


def trace_of(fn: types.FunctionType, structures=None) -> Function:
    """The SSA trace of ``fn``, lowered once per definition and structure of its arguments:
    ``structures`` pairs each structured parameter with its :class:`~s2sad.trees.Tree` (``()``:
    none is structured; ``None``: not known, and a parameter used as a structure is an error)."""
    require_function(fn)
    if is_generated(fn) or hasattr(fn, DERIVATIVE):
        raise SourceNotFoundError(
            f"`{fn.__name__}` is a derivative s2sad generated; of derivatives, s2sad differentiates "
            "only the gradient of a function returning one number, with grad or value_and_grad",
            hint="differentiate the original function: s2sad.hessian and s2sad.hvp give its "
            "second derivatives",
        )
    # Code objects compare equal across files; the file matters for the comments and error messages.
    known = _traces.setdefault((fn.__code__, fn.__code__.co_filename, structures), [])
    refused = _needs_structure.get(known_key(fn, structures))
    if refused is not None:
        raise refused.with_traceback(None)
    for trace in known:
        if current(trace.reads, fn):
            return trace
    from .lower import lower  # with libcst, imported when a first function is lowered

    special_rules.register()  # SciPy's rules, once the process has imported SciPy
    try:
        trace = lower(fn, structures)
    except StructureNeededError as err:
        # Callers ask first without structures, then with the arguments' (dispatch, export): the
        # failed lowering is kept for the first question, until a global the code names changes.
        _needs_structure[known_key(fn, structures)] = err
        raise
    known.insert(0, trace)
    return trace
