"""What the entry points share: reading ``wrt``, unwrapping methods, shaping results, and reporting
errors from the caller's line."""

from __future__ import annotations

import functools
import inspect
import types

from .dispatch import flattened, like, trace_name
from .errors import ArgumentError, NonScalarOutputError, StructureNeededError
from .ir import Function
from .traversal import several
from .pipeline import compiled, Spec
from .traces import trace_of
from .trees import Layout, describe_output, flatten, tree_of, unflatten


def unwrap(fn):
    """The plain function behind ``fn`` and the object a bound method carries (or ``None``)."""
    if inspect.ismethod(fn):
        return fn.__func__, fn.__self__
    if isinstance(fn, functools.partial):
        raise ArgumentError(
            "functools.partial objects are not supported; differentiate the function itself"
        )
    return fn, None


def bind(generated, owner):
    return generated if owner is None else types.MethodType(generated, owner)


def header(fn) -> Function:
    """``fn``'s trace, or, if its parameters are used as structures (so its trace depends on the
    arguments it will get), a function with its name and parameters and no body yet."""
    try:
        return trace_of(fn)
    except StructureNeededError:
        return Function(trace_name(fn), tuple(inspect.signature(fn).parameters), [])


def example_layout(fn, owner, args) -> Layout:
    """How example arguments (``args=`` of the source functions) lay out, once checked."""
    if not isinstance(args, (tuple, list)):
        raise ArgumentError(f"args={args!r}: give the example arguments as a tuple")
    params = header(fn).params
    prefix = (owner,) if owner is not None else ()
    if len(prefix) + len(args) != len(params):
        raise ArgumentError(
            f"`{trace_name(fn)}` takes {len(params) - len(prefix)} argument(s); args has {len(args)}"
        )
    return Layout(params, prefix + tuple(args), len(prefix))


def source_for(fn, owner, spec: Spec, args) -> str:
    """The source of ``spec``, or, given example arguments, of its code compiled for them."""
    if args is None:
        return compiled(fn, spec).source
    example_layout(fn, owner, args)  # checks them
    prefix = (owner,) if owner is not None else ()
    (generated, *_), _ = flattened(fn, spec, header(fn).params, prefix + tuple(args), len(prefix))
    return generated.source


def differentiable_params(trace: Function) -> tuple:
    """The parameters that can be differentiated: all but a method's ``self`` or ``cls``."""
    params = trace.params
    return params[1:] if params and params[0] in ("self", "cls") else params


def wrt_names(trace: Function, wrt) -> tuple:
    """``(names, single)``: the parameters ``wrt`` selects, and whether it named just one."""
    inputs = differentiable_params(trace)
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


def shaped_like(tangent, value):
    """A tangent with its value's structure, arrays shaped like their values."""
    tree = tree_of(value)
    if tree is None:
        return like(tangent, value)
    pairs = zip(flatten(tangent, tree), flatten(value, tree))
    return unflatten(tree, [like(t, v) for t, v in pairs])
