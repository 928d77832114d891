"""Check derivatives against central differences: ``s2sad.check_grad``.

Central differences ``(f(x + h) - f(x - h)) / 2h`` have a truncation error of about ``h² |f'''| / 6`` and
a rounding error of about ``ε |f| / h``; the step ``h = ε^(1/3) · max(1, |x|)`` balances the two, and the
difference between the estimates at ``h`` and ``2h`` measures what is left. A component passes when AD
and the difference agree within ``atol + rtol · |AD|`` plus that measured error.

The notes (seed 002) estimate ∂f1/∂u1 with a one-sided difference of step 0.01 and get 48.19 where AD
gives 47.30: ``check_grad(f1, 1.0, -1.0, eps=0.01)`` shows that error beside the exact derivative.
"""

from __future__ import annotations

import html

from dataclasses import dataclass, field

import numpy as np

from .errors import ArgumentError, S2SADError, user_facing
from .trees import Layout, flatten, flatten_all, leaf_paths, leaves_of, tree_of, unflatten

_CUBE_ROOT_EPS = np.finfo(float).eps ** (1 / 3)
# The rounding error of a difference quotient is about ε |f| / h for f computed to within ε |f|; a
# function of many operations is computed to within a few ε |f| (more where terms cancel), and
# |D(h) - D(2h)| can miss that part by chance: it is added on its own.
_ROUNDING = 16 * np.finfo(float).eps


class GradientCheckError(S2SADError):
    """Automatic and finite-difference derivatives disagree."""


@dataclass
class Mismatch:
    output: int
    input: str
    mode: str
    automatic: float
    estimate: float

    @property
    def difference(self) -> float:
        return self.automatic - self.estimate


@dataclass
class GradientCheck:
    """The Jacobians compared, and the components that disagree."""

    inputs: tuple
    estimate: np.ndarray  # central differences, rows = outputs, columns = inputs
    error: np.ndarray  # how far the estimate may be from the derivative (measured, see above)
    automatic: dict = field(default_factory=dict)  # mode -> Jacobian
    mismatches: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def _rows(self) -> list:
        """``(output, input, mode, automatic, estimate)`` per component and mode."""
        return [
            (row, self.inputs[col], mode, jacobian[row, col], estimate)
            for (row, col), estimate in np.ndenumerate(self.estimate)
            for mode, jacobian in self.automatic.items()
        ]

    def _verdict(self) -> str:
        return (
            "all components agree" if self.ok else f"{len(self.mismatches)} component(s) disagree"
        )

    def __str__(self) -> str:
        width = max([8] + [len(name) for name in self.inputs]) + 2  # paths: p["W"][0, 1]
        lines = [
            f"{'output':>6}  {'input':<{width}}{'mode':<9}{'automatic':>22}{'central difference':>22}{'difference':>12}"
        ]
        for row, name, mode, ad, estimate in self._rows():
            lines.append(
                f"{row:>6}  {name:<{width}}{mode:<9}{ad:>22.15g}{estimate:>22.15g}{ad - estimate:>12.3g}"
            )
        return "\n".join(lines + [self._verdict()])

    def __repr__(self) -> str:
        return f"<s2sad.GradientCheck of {len(self.inputs)} input(s): {self._verdict()}>"

    def _repr_html_(self) -> str:  # a notebook shows the table
        head = "".join(
            f"<th>{h}</th>"
            for h in ("output", "input", "mode", "automatic", "central difference", "difference")
        )
        disagree = {(m.output, m.input, m.mode) for m in self.mismatches}
        body = "".join(
            ("<tr style='color:#b00020'>" if (row, name, mode) in disagree else "<tr>")
            + f"<td>{row}</td><td><code>{html.escape(name)}</code></td><td>{mode}</td>"
            + f"<td>{ad:.15g}</td><td>{estimate:.15g}</td><td>{ad - estimate:.3g}</td></tr>"
            for row, name, mode, ad, estimate in self._rows()
        )
        return f"<table><tr>{head}</tr>{body}</table><p>{self._verdict()}</p>"


@user_facing
def check_grad(fn, *args, wrt=None, modes=("forward", "reverse"), eps=None, rtol=1e-6, atol=1e-9):
    """Compare the derivatives of ``fn`` at ``args`` in each mode with central differences.

    Returns a :class:`GradientCheck` (print it for a table); raises :class:`GradientCheckError`, listing
    each mismatching component with both values and their difference, if any component disagrees.
    ``eps`` fixes the difference step (by default it adapts to each input). Every element of every
    leaf of a structured argument is checked, its column named by its path (``p["W"][0, 1]``).
    Parameters left out of ``args`` take their defaults, and are checked only if ``wrt`` names them.
    By default an integer argument the function uses as an integer (a ``range`` count, an index:
    one it cannot take a fraction of, or one annotated ``int``) is held constant too, as a count
    has no derivative; naming such a parameter in ``wrt`` raises :class:`~s2sad.ArgumentError`.

    >>> import math, s2sad
    >>> def f(x1, x2):
    ...     return x1 * x2 + math.sin(x1)
    >>> s2sad.check_grad(f, 2.0, 5.0).ok
    True
    >>> s2sad.check_grad(lambda p: p["a"] * p["b"][0], {"a": 2.0, "b": [5.0]}).inputs
    ('p["a"]', 'p["b"][0]')
    """
    from .arguments import differentiable_params, header, integer_params, is_method, unwrap
    from .arguments import wrt_names
    from .calling import as_call, completed, given_positionally
    from .jacobians import jacobian, refuse_complex

    plain, owner = unwrap(fn)
    head = header(plain)
    params = differentiable_params(head, is_method(fn))
    prefix = (owner,) if owner is not None else ()
    point = list(completed(plain, args, prefix=prefix))

    def run(values):  # fn at one value per parameter
        positional, keywords = as_call(plain, tuple(values), prefix)
        return fn(*positional, **keywords)

    Layout(params, tuple(point))  # refuses complex leaves before stepping them
    if wrt is None:  # the inputs given; those left out take their defaults, held constant
        given, _ = given_positionally(plain, args, prefix)
        integers = set(integer_params(plain, owner, tuple(point), given))
        integers |= {
            n for n in given if n not in integers and takes_no_fraction(run, point, params.index(n))
        }
        wrt = tuple(n for n in given if n not in integers)
        if given and not wrt:
            raise ArgumentError(
                f"nothing to check: the argument(s) given for {', '.join(given)} are integers "
                f"`{head.name}` uses as integers (counts, indices), which have no derivative",
                hint="pass floats (2.0, not 2) for inputs to differentiate, or name them in wrt",
            )
    names, _ = wrt_names(head, wrt, is_method(fn))
    positions = [params.index(n) for n in names]
    for name, position in zip(names, positions):
        if takes_no_fraction(run, point, position):
            raise ArgumentError(
                f"cannot check the derivative with respect to `{name}`: `{head.name}` fails at a "
                f"value of `{name}` between integers ({_failure(run, point, position)}), so it "
                "uses it as an integer (a count, an index), which has no derivative",
                hint=f"leave `{name}` out of wrt",
            )
    trees = [tree_of(point[p]) for p in positions]
    for position, tree in zip(positions, trees):  # differentiated ints are stepped as floats
        leaves = [_floats(leaf) for leaf in flatten(point[position], tree)]
        point[position] = unflatten(tree, leaves)
    inputs = [point[p] for p in positions]
    paths = [path for name, tree in zip(names, trees) for path in leaf_paths(name, tree)]
    columns = [
        path if np.ndim(leaf) == 0 else f"{path}[{', '.join(map(str, index))}]"
        for path, leaf in zip(paths, flatten_all(inputs, trees))
        for index in np.ndindex(np.shape(leaf))
    ]
    output = run(point)
    refuse_complex(leaves_of(output), head.name)  # before stepping into NumPy's warnings
    estimate, error = _central_differences(run, point, positions, trees, eps)
    report = GradientCheck(tuple(columns), estimate, error)
    positional, keywords = as_call(plain, tuple(point), prefix)
    for mode in modes:
        blocks = jacobian(fn, wrt=tuple(names), mode=mode)(*positional, **keywords)
        matrix = _matrix(blocks, output, inputs, trees).reshape(estimate.shape)
        report.automatic[mode] = matrix
        allowed = atol + rtol * np.abs(matrix) + error
        for (row, col), ad in np.ndenumerate(matrix):
            if not abs(ad - estimate[row, col]) <= allowed[row, col]:
                report.mismatches.append(Mismatch(row, columns[col], mode, ad, estimate[row, col]))
    if report.mismatches:
        listing = "; ".join(
            f"output {m.output}, d/d{m.input} by {m.mode} mode: {m.automatic!r} vs {m.estimate!r} "
            f"(difference {m.difference:.3g})"
            for m in report.mismatches
        )
        raise GradientCheckError(
            f"derivatives of `{getattr(fn, '__name__', fn)}` disagree with central differences: {listing}",
            hint="if the function has a kink or a branch boundary within the step, check at another point",
        )
    return report


def _failure(run, point: list, position: int) -> str:
    """What ``run`` (a function of one value per parameter) raises with the integer leaves of
    argument ``position`` moved by a fraction (``""`` if it runs, or if it holds no integer)."""
    value = point[position]
    tree = tree_of(value)
    leaves = flatten(value, tree)
    if not any(_is_integer(leaf) for leaf in leaves):
        return ""
    moved = list(point)
    moved[position] = unflatten(
        tree, [_floats(leaf) + 0.5 if _is_integer(leaf) else leaf for leaf in leaves]
    )
    try:
        run(moved)
    except (TypeError, IndexError, ValueError) as err:
        return f"{type(err).__name__}: {err}"
    return ""


def takes_no_fraction(run, point: list, position: int) -> bool:
    """Whether ``run`` (a function of one value per parameter) fails where the integers of
    argument ``position`` take a fraction."""
    return bool(_failure(run, point, position))


def _is_integer(value) -> bool:
    return isinstance(value, (bool, int, np.integer)) or (
        isinstance(value, np.ndarray) and value.dtype.kind in "biu"
    )


def _floats(value):
    """An integer stepped as the float it stands for; a float array as it is."""
    return np.array(value, dtype=float) if np.ndim(value) else float(value)


def _central_differences(run, point: list, positions: list, trees: list, eps) -> tuple:
    """The Jacobian of ``run`` (a function of one list of values) by central differences, one column per element of each leaf of each input, and
    an estimate of its error (|D(h) - D(2h)| and the rounding error of f)."""
    columns, errors = [], []
    for position, tree in zip(positions, trees):
        leaves = flatten(point[position], tree)
        for k, x in enumerate(leaves):
            for index in np.ndindex(np.shape(x)):
                step = (
                    eps
                    if eps is not None
                    else _CUBE_ROOT_EPS * max(1.0, abs(float(np.asarray(x)[index])))
                )
                estimates, rounding = [], None
                for h in (step, 2 * step):
                    plus, minus = list(point), list(point)
                    plus[position] = unflatten(tree, _replaced(leaves, k, _moved(x, index, h)))
                    minus[position] = unflatten(tree, _replaced(leaves, k, _moved(x, index, -h)))
                    above, below = _flat(run(plus)), _flat(run(minus))
                    estimates.append((above - below) / (2 * h))
                    if rounding is None:  # f(x ± h) each carry rounding errors of order ε |f|
                        rounding = _ROUNDING * np.maximum(np.abs(above), np.abs(below)) / h
                columns.append(estimates[0])
                errors.append(np.abs(estimates[0] - estimates[1]) + rounding)
    return np.array(columns).T, np.array(errors).T


def _replaced(leaves: list, k: int, leaf) -> list:
    return leaves[:k] + [leaf] + leaves[k + 1 :]


def _moved(x, index: tuple, h: float):
    """``x`` with its element at ``index`` moved by ``h`` (a copy; ``x`` itself for a number)."""
    if np.ndim(x) == 0:
        return x + h
    moved = x.copy()
    moved[index] += h
    return moved


def _matrix(jacobian, output, inputs: list, trees: list) -> np.ndarray:
    """The Jacobian as one matrix: a row per element of each output, in the output's structure, and
    a column per element of each leaf of each input (``s2sad.jacobian`` gives blocks shaped
    ``output.shape + input.shape``, a structured input's in its structure, or already one matrix
    where every input and output is a number)."""
    if isinstance(jacobian, np.ndarray):
        return np.asarray(jacobian, dtype=float)
    leaves = flatten_all(inputs, trees)
    tree = tree_of(output)
    rows = []
    for blocks, value in zip(flatten(jacobian, tree), flatten(output, tree)):
        parts = zip(flatten_all(blocks, trees), leaves)
        rows.append(np.hstack([np.reshape(b, (np.size(value), np.size(x))) for b, x in parts]))
    return np.vstack(rows)


def _flat(value) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in leaves_of(value)])
