"""Arguments as generated code takes them: every parameter by position, defaults filled in.

The functions s2sad returns take what the differentiated function takes: arguments by position or by
name, and parameters left out take their default values, read when the call is made (so they agree
with calling the function now). Generated code, compiled for the kinds of all its arguments, is
always called with every one of them, one per parameter: a keyword-only parameter in its place,
``*args`` as the tuple of the arguments it collects and ``**kwargs`` as the dict of them. So ``wrt``
names ``args`` (or gives its position among the parameters) to differentiate with respect to every
value passed for ``*args``, and gets their gradients as a tuple, as JAX treats a tuple argument.

>>> def rhs(t, x, k=2.0):
...     return -k * x * t
>>> completed(rhs, (1.0, 3.0))
(1.0, 3.0, 2.0)
>>> completed(rhs, (1.0,), {"x": 3.0, "k": 5.0})
(1.0, 3.0, 5.0)
>>> def logpdf(x, *args, scale=1.0, **kwds):
...     return x
>>> completed(logpdf, (1.0, 2.0, 3.0), {"loc": 0.5})
(1.0, (2.0, 3.0), 1.0, {'loc': 0.5})
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
    code = fn.__code__
    count = code.co_argcount
    given = len(prefix) + len(args)
    if not positional_only(fn):
        return _by_parameter(fn, args, keywords, prefix, hint)
    if not keywords and given == count:
        return args
    defaults = fn.__defaults__ or ()
    if not keywords and count - len(defaults) <= given < count:
        return args + defaults[given - count :]
    return _bound(fn, args, keywords, prefix, hint).args[len(prefix) :]


def parameter_names(code: types.CodeType) -> tuple:
    """Every parameter of the function compiled to ``code``, as :func:`inspect.signature` orders
    them (``*args`` and ``**kwargs`` by their names)."""
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    names = code.co_varnames[:count]
    if code.co_flags & inspect.CO_VARARGS:  # the code lists `*args` after the keyword-only ones
        star = names[code.co_argcount + code.co_kwonlyargcount]
        names = (
            names[: code.co_argcount]
            + (star,)
            + tuple(n for n in names[code.co_argcount :] if n != star)
        )
    return names


_EXTRA = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS


def positional_only(fn: types.FunctionType) -> bool:
    """Whether every parameter of ``fn`` is positional: no ``*args``, keyword-only nor ``**``."""
    code = fn.__code__
    return not (code.co_flags & _EXTRA or code.co_kwonlyargcount)


def _by_parameter(fn, args: tuple, keywords, prefix: tuple, hint: str) -> tuple:
    """One value per parameter of ``fn`` (see the module doc), those of ``prefix`` left out."""
    bound = _bound(fn, args, keywords, prefix, hint)
    values = []
    for name, param in bound.signature.parameters.items():
        value = bound.arguments[name]
        values.append(dict(value) if param.kind is param.VAR_KEYWORD else value)
    return tuple(values[len(prefix) :])


def as_call(fn: types.FunctionType, values: tuple, prefix: tuple = ()) -> tuple:
    """``(args, keywords)`` that call ``fn`` (after ``prefix``) with ``values``, one per
    parameter as :func:`completed` gives them: its inverse.

    >>> def logpdf(x, *args, scale=1.0, **kwds):
    ...     return x
    >>> as_call(logpdf, (1.0, (2.0, 3.0), 1.0, {"loc": 0.5}))
    ((1.0, 2.0, 3.0), {'scale': 1.0, 'loc': 0.5})
    """
    if positional_only(fn):
        return tuple(values), {}
    args, keywords = [], {}
    params = list(inspect.signature(fn, follow_wrapped=False).parameters.values())[len(prefix) :]
    for param, value in zip(params, values):
        if param.kind is param.VAR_POSITIONAL:
            args.extend(value)
        elif param.kind is param.VAR_KEYWORD:
            keywords.update(value)
        elif param.kind is param.KEYWORD_ONLY:
            keywords[param.name] = value
        else:
            args.append(value)
    return tuple(args), keywords


def given_positionally(fn: types.FunctionType, args: tuple, prefix: tuple = ()) -> tuple:
    """``(names, values)``: the parameters (after ``prefix``) that positional ``args`` fill, and
    their values, ``*args`` as the tuple of those it collects; no defaults filled in."""
    names = parameter_names(fn.__code__)[len(prefix) :]
    count = fn.__code__.co_argcount - len(prefix)
    taken, values = names[: min(count, len(args))], list(args[:count])
    if len(args) > count and fn.__code__.co_flags & inspect.CO_VARARGS:
        taken += (names[count],)
        values.append(tuple(args[count:]))
    elif len(args) > count:
        raise ArgumentError(
            f"`{fn.__name__}` takes {count} positional argument(s), got {len(args)}"
        )
    return taken, tuple(values)


def _bound(fn, args: tuple, keywords, prefix: tuple, hint: str) -> inspect.BoundArguments:
    try:
        bound = inspect.signature(fn, follow_wrapped=False).bind(*prefix, *args, **(keywords or {}))
    except TypeError as err:
        name = fn.__name__ if fn.__name__.isidentifier() else "lambda_fn"
        raise ArgumentError(f"`{name}`: {err}", hint=hint) from None
    bound.apply_defaults()
    return bound
