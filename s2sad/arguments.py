"""What the entry points share: reading ``wrt``, unwrapping methods, shaping results, and reporting
errors from the caller's line.

A function is a method when it is reached as one: a bound method (``s2sad.grad(model.loss)``), or a
function defined in a class body whose derivative is looked up on an instance (``@s2sad.grad`` on
``def loss(self, w)``, then ``model.loss(w)``). Its first parameter is then the instance, and
positions in ``wrt`` count the parameters after it. Whatever the first parameter is called, a
function reached as a plain function has no instance: ``def f(self, y)`` is differentiated with
respect to ``self`` at position 0.
"""

from __future__ import annotations

import inspect
import types
from dataclasses import replace

import numpy as np

from .activity import active_names
from .callables import calls_own_methods, plain_function
from .calling import completed
from .dispatch import flattened, laid_out, like, trace_name
from .errors import (
    ArgumentError,
    NonScalarOutputError,
    NotDifferentiableError,
    StructureNeededError,
    S2SADError,
    located,
)
from .ir import Assign, Call, Const, Function, Var
from .traversal import leaves, several
from .pipeline import compiled, Spec
from .traces import trace_of
from .trees import Layout, describe_output, flatten, tree_of, unflatten


class AsMethod:
    """A function defined in a class body, differentiated as the method it is once looked up on an
    instance: its first parameter is the instance, which Python passes to the derivative."""

    def __init__(self, function):
        self.function = function


def is_method(fn) -> bool:
    """Whether ``fn`` (as handed to an entry point) is reached as a method (see the module doc)."""
    return inspect.ismethod(fn) and not calls_own_methods(fn) or isinstance(fn, AsMethod)


def unwrap(fn):
    """The plain function behind ``fn`` and the object a bound method carries (or ``None``)."""
    if isinstance(fn, AsMethod):
        return fn.function, None
    if inspect.ismethod(fn) and not calls_own_methods(fn):
        return fn.__func__, fn.__self__
    plain = plain_function(fn)  # a partial, a callable object, a method calling self.inner
    return (plain, None) if plain is not None else (fn, None)


def bind(generated, owner):
    return generated if owner is None else types.MethodType(generated, owner)


def derivative_of(fn, build):
    """What an entry point returning a function returns: ``build(fn)``, or, for a function defined
    in a class body, a :class:`MethodDerivative` that builds the derivative as it is reached."""
    if isinstance(fn, types.FunctionType) and _in_class_body(fn):
        header(fn)  # what is wrong with the function itself is reported now, as for any other
        return MethodDerivative(fn, build)
    return build(fn)


def _in_class_body(fn) -> bool:
    """``Model.loss``, not ``loss`` nor ``outer.<locals>.loss``: defined in a class body."""
    scopes = fn.__qualname__.split(".")
    return len(scopes) > 1 and scopes[-2] != "<locals>"


class MethodDerivative:
    """The derivative of a function defined in a class body (``@s2sad.grad`` on ``def loss(self,
    w)``). Looked up on an instance, it is the derivative of the method bound to it, with respect to
    the arguments after ``self``; reached otherwise (through the class, or as a static method), the
    derivative of the plain function. Each is built the first time it is needed, once."""

    def __init__(self, fn, build):
        self._fn, self._build = fn, build
        self._made: dict = {}
        self.__wrapped__ = fn
        self.__doc__ = fn.__doc__

    def _derivative(self, as_method: bool):
        if as_method not in self._made:
            try:
                self._made[as_method] = self._build(AsMethod(self._fn) if as_method else self._fn)
            except S2SADError as err:  # reported from the caller's line
                raise located(err) from None
        return self._made[as_method]

    def __call__(self, *args, **keywords):
        return self._derivative(False)(*args, **keywords)

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        method = types.MethodType(self._fn, instance)
        if calls_own_methods(method):  # self.inner(x): the derivative for this instance's class
            try:
                return self._build(method)
            except S2SADError as err:  # reported from the caller's line
                err.__traceback__ = None
                raise err from None
        return types.MethodType(self._derivative(True), instance)

    def __getattr__(self, name: str):  # .source, __name__: those of the method's derivative
        own = name in ("_fn", "_build", "_made")  # not set yet: a copy being made, say
        if own or name.startswith("__") and name not in ("__name__", "__qualname__"):
            raise AttributeError(name)
        return getattr(self._derivative(True), name)


def header(fn) -> Function:
    """``fn``'s trace, or, if its parameters are used as structures (so its trace depends on the
    arguments it will get), a function with its name and parameters and no body yet."""
    try:
        return trace_of(fn)
    except StructureNeededError:
        return Function(trace_name(fn), tuple(inspect.signature(fn).parameters), [])


def example_arguments(fn, owner, args) -> tuple:
    """Example arguments (``args=`` of the source functions), checked, and with the parameters
    they leave out given their defaults."""
    if not isinstance(args, (tuple, list)):
        raise ArgumentError(f"args={args!r}: give the example arguments as a tuple")
    prefix = (owner,) if owner is not None else ()
    return prefix + completed(fn, tuple(args), prefix=prefix)


def example_layout(fn, owner, args) -> Layout:
    """How example arguments lay out (see :func:`example_arguments`)."""
    skip = 1 if owner is not None else 0
    return Layout(header(fn).params, example_arguments(fn, owner, args), skip)


def source_for(fn, owner, spec: Spec, args) -> str:
    """The source of ``spec``: the code that serves every kind of argument (see
    :mod:`s2sad.programs`), or, given example arguments, its code compiled for them."""
    if args is None:
        return compiled(fn, replace(spec, portable=True)).source
    args = example_arguments(fn, owner, args)
    prefix = (owner,) if owner is not None else ()
    (generated, *_), _ = flattened(fn, spec, header(fn).params, args, len(prefix))
    return generated.source


def differentiable_params(trace: Function, method: bool) -> tuple:
    """The parameters that can be differentiated: all but a method's instance (``self``, or
    ``cls`` for a class method), whatever it is called."""
    return trace.params[1:] if method else trace.params


def wrt_names(trace: Function, wrt, method: bool) -> tuple:
    """``(names, single)``: the parameters ``wrt`` selects, and whether it named just one; positions
    count after the instance of a ``method``."""
    inputs = differentiable_params(trace, method)
    known = f"`{trace.name}` has {len(inputs)} parameter(s) to differentiate: {', '.join(inputs) or 'none'}"
    if not inputs:
        raise ArgumentError(f"nothing to differentiate: {known}")
    if wrt is None:
        return inputs, len(inputs) == 1
    single = not isinstance(wrt, (tuple, list))
    names = []
    for item in [wrt] if single else wrt:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise ArgumentError(
                f"wrt={item!r}: give a parameter's position (an int) or its name; {known}"
            )
        if isinstance(item, int):
            if not -len(inputs) <= item < len(inputs):
                raise ArgumentError(f"wrt={item} is out of range; {known}")
            item = inputs[item]
        elif item not in inputs:
            raise ArgumentError(f"wrt={item!r} names no parameter; {known}")
        if item in names:
            raise ArgumentError(f"wrt names `{item}` twice; {known}")
        names.append(item)
    if not names:
        raise ArgumentError(f"wrt is empty: name at least one parameter; {known}")
    return tuple(names), single


def require_scalar(trace: Function, api: str) -> None:
    if not trace.body:
        return  # a header: checked when the code is compiled for the arguments
    ret = trace.body[-1]
    if several(ret.value):
        raise NonScalarOutputError(
            f"{api} needs a function that returns one number, but `{trace.name}` returns "
            f"{describe_output(ret.value)}",
            ret.loc,
            "use s2sad.jacobian or s2sad.vjp for several outputs",
        )
    if getattr(ret.value, "value", 0) is None:
        raise NonScalarOutputError(
            f"{api} needs a function that returns a number, but `{trace.name}` returns None",
            ret.loc,
            "add a `return` statement",
        )
    if _is_text(ret.value, _texts(trace.body)):
        raise NonScalarOutputError(
            f"{api} needs a function that returns a number, but `{trace.name}` returns a str",
            ret.loc,
            "return the number the text is made from, and format it outside the function",
        )


def _texts(body: list) -> set:
    """The names the statements of ``body`` bind to text: ``str(x)``, ``repr(x)``, an f-string,
    and sums and copies of those (the loops and branches of the body are not followed)."""
    texts: set = set()
    for stmt in body:
        if not isinstance(stmt, Assign):
            continue
        value = stmt.value
        made = isinstance(value, Call) and (
            value.prim.name == "format"
            or value.prim.impl in (str, repr, format)
            or value.prim.name in ("add", "mul")
            and any(_is_text(a, texts) for a in value.args)
        )
        if made or _is_text(value, texts):
            texts.add(stmt.target.name)
    return texts


def _is_text(value, texts: set) -> bool:
    if isinstance(value, Var):
        return value.name in texts
    return isinstance(value, Const) and isinstance(value.value, str)


def shaped_like(tangent, value):
    """A tangent with its value's structure, arrays shaped like their values."""
    tree = tree_of(value)
    if tree is None:
        return like(tangent, value)
    pairs = zip(flatten(tangent, tree), flatten(value, tree))
    return unflatten(tree, [like(t, v) for t, v in pairs])


def integer_params(fn, owner, args: tuple, names: tuple) -> tuple:
    """Those of the parameters ``names`` that are *integer parameters* at ``args`` (``args``
    complete, after the instance of a method): their argument is an integer (a Python or NumPy
    integer, or an array of integers) and the parameter is annotated ``int``, or the function uses
    it only where no derivative flows (a ``range`` count, an index, a shape, a comparison).

    Entry points that differentiate with respect to the inputs given by default (``check_grad``,
    ``explain``, the command line) hold these constant unless they are asked for: a loop count
    stepped by a fraction is not a loop count. An integer the result does depend on through
    arithmetic (``x ** n``) is an input like any other."""
    annotations = getattr(fn, "__annotations__", {})
    prefix = (owner,) if owner is not None else ()
    candidates = [
        name for name in names if _is_integer(args[header(fn).params.index(name) - len(prefix)])
    ]
    if not candidates:
        return ()
    _, _, trace = laid_out(fn, header(fn).params, prefix + tuple(args), len(prefix))
    found = []
    for name in candidates:
        if annotations.get(name) in (int, "int") or not _reaches_output(trace, name):
            found.append(name)
    return tuple(found)


def _is_integer(value) -> bool:
    if isinstance(value, (bool, int, np.integer)):
        return True
    return isinstance(value, np.ndarray) and value.dtype.kind in "biu"


def _reaches_output(trace: Function, name: str) -> bool:
    """Whether the result of ``trace`` depends on the parameter ``name`` through a derivative."""
    try:
        active = active_names(trace, (name,))
    except NotDifferentiableError:  # it flows into an integer's place (np.arange's start, say)
        return False
    return any(
        isinstance(leaf, Var) and leaf.name in active for leaf in leaves(trace.body[-1].value)
    )


def chosen_wrt(wrt, argnums, default=0):
    """``wrt``, or ``argnums``, its name in JAX; ``default`` when neither is given."""
    if wrt is not None and argnums is not None:
        raise ArgumentError(
            f"wrt={wrt!r} and argnums={argnums!r}: argnums is another name for wrt",
            hint="give one of them",
        )
    chosen = argnums if argnums is not None else wrt
    return default if chosen is None else chosen
