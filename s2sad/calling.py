"""Arguments as generated code takes them: every parameter by position, defaults filled in.

The functions s2sad returns take what the differentiated function takes: arguments by position or by
name, and parameters left out take their default values, read when the call is made (so they agree
with calling the function now). Generated code, compiled for the kinds of all its arguments, is
always called with every one of them.

>>> def rhs(t, x, k=2.0):
...     return -k * x * t
>>> completed(rhs, (1.0, 3.0))
(1.0, 3.0, 2.0)
>>> completed(rhs, (1.0,), {"x": 3.0, "k": 5.0})
(1.0, 3.0, 5.0)
"""

from __future__ import annotations

import inspect
import types

from .errors import ArgumentError


def completed(
    fn: types.FunctionType, args: tuple, keywords=None, prefix: tuple = (), hint: str = ""
) -> tuple:
    """``args`` with the ``keywords`` put in their places and each parameter left out given its
    default; ``prefix`` (a method's ``self``) comes before ``args`` and is not returned. Arguments
    that do not fit raise :class:`~s2sad.errors.ArgumentError` (with ``hint``)."""
    count = fn.__code__.co_argcount
    given = len(prefix) + len(args)
    if not keywords and given == count:
        return args
    defaults = fn.__defaults__ or ()
    if not keywords and count - len(defaults) <= given < count:
        return args + defaults[given - count :]
    try:
        bound = inspect.signature(fn, follow_wrapped=False).bind(*prefix, *args, **(keywords or {}))
    except TypeError as err:
        name = fn.__name__ if fn.__name__.isidentifier() else "lambda_fn"
        raise ArgumentError(f"`{name}`: {err}", hint=hint) from None
    bound.apply_defaults()
    return bound.args[len(prefix) :]
