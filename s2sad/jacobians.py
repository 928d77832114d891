"""Jacobian-vector and vector-Jacobian products, and whole Jacobians in either mode."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .calling import completed, given_positionally, positional_only
from .arguments import (
    bind,
    chosen_wrt,
    derivative_of,
    differentiable_params,
    header,
    is_method,
    shaped_like,
    unwrap,
    wrt_names,
)
from .dispatch import flattened, functions, laid_out, like, require_floats, specialised
from .errors import ArgumentError, NoDerivativeHereError, NonScalarOutputError, user_facing
from .custom import missing_rules
from .traversal import leaves, several, walk
from .lazy_arrays import size_of
from .jacobian_sweeps import arranged, directionwise_blocks, forward_blocks, reverse_blocks
from .pipeline import compiled, Spec
from .provenance import current
from .programs import kinds_of, uses_arrays
from .shapes import params_kinds, signature
from .trees import (
    Layout,
    cotangent_leaves,
    describe_output,
    flatten,
    leaf_paths,
    leaves_of,
    tree_of,
    unflatten,
)
from .vector_mode import NotVectorizableError


@user_facing
def jvp(fn, primals, tangents):
    """``(fn(*primals), J·tangents)``: the value and the directional derivative, in one forward sweep.

    ``primals`` and ``tangents`` give one value per parameter, as ``jax.jvp``; a tangent for a
    structured parameter (a dict of arrays, say) has the structure of its primal. Parameters with
    defaults may be left out at the end of ``primals``, as in a call: they take their defaults and
    are held constant, so there is one tangent per primal given.

    >>> import s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2
    >>> s2sad.jvp(f, (2.0, 5.0), (1.0, 0.0))
    (10.0, 5.0)
    """
    plain, owner = unwrap(fn)
    trace = header(plain)
    inputs = differentiable_params(trace, is_method(fn))
    primals, tangents = tuple(primals), tuple(tangents)
    prefix = (owner,) if owner is not None else ()
    if not positional_only(plain):  # `*args`: the tangents of the values passed, as a tuple
        if len(tangents) != len(primals):
            raise ArgumentError(
                f"jvp: got {len(primals)} primal(s) and {len(tangents)} tangent(s) for "
                f"`{trace.name}`",
                hint="give one tangent per primal",
            )
        given, tangents = given_positionally(plain, tangents, prefix)
        primals = completed(plain, primals, prefix=prefix)
    else:
        required = len(inputs) - len(plain.__defaults__ or ())
        if not required <= len(primals) <= len(inputs) or len(tangents) != len(primals):
            raise ArgumentError(
                f"jvp: `{trace.name}` takes {len(inputs)} argument(s) ({', '.join(inputs)}), "
                f"{max(required, 0)} without a default; got {len(primals)} primal(s) and "
                f"{len(tangents)} tangent(s)",
                hint="give one tangent per primal",
            )
        given = inputs[: len(primals)]  # the others take their defaults, held constant
        primals = completed(plain, primals, prefix=prefix)
    (tangent_fn,), _ = flattened(
        plain, Spec("tangent", given), trace.params, prefix + primals, len(prefix)
    )
    args = prefix + primals + tuple(_floats(t) for t in tangents)
    layout = Layout(trace.params, args, len(prefix), given)  # tangents shaped like primals
    value, value_dot = bind(tangent_fn, owner)(*layout.flatten(args)[len(prefix) :])
    return value, shaped_like(value_dot, value)


@user_facing
def vjp(fn, *primals):
    """``(fn(*primals), pullback)``, as ``jax.vjp``: ``pullback(y_bar)`` returns one adjoint per
    primal given (parameters left out take their defaults, held constant).

    The forward sweep runs here, once; each ``pullback`` call runs only the reverse sweep.

    >>> import s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2
    >>> y, pullback = s2sad.vjp(f, 2.0, 5.0)
    >>> y, pullback(1.0)
    (10.0, (5.0, 2.0))
    """
    return split_vjp(fn, primals)


def split_vjp(fn, primals: tuple, keywords=None, inputs=None) -> tuple:
    """:func:`vjp` of ``fn`` called with ``primals`` and ``keywords``, its pullback returning the
    adjoints of the parameters ``inputs`` (by default, those ``primals`` give)."""
    plain, owner = unwrap(fn)
    trace = header(plain)
    prefix = (owner,) if owner is not None else ()
    if inputs is None:
        inputs, _ = given_positionally(plain, primals, prefix)  # the others take their defaults
    primals = completed(plain, primals, keywords, prefix=prefix)
    (forward, backward), layout = flattened(
        plain, Spec("split_vjp", inputs), trace.params, prefix + primals, len(prefix)
    )
    flat_primals = layout.flatten(prefix + primals)[len(prefix) :]
    value, residuals = bind(forward, owner)(*flat_primals)
    residuals = _owned(residuals, list(flat_primals) + leaves_of(value))
    tree = tree_of(value)
    leaf_values = dict(zip(layout.params[len(prefix) :], flat_primals))

    outputs = leaves_of(value)
    refuse_complex(outputs, trace.name)  # a cotangent of a complex value has two real parts

    def pullback(y_bar):
        given = cotangent_leaves(y_bar, tree, trace.name)
        seeds = [
            _seed(s, y, trace.name, path)
            for s, y, path in zip(given, outputs, leaf_paths("", tree))
        ]
        grads = backward(*residuals, *seeds)
        return layout.group(inputs, grads, lambda g, leaf: like(g, leaf_values[leaf], residuals))

    return value, user_facing(pullback)


def _seed(seed, output, name: str, path: str):
    """A cotangent leaf for the output leaf ``output``: a number for a number, an array of its
    shape (or a list that makes one) for an array; anything else is refused, saying what fits."""
    array = np.asarray(seed) if isinstance(seed, (list, tuple)) else seed
    kind = getattr(np.asarray(array), "dtype", None)
    where = f"the output{path} of `{name}`"
    if kind is None or kind.kind not in "biuf":
        raise ArgumentError(
            f"the cotangent for {where} is {type(seed).__name__} {seed!r}, not a number or an "
            "array of numbers",
            hint="pass the adjoint of the output: numbers shaped like it",
        )
    if np.shape(array) != np.shape(output):
        want = "a number" if np.ndim(output) == 0 else f"an array of shape {np.shape(output)}"
        got = "a number" if np.ndim(array) == 0 else f"an array of shape {np.shape(array)}"
        raise ArgumentError(
            f"the cotangent for {where} must be shaped like it, {want}; got {got}",
            hint="pass y_bar shaped like the value vjp returned (np.ones_like(y) for its sum)",
        )
    if isinstance(array, np.ndarray) and array.ndim == 0:
        return float(array)
    return _float(array)


def _floats(tangent):
    """``tangent`` with the integers among its leaves made floats, so that the derivatives it gives
    are floats, as they are along a float (``x * n`` at an integer ``n``)."""
    tree = tree_of(tangent)
    if tree is None:
        return _float(tangent)
    return unflatten(tree, [_float(leaf) for leaf in flatten(tangent, tree)])


def refuse_complex(values: list, name: str) -> None:
    """Refuse derivatives of a function whose value is complex at real arguments: a Jacobian of
    real numbers cannot hold it, and a cotangent of it would have two real parts."""
    if any(np.iscomplexobj(v) for v in values):
        raise NoDerivativeHereError(
            f"`{name}` computes a complex number here (a power of a negative number with a "
            "fractional exponent, x ** 0.5 at x < 0, is complex in Python); grad, vjp and "
            "jacobian differentiate functions with real values",
            hint="keep the base positive, or write math.sqrt(x) or abs(x) ** p; s2sad.jvp gives "
            "the derivative of the complex value along a real direction",
        )


def _number(block):
    """A block of a number by a number is a float, not an array with no axes."""
    return float(block) if isinstance(block, np.ndarray) and block.ndim == 0 else block


def _float(value):
    return float(value) if isinstance(value, (int, np.integer)) else value


def _owned(residuals: tuple, shared: list) -> tuple:
    """The residuals, each array among them that may share memory with an array of ``shared`` (the
    caller's arguments and the value returned to it) copied: a pullback keeps what it read, though
    the caller writes into its arrays later. (A gradient that is a residual is copied out too.)"""
    arrays = [a for a in shared if isinstance(a, np.ndarray)]

    def owned(r):
        if isinstance(r, np.ndarray) and any(np.may_share_memory(r, a) for a in arrays):
            return r.copy()
        if type(r) in (list, tuple):  # a loop's tape holds the values each iteration saved
            return type(r)(owned(item) for item in r)
        return r

    return tuple(owned(r) for r in residuals)


@user_facing
def jacobian(fn, wrt=None, mode: str = "auto", *, argnums=None):
    """A function computing the Jacobian of ``fn`` with respect to the inputs ``wrt`` (or
    ``argnums``, its name in JAX) selects, the first by default.

    ``mode="forward"`` runs one vector-mode tangent sweep, all input directions at once;
    ``"reverse"`` one forward sweep, then one reverse sweep per output element; ``"auto"`` takes
    forward when the inputs have fewer elements in all than the outputs, else reverse (seeds 002
    and 004), counted when called. The derivative of an output of shape ``o`` with respect to an
    input of shape ``i`` has shape ``o + i``; for several inputs (a tuple ``wrt``) each output gets
    a tuple, one per input; a tuple of outputs gives a tuple of those. A structured input (a dict of
    arrays, say) gets a structure like it holding, per leaf, the block for that leaf. Where every
    input and output is a number, the result is instead one matrix: rows are outputs, columns
    inputs, without the row axis for one output or the column axis for one input (a float for one
    of each).

    >>> import numpy as np, s2sad
    >>> def g(a, b):
    ...     return a * b, a + b
    >>> s2sad.jacobian(g, wrt=(0, 1))(2.0, 3.0).tolist()
    [[3.0, 2.0], [1.0, 1.0]]
    >>> def h(x):
    ...     return x * x
    >>> s2sad.jacobian(h)(np.array([1.0, 2.0])).tolist()
    [[2.0, 0.0], [0.0, 4.0]]
    >>> def affine(p, x):
    ...     return p["W"] @ x + p["b"]
    >>> J = s2sad.jacobian(affine)({"W": np.ones((2, 3)), "b": np.zeros(2)}, np.arange(3.0))
    >>> J["W"].shape, J["b"].tolist()
    ((2, 2, 3), [[1.0, 0.0], [0.0, 1.0]])
    """
    if mode not in ("auto", "forward", "reverse"):
        raise ArgumentError(f"mode={mode!r}: choose 'auto', 'forward' or 'reverse'")
    wrt = chosen_wrt(wrt, argnums)
    return derivative_of(fn, lambda f: _jacobian(f, wrt, mode))


def _jacobian(fn, wrt, mode: str):
    plain, owner = unwrap(fn)
    trace = header(plain)
    names, single = wrt_names(trace, wrt, is_method(fn))
    prefix = (owner,) if owner is not None else ()
    plans: dict = {}

    def jacobian_at(*args, **keywords):
        args = completed(plain, args, keywords, prefix)
        key = (signature(args), tuple(a for a in args if type(a) is int))  # ints may set shapes
        plan = plans.get(key)
        if plan is None or not current(plan.reads, plain):  # new kinds, or rebound callees
            plan = plans[key] = _Plan(plain, owner, names, prefix + args)
        flat = plan.layout.flatten(prefix + args)[len(prefix) :]
        inputs = plan.inputs(flat)
        size = sum(size_of(x) for x in inputs)
        chosen, swept = mode, None
        if mode == "auto":
            outputs = plan.output_size
            if outputs is None:  # a shape known only once the function has run
                swept = plan.reverse()[0](*flat)
                outputs = sum(size_of(y) for y in leaves_of(swept[0]))
            chosen = "forward" if size < outputs else "reverse"
            if plan.missing:  # a custom function with one rule: the mode that has it
                chosen = "reverse" if "tangent" in plan.missing else "forward"
        if chosen == "forward":
            blocks = plan.forward(flat, inputs)
        else:
            blocks = reverse_blocks(*plan.reverse(), flat, inputs, swept)
        refuse_complex([block for row in blocks for block in row], trace.name)
        if plan.layout.structures:  # each input's blocks in its structure
            blocks = [
                plan.layout.group(names, row, lambda block, _: _number(block)) for row in blocks
            ]
        return arranged(blocks, plan.output, single)

    jacobian_at.__name__ = f"{trace.name}_jacobian"
    return user_facing(jacobian_at)


class _Plan:
    """The compiled sweeps of a Jacobian for one kind of arguments (their structures, shapes and
    dtypes), made when first needed. The sweeps take structured arguments as their leaves, and
    differentiate with respect to the leaves of the inputs ``names``."""

    def __init__(self, fn, owner, names: tuple, args: tuple):
        self.fn, self.owner = fn, owner
        skip = 1 if owner is not None else 0
        self.layout, structures, trace = laid_out(fn, header(fn).params, args, skip)
        self.reads = trace.reads  # what the sweeps are built from
        self.missing = missing_rules(walk(trace.body))
        self.flat_args = self.layout.flatten(args)
        kinds = params_kinds(self.layout.params, self.flat_args)
        wrt = self.layout.leaf_params(names)
        require_floats(wrt, kinds)
        self.positions = [self.layout.params.index(leaf) - skip for leaf in wrt]
        self.spec = Spec("vector_tangent", wrt, kinds=tuple(kinds.items()), structures=structures)
        self.output = trace.body[-1].value
        arrays = uses_arrays(trace) or any(kind.is_array for kind in kinds.values())
        known = kinds_of(trace, self.spec.kinds if arrays else None)
        sizes = [known.of(leaf) for leaf in leaves(self.output)]
        self.output_size = None
        if all(kind is not None for kind in sizes):
            self.output_size = sum(math.prod(k.shape) if k.is_array else 1 for k in sizes)
        self._vector = self._reverse = None

    def inputs(self, flat: tuple) -> list:
        """The values differentiated with respect to, among the generated code's arguments."""
        return [flat[p] for p in self.positions]

    def forward(self, args: tuple, inputs: list) -> list:
        if self._vector is None:
            try:
                (vector_fn,) = functions(self.fn, self.spec)
                self._vector = (forward_blocks, bind(vector_fn, self.owner))
            except NotVectorizableError:  # one sweep per direction instead
                (tangent_fn,) = self._specialised("tangent")
                self._vector = (directionwise_blocks, bind(tangent_fn, self.owner))
        sweep, program = self._vector
        return sweep(program, args, inputs)

    def reverse(self) -> tuple:
        if self._reverse is None:
            forward, backward = self._specialised("split_vjp")
            self._reverse = (bind(forward, self.owner), backward)
        return self._reverse

    def _specialised(self, kind: str) -> tuple:
        spec = replace(self.spec, kind=kind, kinds=None)
        return specialised(self.fn, spec, self.layout.params, self.flat_args)


@user_facing
def vector_tangent_source(fn, *args, wrt=0) -> str:
    """Source of the vector-mode tangent program :func:`jacobian` runs in forward mode, compiled
    for the kinds of ``args``: each ``x_dot`` has a leading axis with one slice per direction.

    >>> import numpy as np, s2sad
    >>> def f(x):
    ...     return np.sum(x * x, axis=0)
    >>> source = s2sad.vector_tangent_source(f, np.ones((2, 3)))
    >>> print(source[source.index("# line"):])
    # line 2: return np.sum(x * x, axis=0)
        w2_dot = 2 * x * x_dot
        w3 = np.sum(x * x, axis=0)
        w3_dot = np.sum(w2_dot, axis=(1,))
        return w3, w3_dot
    <BLANKLINE>
    """
    plain, owner = unwrap(fn)
    names, _ = wrt_names(header(plain), wrt, is_method(fn))
    prefix = (owner,) if owner is not None else ()
    return compiled(plain, _Plan(plain, owner, names, prefix + args).spec).source


@user_facing
def elementwise_grad(fn, wrt=0):
    """The derivative of a function applied elementwise: ``J·1``, from one tangent sweep with a
    tangent of ones, shaped like the output.

    Where ``fn`` works element by element (``y[i]`` depends on ``x[i]`` alone), ``J`` is diagonal
    and ``J·1`` is its diagonal, ``y[i]``'s derivative at ``x[i]``: what ``grad`` of
    ``fn(x).sum()`` gives too, without a reverse sweep. Where it does not, ``J·1`` sums each *row*
    of ``J`` (how much ``y[i]`` moves when every ``x[j]`` moves by 1), while ``grad`` of the sum sums
    each *column* (how much the total moves per ``x[j]``).

    >>> import numpy as np, s2sad
    >>> def f(x):
    ...     return x**3
    >>> s2sad.elementwise_grad(f)(np.array([1.0, 2.0])).tolist()
    [3.0, 12.0]
    """
    return derivative_of(fn, lambda f: _elementwise_grad(f, wrt))


def _elementwise_grad(fn, wrt):
    plain, owner = unwrap(fn)
    trace = header(plain)
    names, single = wrt_names(trace, wrt, is_method(fn))
    if not single:
        raise ArgumentError(
            f"elementwise_grad takes one input, got wrt={wrt!r}",
            hint="call it once per input, or use s2sad.jacobian",
        )
    _require_one_output(trace)
    prefix = (owner,) if owner is not None else ()
    position = trace.params.index(names[0]) - len(prefix)

    def derivative_at(*args, **keywords):
        args = completed(plain, args, keywords, prefix)
        layout, structures, lowered = laid_out(plain, trace.params, prefix + args, len(prefix))
        _require_one_output(lowered)  # for a function whose trace needed the structures
        spec = Spec("tangent", layout.leaf_params(names), structures=structures)
        flat = layout.flatten(prefix + args)
        (tangent_fn,) = specialised(plain, spec, layout.params, flat)
        x = args[position]
        ones = [np.ones_like(v) if isinstance(v, np.ndarray) else 1.0 for v in leaves_of(x)]
        y, y_dot = bind(tangent_fn, owner)(*flat[len(prefix) :], *ones)
        return like(y_dot, y)

    derivative_at.__name__ = f"{trace.name}_elementwise_grad"
    return user_facing(derivative_at)


def _require_one_output(trace) -> None:
    if trace.body and several(trace.body[-1].value):
        raise NonScalarOutputError(
            f"elementwise_grad needs a function with one output, but `{trace.name}` returns "
            f"{describe_output(trace.body[-1].value)}",
            trace.body[-1].loc,
            "use s2sad.jacobian for several outputs",
        )
