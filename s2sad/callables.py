"""Callables that are not plain functions: bound methods, ``functools.partial`` objects, instances
of classes with ``__call__``, and functions passed as arguments.

Each is a Python function with some of its arguments fixed: a bound method its instance, a partial
its frozen arguments, a callable object itself as the ``self`` of ``__call__``. Lowering a call of
one inlines that function with those arguments bound first, so ``self.inner(x)``, ``model(x)`` and
``partial(loss, data)(w)`` are differentiated like the code they run. An instance is bound into the
generated code as the object it is, and its attributes are read when the code runs, as the method
reads them.

>>> import functools, s2sad
>>> def power(x, n, scale=1.0):
...     return scale * x**n
>>> cube = functools.partial(power, n=3, scale=2.0)
>>> s2sad.grad(cube)(2.0)  # 6 x**2
24.0
"""

from __future__ import annotations

import functools
import inspect
import linecache
import types
from dataclasses import dataclass, field

_WRAPPER = """def {name}({signature}):
    return _s2sad_callable({arguments})
"""


@dataclass(frozen=True, eq=False)
class BoundCall:
    """A Python function to inline, with arguments given before the call's own (``leading``) and
    keyword arguments the call may override (``keywords``), both objects."""

    function: types.FunctionType
    leading: tuple = ()
    keywords: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.function.__name__


def bound_call(obj) -> BoundCall | None:
    """What calling ``obj`` runs, if it is a bound method, a partial or a callable instance of a
    class defined in Python; ``None`` otherwise."""
    if isinstance(obj, types.MethodType) and isinstance(obj.__func__, types.FunctionType):
        return BoundCall(obj.__func__, (obj.__self__,))
    if isinstance(obj, functools.partial):
        inner = obj.func if isinstance(obj.func, types.FunctionType) else bound_call(obj.func)
        if inner is None and callable(obj.func):  # partial(np.sum, axis=0), partial(math.pow, 2)
            inner = forwarding(obj.func, bool(obj.keywords))
        if inner is None:
            return None
        if isinstance(inner, types.FunctionType):
            return BoundCall(inner, tuple(obj.args), dict(obj.keywords))
        keywords = {**inner.keywords, **obj.keywords}
        return BoundCall(inner.function, inner.leading + tuple(obj.args), keywords)
    call = _python_call_method(obj)
    if call is not None:
        return BoundCall(call, (obj,))
    return None


_FORWARDING: dict = (
    {}
)  # id of a function that is not Python's -> (it, a Python function calling it)


def forwarding(func, keywords: bool) -> types.FunctionType:
    """A Python function that calls ``func`` (a NumPy or math function, a builtin) with the
    arguments it is given (and, with ``keywords``, keyword arguments too): what a partial of
    ``func`` runs, inlined like a partial of a Python function, so that the call of ``func`` in it
    is lowered as any call of it is. Its source is in ``linecache``, where s2sad reads sources."""
    held = _FORWARDING.get((id(func), keywords))
    if held is not None and held[0] is func:
        return held[1]
    name = getattr(func, "__name__", "function")
    filename = f"<s2sad: a partial of {name}>"
    extra = ", **kwargs" if keywords else ""
    source = f"def forwarded(*args{extra}):\n    return func(*args{extra})\n"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace = {"func": func}
    exec(compile(source, filename, "exec"), namespace)
    _FORWARDING[(id(func), keywords)] = (func, namespace["forwarded"])
    return namespace["forwarded"]


def method_of(obj, name: str):
    """The Python function ``obj.name`` runs as a method (looked up on its class, as Python
    does), or ``None`` if that is not one (a module's or instance's own attribute, a builtin)."""
    if isinstance(obj, (types.ModuleType, type)) or name in getattr(obj, "__dict__", {}):
        return None
    found = inspect.getattr_static(type(obj), name, None)
    return found if isinstance(found, types.FunctionType) else None


def is_callable_object(obj) -> bool:
    """Whether ``obj`` is an instance of a Python class with ``__call__``: a value (whose
    attributes code reads) that can also be called."""
    return _python_call_method(obj) is not None


def _python_call_method(obj):
    if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
        return None
    call = inspect.getattr_static(type(obj), "__call__", None)
    return call if isinstance(call, types.FunctionType) else None


def calls_own_methods(method) -> bool:
    """Whether ``method``, a bound method, may call other methods of its instance
    (``self.inner(x)``): it names one of them. Such a method is differentiated for its instance,
    whose class tells which functions those calls run."""
    if not isinstance(method, types.MethodType):
        return False
    names = getattr(method.__func__, "__code__", None)
    names = names.co_names if names is not None else ()
    return any(method_of(method.__self__, name) is not None for name in names)


def plain_function(obj):
    """``obj`` as a Python function s2sad can read (itself, if it is one): for a partial, a
    callable object or a method calling other methods of its instance, a function with the
    parameters it takes, defined in source that calls it, so that lowering inlines the function it
    runs. ``None`` for anything else."""
    if isinstance(obj, types.FunctionType):
        return obj
    if bound_call(obj) is None or isinstance(obj, types.MethodType) and not calls_own_methods(obj):
        return None
    # A bound method is made anew at each `model.loss`: it is known by its instance and function.
    holder, key = (
        (obj.__self__, (id(obj.__self__), obj.__func__))
        if isinstance(obj, types.MethodType)
        else (obj, id(obj))
    )
    made = _wrappers.get(key)
    if made is not None and made[0] is holder:
        return made[1]
    wrapper = _wrapper(obj)
    _wrappers[key] = (holder, wrapper)
    return wrapper


_wrappers: dict = {}  # key of a callable -> (what it holds, its wrapper), kept alive with it


def _wrapper(obj) -> types.FunctionType:
    import linecache

    signature = inspect.signature(obj)
    name = _name(obj)
    params, arguments, defaults, kwdefaults = [], [], [], {}
    star = False
    for param in signature.parameters.values():
        if param.kind is param.VAR_POSITIONAL:
            params.append(f"*{param.name}")
            arguments.append(f"*{param.name}")
            star = True
            continue
        if param.kind is param.VAR_KEYWORD:
            params.append(f"**{param.name}")
            arguments.append(f"**{param.name}")
            continue
        if param.kind is param.KEYWORD_ONLY and not star:
            params.append("*")
            star = True
        params.append(param.name)
        if param.kind is param.POSITIONAL_ONLY:
            arguments.append(param.name)
        elif param.kind is param.KEYWORD_ONLY:
            arguments.append(f"{param.name}={param.name}")
        else:
            arguments.append(param.name)
        if param.default is not param.empty:
            if param.kind is param.KEYWORD_ONLY:
                kwdefaults[param.name] = param.default
            else:
                defaults.append(param.default)
    if any(p.kind is p.POSITIONAL_ONLY for p in signature.parameters.values()):
        last = max(
            i for i, p in enumerate(signature.parameters.values()) if p.kind is p.POSITIONAL_ONLY
        )
        params.insert(last + 1, "/")
    text = _WRAPPER.format(name=name, signature=", ".join(params), arguments=", ".join(arguments))
    filename = f"<s2sad: {name} calls {type(obj).__name__} {id(obj):x}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    namespace = {"_s2sad_callable": obj}
    exec(compile(text, filename, "exec"), namespace)
    wrapper = namespace[name]
    wrapper.__defaults__ = tuple(defaults) or None
    wrapper.__kwdefaults__ = kwdefaults or None
    wrapper.__wrapped__ = obj
    return wrapper


def _name(obj) -> str:
    inner = obj
    while isinstance(inner, functools.partial):
        inner = inner.func
    name = getattr(inner, "__name__", type(inner).__name__)
    return name if name.isidentifier() else "callable_fn"
