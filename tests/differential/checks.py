"""The checks every generated program goes through: each entry point of s2sad against an oracle
that does not share its code (central differences, the complex step) and against the other entry
points, which must all describe the same derivative.

``run(program, module, workdir)`` runs every check that applies and returns an :class:`Outcome`:

- a failure is a result that differs (a :class:`~oracles.Mismatch`), or any exception that is not an
  ``S2SADError`` (a ``TypeError`` from s2sad or from the code it generated is a defect, whatever the
  program);
- a refusal is an ``S2SADError``: acceptable, since s2sad may refuse what it cannot differentiate,
  but counted and reported, because a construct the generator produces and s2sad refuses is a gap
  in what it covers.

A derivative that disagrees with central differences is reported only if it disagrees again at a
second point nearby (``Subject.against_fd``): a kink that happens to fall inside the stencil of the
first point does not follow it to the second, while a wrong derivative does.
"""

from __future__ import annotations

import collections
import copy
import importlib.util
import inspect
import math
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import s2sad
from s2sad.runtime import HELPERS

from .generator import Program
from .oracles import (
    COMPLEX_RTOL,
    Differences,
    Mismatch,
    assert_close,
    block_matrix,
    complex_step,
    flatten,
    flatten_like,
    leaves,
    size,
    unflatten,
)

# Entry points of s2sad sum the same chain-rule products in different orders (forward against
# reverse, vector mode against one sweep per direction, teaching against optimised code), so they
# differ by rounding only: a few ulps per operation, relative to the largest value summed. The
# programs run at most a few hundred operations on values below 1e3, so AD_RTOL = 1e-8 relative to
# the largest of 1, |f| and |J| is several hundred times the largest such error, and a missed,
# doubled or misrouted term shows up at the size of the derivative itself.
AD_RTOL = 1e-8
# A value computed by two entry points runs the same primal operations: equal, or equal to
# rounding where generated code reassociates a sum.
VALUE_RTOL = 1e-12
# Offsets of the second point at which a disagreement with central differences is confirmed: far
# enough from the first (1e-3 relative, a hundred stencil widths) that a kink inside the first
# stencil is not inside the second, near enough to stay on the same branch of the program.
CONFIRM_OFFSET = 1e-3
# At most this many unit directions (jvp) and output cotangents (vjp) are swept one by one; larger
# programs get this many random directions instead (each call of jvp and vjp reads the function
# again, which dominates the time of a check).
MAX_SWEEPS = 8


@dataclass
class Outcome:
    """What the checks found for one program."""

    program: Program
    failures: list = field(default_factory=list)  # (check, kind, message)
    refusals: list = field(default_factory=list)  # (check, error type, first line of its message)
    notes: collections.Counter = field(default_factory=collections.Counter)
    checks_run: list = field(default_factory=list)

    def report(self) -> str:
        lines = [self.program.describe()]
        for check, kind, message in self.failures:
            lines.append(f"FAILED {check} ({kind}):\n{_indent(message)}")
        for check, kind, message in self.refusals:
            lines.append(f"refused {check}: {kind}: {message}")
        return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-40:])


class Finding(Mismatch):
    """A defect a check notices on the way and reports under a name of its own (so that it can be
    pending on its own), while the check goes on."""

    def __init__(self, check: str, message: str):
        super().__init__(message)
        self.check = check


class Unavailable(Exception):
    """A result another check needs, which failed or was refused where it was first computed."""


class Subject:
    """A program under test: its function, the call, and the results shared between checks."""

    def __init__(self, program: Program, module, workdir: Path, outcome: Outcome):
        self.program = program
        self.module = module
        self.workdir = Path(workdir)
        self.outcome = outcome
        self.f = module.f
        self.args = copy.deepcopy(program.args)
        self.positions = program.wrt
        self.single = len(program.wrt) == 1
        self.wrt = program.wrt[0] if self.single else program.wrt
        self.names = tuple(program.params[k] for k in program.wrt)
        self.inputs = [copy.deepcopy(program.args[k]) for k in program.wrt]  # templates
        self.gradient_template = self.inputs[0] if self.single else tuple(self.inputs)
        self.x0 = flatten(self.inputs).astype(float)
        self.n = self.x0.size
        self.value = self.f(*self.args)
        self.m = size(self.value)
        self.scalar = program.output == "scalar"
        self.rng = np.random.default_rng(abs(program.seed))
        self._memo = {}
        self._fd = None
        self.right = self.directions(self.n)  # tangents swept by jvp, as columns
        self.left = self.directions(self.m)  # cotangents swept by vjp, as rows
        self.findings = []  # Finding, noticed by a check that went on

    # --- points and values -------------------------------------------------------------------

    def rebuild(self, x: np.ndarray) -> tuple:
        """The call's arguments with the differentiated ones replaced by the elements of ``x``."""
        args = list(copy.deepcopy(self.program.args))
        for position, value in zip(self.positions, unflatten(self.inputs, x)):
            args[position] = value
        return tuple(args)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        return flatten(self.f(*self.rebuild(x)))

    @property
    def fd(self) -> Differences:
        if self._fd is None:
            self._fd = Differences(self.evaluate, self.x0)
        return self._fd

    def memo(self, key, compute, owner: bool = True):
        """``compute()`` once. Where it raises, the check that owns the result reports the error,
        and every other check gets :class:`Unavailable` (and leaves that comparison out)."""
        if key in self._memo:
            result = self._memo[key]
            if isinstance(result, Unavailable):
                raise result
            return result
        try:
            self._memo[key] = compute()
        except Exception:
            if owner:
                self._memo[key] = Unavailable(key)
                raise
            raise Unavailable(key) from None
        return self._memo[key]

    def reference(self, key, compute):
        """A result another check owns (see ``memo``)."""
        return self.memo(key, compute, owner=False)

    def tangent(self, direction: np.ndarray) -> tuple:
        """Tangents for every argument of the call: ``direction`` for the differentiated ones, zero
        for int bounds."""
        pieces = iter(unflatten(self.inputs, direction))
        return tuple(next(pieces) if k in self.positions else 0.0 for k in range(len(self.args)))

    def cotangent(self, u: np.ndarray):
        return unflatten(self.value, u)

    def directions(self, count: int) -> np.ndarray:
        """Unit vectors, or MAX_SWEEPS random ones, as the rows of a matrix."""
        if count <= MAX_SWEEPS:
            return np.eye(count)
        return self.rng.normal(size=(MAX_SWEEPS, count))

    # --- comparisons -------------------------------------------------------------------------

    @property
    def scale(self) -> float:
        return self.fd.scale

    def close(self, actual, expected, what: str, rtol: float = AD_RTOL) -> None:
        assert_close(actual, expected, rtol, rtol * self.scale, what)

    def same_value(self, actual, what: str, at=None) -> None:
        expected = self.value if at is None else self.f(*at)
        got = flatten_like(actual, expected, f"{what} value")
        want = flatten(expected).astype(float)
        assert_close(got, want, VALUE_RTOL, VALUE_RTOL, f"{what}: the value is not f(x)")

    def against_fd(self, what: str, matrix: np.ndarray, build=None, side=None) -> None:
        """``matrix`` (rows outputs, columns inputs) against central differences on the entries
        they trust; ``side`` "right" for the jvp sweeps (J times the directions ``right``), "left"
        for the vjp sweeps. A disagreement is confirmed at a second point by ``build(args)``, the
        same matrix computed there, before it is reported."""

        def estimate(fd):
            if side == "right":
                return fd.project(right=self.right.T)
            if side == "left":
                return fd.project(left=self.left)
            return fd

        try:
            compared = estimate(self.fd).check(matrix, what)
            self.outcome.notes["entries compared with central differences"] += compared
            self.outcome.notes["entries not trusted"] += matrix.size - compared
        except Mismatch as first:
            if build is None:
                raise
            offset = self.rng.uniform(-1.0, 1.0, self.n) * CONFIRM_OFFSET
            x1 = self.x0 + offset * np.maximum(1.0, np.abs(self.x0))
            second = estimate(Differences(self.evaluate, x1))
            try:
                second.check(build(self.rebuild(x1)), what)
            except Mismatch as again:
                raise Mismatch(f"{first}\nand again at a second point: {again}") from None
            self.outcome.notes["disagreements not confirmed at a second point"] += 1

    def complex_jacobian(self):
        """The complex-step Jacobian, or None where the program is not analytic or does not take
        complex numbers."""

        def compute():
            if not self.program.analytic:
                return None
            try:
                with np.errstate(all="ignore"):
                    jac = complex_step(lambda z: flatten(self.f(*self.rebuild(z))), self.x0)
            except (TypeError, ValueError):
                return None
            return jac if np.all(np.isfinite(jac)) else None

        return self.memo("complex step", compute)

    def against_complex(self, what: str, matrix: np.ndarray, side=None) -> None:
        jac = self.complex_jacobian()
        if jac is not None:
            jac = (
                jac @ self.right.T
                if side == "right"
                else self.left @ jac if side == "left" else jac
            )
            assert_close(
                matrix, jac, COMPLEX_RTOL, COMPLEX_RTOL * self.scale, f"{what} vs complex step"
            )
            self.outcome.notes["entries compared with the complex step"] += jac.size

    # --- derivatives shared between checks -----------------------------------------------------

    def gradient_function(self):
        return self.memo("grad", lambda: s2sad.grad(self.f, wrt=self.wrt))

    def gradient_at(self, args) -> np.ndarray:
        return flatten_like(self.gradient_function()(*args), self.gradient_template, "grad")

    def jvp_matrix(self, args) -> np.ndarray:
        """Columns J v from one jvp per direction v of ``right``, each value checked to be f."""
        columns = []
        for direction in self.right:
            y, y_dot = s2sad.jvp(self.f, args, self.tangent(direction))
            self.same_value(y, "jvp", at=args)
            columns.append(flatten_like(y_dot, self.value, "jvp tangent"))
        return np.array(columns).T.reshape(self.m, -1)

    def vjp_matrix(self, args) -> np.ndarray:
        """Rows u^T J from one pullback per cotangent u of ``left``."""
        y, pullback = s2sad.vjp(self.f, *args)
        self.same_value(y, "vjp", at=args)
        return np.array([self.pulled(pullback, u) for u in self.left]).reshape(-1, self.n)

    def pulled(self, pullback, u: np.ndarray) -> np.ndarray:
        """``J^T u`` from ``pullback``: the cotangents of the differentiated arguments, flat."""
        result = pullback(self.cotangent(u))
        if len(self.args) == 1 and not isinstance(result, tuple):
            result = (result,)
        if not isinstance(result, tuple) or len(result) != len(self.args):
            raise Mismatch(
                f"pullback: expected a tuple of {len(self.args)} cotangents, got {result!r:.300}"
            )
        parts = [
            flatten_like(result[k], self.inputs[i], f"pullback[{k}]")
            for i, k in enumerate(self.positions)
        ]
        return np.concatenate(parts)

    def jacobian_matrix(self, args, mode: str) -> np.ndarray:
        result = s2sad.jacobian(self.f, wrt=self.wrt, mode=mode)(*args)
        return self.as_matrix(result, f"jacobian(mode={mode!r})")

    def as_matrix(self, result, what: str) -> np.ndarray:
        """A Jacobian as s2sad returns it, as a matrix: one NumPy matrix where every input and output
        is a number (without the row axis for one output, the column axis for one input), JAX's
        nested blocks otherwise."""
        numbers_in = all(np.ndim(t) == 0 and not isinstance(t, dict) for t in self.inputs)
        outputs = self.value if isinstance(self.value, tuple) else (self.value,)
        numbers_out = all(
            np.ndim(v) == 0 and not isinstance(v, (dict, tuple, list)) for v in outputs
        )
        if numbers_in and numbers_out:
            shape = (() if not isinstance(self.value, tuple) else (self.m,)) + (
                () if self.single else (self.n,)
            )
            if np.shape(result) != shape or isinstance(result, (tuple, list, dict)):
                raise Mismatch(f"{what}: expected a matrix of shape {shape}, got {result!r:.300}")
            return np.asarray(result, dtype=float).reshape(self.m, self.n)
        return block_matrix(result, [self.value], self.inputs, what)

    def hessian_matrix(self, args) -> np.ndarray:
        """The Hessian as one matrix. s2sad nests it as its README says: for one input, the input's
        structure holding, per leaf, the input's structure of blocks; for several, ``H[i][j]`` is
        that for inputs i and j."""
        result = s2sad.hessian(self.f, wrt=self.wrt)(*args)
        if self.single:
            return block_matrix(result, self.inputs, self.inputs, "hessian")
        k = len(self.inputs)
        if not isinstance(result, tuple) or len(result) != k:
            raise Mismatch(f"hessian: expected a tuple of {k} rows, got {result!r:.300}")
        rows = []
        for i, row in enumerate(result):
            if not isinstance(row, tuple) or len(row) != k:
                raise Mismatch(f"hessian[{i}]: expected a tuple of {k} blocks, got {row!r:.300}")
            rows.append(
                np.hstack(
                    [
                        block_matrix(
                            row[j], [self.inputs[i]], [self.inputs[j]], f"hessian[{i}][{j}]"
                        )
                        for j in range(k)
                    ]
                )
            )
        return np.vstack(rows)

    def source_call_values(self) -> list:
        """The leaves generated source takes for the call: every parameter of ``f`` (a default not
        passed at its default value), a dict's values in its key order."""
        values = []
        signature = inspect.signature(self.f)
        for k, name in enumerate(self.program.params):
            value = self.args[k] if k < len(self.args) else signature.parameters[name].default
            values.extend(leaf[()] if leaf.ndim == 0 else leaf for leaf in _leaf_values(value))
        return values

    @property
    def source_wrt(self):
        """``wrt`` for the source functions: names, one bare as grad's position is."""
        return self.names[0] if self.single else self.names

    def source_args(self):
        """The example arguments the source checks pass (``args=``): the call's, where the program
        says so, or where the call has arrays and the code printed without them is for numbers
        (:meth:`numbers_code`): a user reads so in ``adjoint_source``'s docstring and passes the
        arrays, to get code for them. Else none."""
        if self.program.sources_take_args:
            return self.args
        if self.numbers_code() and _arrays_in(self.args):
            self.outcome.notes["source code for numbers: arrays passed as args="] += 1
            return self.args
        return None

    def numbers_code(self) -> bool:
        """Whether the code s2sad prints for ``f`` without example arguments, and exports, is for
        numbers, as the exported module's header says: "take numbers (ints or floats), not
        arrays"."""
        if "numbers code" not in self._memo:
            given = self.args if self.program.sources_take_args else None
            header = s2sad.export_source(self.f, wrt=self.source_wrt, args=given).split('"""')[0]
            self._memo["numbers code"] = "take numbers" in " ".join(header.replace("#", "").split())
        return self._memo["numbers code"]


def _leaf_values(value) -> list:
    if isinstance(value, dict):
        return [leaf for key in value for leaf in _leaf_values(value[key])]
    if isinstance(value, list):  # a list of known length: one leaf per element, as s2sad takes it
        return [leaf for item in value for leaf in _leaf_values(item)]
    return [np.asarray(value)]


# --- the checks -------------------------------------------------------------------------------


def check_trace(s: Subject) -> None:
    """The SSA trace runs and returns what f returns, also re-executed from its printed text."""
    trace = s2sad.trace(s.f)
    s.same_value(trace(*s.args), "trace")
    namespace = trace.namespace
    exec(str(trace), namespace)
    s.same_value(namespace["f"](*s.args), "the printed trace")


def check_grad(s: Subject) -> None:
    """grad against central differences and the complex step; a fresh array for each gradient."""
    gradient = s.gradient_function()(*s.args)
    flat = flatten_like(gradient, s.gradient_template, "grad")
    grads = leaves(gradient)
    for leaf in grads:
        for arg in leaves(s.args):
            if isinstance(arg, np.ndarray) and arg.ndim and np.shares_memory(leaf, arg):
                raise Mismatch("grad returned (a view of) an argument's array")
    s.memo("gradient", lambda: flat)
    s.against_fd("grad", flat[None, :], lambda args: s.gradient_at(args)[None, :])
    s.against_complex("grad", flat[None, :])


def check_value_and_grad(s: Subject) -> None:
    """value_and_grad: the value is f(x), the gradient grad's."""
    function = s2sad.value_and_grad(s.f, wrt=s.wrt)
    value, gradient = function(*s.args)
    s.same_value(value, "value_and_grad")
    flat = flatten_like(gradient, s.gradient_template, "value_and_grad gradient")
    s.against_fd(
        "value_and_grad",
        flat[None, :],
        lambda args: flatten_like(function(*args)[1], s.gradient_template, "value_and_grad")[
            None, :
        ],
    )
    try:
        s.close(
            flat, s.reference("gradient", lambda: s.gradient_at(s.args)), "value_and_grad vs grad"
        )
    except Unavailable:
        pass


def check_jvp(s: Subject) -> None:
    """jvp, one unit direction at a time: the value is f(x), the tangents J's columns."""
    jac = s.jvp_matrix(s.args)
    s.memo("jvp", lambda: jac)
    s.against_fd("jvp", jac, s.jvp_matrix, side="right")
    s.against_complex("jvp", jac, side="right")
    try:
        reverse = s.reference("jacobian reverse", lambda: s.jacobian_matrix(s.args, "reverse"))
    except Unavailable:
        return
    s.close(jac, reverse @ s.right.T, "jvp vs jacobian(mode='reverse')")


def check_vjp(s: Subject) -> None:
    """vjp: the value is f(x); the pullback gives J's rows, the same each time it is called, and
    the same after the caller changes the arrays it passed."""
    y, pullback = s2sad.vjp(s.f, *s.args)
    s.same_value(y, "vjp")
    first = np.array([s.pulled(pullback, u) for u in s.left]).reshape(-1, s.n)
    again = np.array([s.pulled(pullback, u) for u in s.left]).reshape(-1, s.n)
    assert_close(again, first, 0.0, 0.0, "the pullback called a second time")
    s.against_fd("vjp", first, s.vjp_matrix, side="left")
    s.against_complex("vjp", first, side="left")
    try:
        jac = s.reference("jacobian reverse", lambda: s.jacobian_matrix(s.args, "reverse"))
    except Unavailable:
        return
    s.close(first, s.left @ jac, "vjp vs jacobian(mode='reverse')")


def check_vjp_buffers(s: Subject) -> None:
    """The pullback vjp returns gives the same after the caller writes new values into the arrays
    it passed (it reuses its buffers): the residuals are the pullback's own."""
    _, pullback = s2sad.vjp(s.f, *s.args)
    first = [s.pulled(pullback, u) for u in s.left]
    arrays = _arrays_in(s.args)
    saved = [a.copy() for a in arrays]
    for a in arrays:
        a += 0.37
    try:
        after = [s.pulled(pullback, u) for u in s.left]
    finally:
        for a, old in zip(arrays, saved):
            a[...] = old
    assert_close(after, first, 0.0, 0.0, "the pullback after the caller changed its arrays")


def _arrays_in(value) -> list:
    if isinstance(value, dict):
        return [a for key in value for a in _arrays_in(value[key])]
    if isinstance(value, (tuple, list)):
        return [a for item in value for a in _arrays_in(item)]
    return [value] if isinstance(value, np.ndarray) else []


def check_dot_product(s: Subject) -> None:
    """The dot-product test <u, J v> = <J^T u, v> for random u and v, from jvp and vjp."""
    v, u = s.rng.normal(size=s.n), s.rng.normal(size=s.m)
    _, tangent = s2sad.jvp(s.f, s.args, s.tangent(v))
    jv = flatten_like(tangent, s.value, "jvp tangent")
    _, pullback = s2sad.vjp(s.f, *s.args)
    jtu = s.pulled(pullback, u)
    left, right = float(u @ jv), float(jtu @ v)
    bound = AD_RTOL * (np.abs(u) @ np.abs(jv) + np.abs(jtu) @ np.abs(v) + s.scale)
    if not abs(left - right) <= bound:
        raise Mismatch(f"<u, J v> = {left!r} but <J^T u, v> = {right!r}")


def check_jacobian(s: Subject) -> None:
    """jacobian in forward, reverse and auto mode: the same matrix, central differences'."""
    results = {}
    errors = []
    for mode in ("forward", "reverse", "auto"):
        try:
            results[mode] = s.memo(f"jacobian {mode}", lambda: s.jacobian_matrix(s.args, mode))
        except Exception as error:  # the other modes are still compared
            errors.append(error)
    for mode, jac in results.items():
        s.against_fd(
            f"jacobian(mode={mode!r})", jac, lambda args, mode=mode: s.jacobian_matrix(args, mode)
        )
        s.against_complex(f"jacobian(mode={mode!r})", jac)
    modes = list(results)
    for a, b in zip(modes, modes[1:]):
        s.close(results[b], results[a], f"jacobian(mode={b!r}) vs mode={a!r}")
    if errors:
        raise errors[0]


def check_hessian(s: Subject) -> None:
    """hessian: symmetric, and central differences of the gradient."""
    hess = s.hessian_matrix(s.args)
    s.memo("hessian", lambda: hess)
    size_ = max(1.0, float(np.max(np.abs(hess), initial=0.0)))
    assert_close(hess, hess.T, AD_RTOL, AD_RTOL * size_ * s.scale, "hessian is not symmetric")
    gradient = Differences(lambda x: s.gradient_at(s.rebuild(x)), s.x0)
    compared = gradient.check(hess, "hessian vs differences of grad")
    s.outcome.notes["hessian entries compared"] += compared


def check_hvp(s: Subject) -> None:
    """hvp(v) is H v: against the hessian and central differences of grad along v."""
    v = s.rng.normal(size=s.n)
    directions = unflatten(s.inputs, v)
    result = s2sad.hvp(s.f, wrt=s.wrt)(*s.args, *directions)
    hv = flatten_like(result, s.gradient_template, "hvp")
    along = Differences(lambda t: s.gradient_at(s.rebuild(s.x0 + t[0] * v)), np.zeros(1))
    along.check(hv[:, None], "hvp vs differences of grad along v")
    try:
        hess = s.reference("hessian", lambda: s.hessian_matrix(s.args))
    except Unavailable:
        return
    s.close(
        hv, hess @ v, "hvp vs hessian @ v", rtol=AD_RTOL * max(1.0, float(np.max(np.abs(hess))))
    )


def check_grad_of_grad(s: Subject) -> None:
    """grad(grad(f, wrt=j), wrt=j) for the first number among the inputs: d2f/dxj2."""
    j = next(k for k, t in enumerate(s.inputs) if np.ndim(t) == 0 and not isinstance(t, dict))
    position = s.positions[j]
    offset = sum(size(t) for t in s.inputs[:j])
    second = s2sad.grad(s2sad.grad(s.f, wrt=position), wrt=position)(*s.args)
    got = flatten_like(second, 0.0, "grad(grad(f))")

    partial = s2sad.grad(s.f, wrt=position)

    def first(t):
        x = s.x0.copy()
        x[offset] = t[0]
        return flatten_like(partial(*s.rebuild(x)), 0.0, "grad")

    Differences(first, s.x0[offset : offset + 1]).check(
        got[None, :], "grad(grad(f)) vs differences"
    )
    try:
        hess = s.reference("hessian", lambda: s.hessian_matrix(s.args))
    except Unavailable:
        return
    s.close(got, hess[offset, offset : offset + 1], "grad(grad(f)) vs hessian")


def check_check_grad(s: Subject) -> None:
    """check_grad passes where central differences are trustworthy everywhere."""
    if not np.all(s.fd.trusted):
        s.outcome.notes["check_grad skipped: a kink near the point"] += 1
        return
    try:
        s2sad.check_grad(s.f, *s.args, wrt=s.wrt)
    except s2sad.GradientCheckError as error:
        raise Mismatch(f"check_grad failed where central differences are smooth: {error}") from None


def check_teaching(s: Subject) -> None:
    """The teaching forms of the tangent and adjoint programs, executed in f's globals (with the
    math functions and the runtime helpers generated code names), compute what jvp and vjp do."""
    args = s.source_args()
    tangent = _load_source(s, s2sad.tangent_source(s.f, wrt=s.source_wrt, teaching=True, args=args))
    try:
        adjoint = s2sad.adjoint_source(s.f, wrt=s.source_wrt, teaching=True, args=args)
    except s2sad.NonScalarOutputError:
        if s.program.output != "array" or args is None:
            raise
        # documented: code compiled for example arguments refuses an array output (grad's code)
        s.outcome.notes["teaching gradient for example arguments refused an array output"] += 1
        adjoint = None
    _compare_programs(s, "teaching", tangent, {} if adjoint is None else _load_source(s, adjoint))


def _load_source(s: Subject, source: str) -> dict:
    namespace = {name: getattr(math, name) for name in dir(math) if not name.startswith("_")}
    namespace.update(abs=abs, max=max, min=min, float=float)
    namespace.update({helper.__name__: helper for helper in HELPERS})
    namespace.update(s.f.__globals__)
    exec(compile(source, f"<generated for seed {s.program.seed}>", "exec"), namespace)
    return namespace


def _compare_programs(s: Subject, what: str, tangent: dict, adjoint: dict) -> None:
    """``f_jvp`` of ``tangent`` and ``f_grad``/``f_vjp`` of ``adjoint`` against jvp and vjp."""
    leaves_ = s.source_call_values()
    jvp_fn = tangent["f_jvp"]
    forward = []
    for direction in s.right:
        pieces = unflatten(s.inputs, direction)
        dots = [d[()] if d.ndim == 0 else d for piece in pieces for d in _leaf_values(piece)]
        y, y_dot = _call(s, jvp_fn, leaves_ + dots, f"{what} f_jvp")
        s.same_value(y, f"{what} f_jvp")
        if not isinstance(y_dot, tuple) and np.ndim(y_dot) == 0 and np.ndim(s.value) and y_dot == 0:
            s.findings.append(
                Finding(
                    "source_shapes",
                    f"{what}: the tangent of an array of shape {np.shape(s.value)} is the number "
                    f"{y_dot!r}, not an array of that shape",
                )
            )
            y_dot = np.zeros(np.shape(s.value))
        forward.append(flatten_like(y_dot, s.value, f"{what} f_jvp tangent"))
    forward = np.array(forward).T.reshape(s.m, -1)
    s.against_fd(f"{what} f_jvp", forward, side="right")
    if s.scalar:
        rows = [_gradient_row(s, _call(s, adjoint["f_grad"], leaves_, f"{what} f_grad"), what)]
    elif s.program.output == "array" and not adjoint:  # refused while compiling
        return
    elif s.program.output == "array" and "f_vjp" not in adjoint:
        # One output, of a shape the code does not know: by contract a gradient, which refuses an
        # array when it runs (code compiled for the arguments refuses it while compiling)
        try:
            _call(s, adjoint["f_grad"], leaves_, f"{what} f_grad")
        except ValueError as error:
            if "one number" not in str(error):
                raise
        else:
            raise Finding("source_vjp", f"{what}: f_grad of f, which returns an array of {s.m} "
                          "elements, returns a gradient instead of refusing the array")  # fmt: skip
        s.outcome.notes["source gradient refused an array output"] += 1
        return
    elif "f_vjp" not in adjoint:
        names = sorted(name for name in adjoint if name.startswith("f_"))
        raise Finding(
            "source_vjp",
            f"{what}: f returns {s.program.output} output of {s.m} elements, and the adjoint "
            f"program is {names}: a gradient, as if f returned one number",
        )
    else:
        rows = []
        for u in s.left:
            bars = [b[()] if b.ndim == 0 else b for b in _leaf_values_out(s.cotangent(u))]
            result = _call(s, adjoint["f_vjp"], leaves_ + bars, f"{what} f_vjp")
            rows.append(_gradient_row(s, result, what))
    reverse = np.array(rows)
    s.against_fd(f"{what} adjoint", reverse, side=None if s.scalar else "left")
    try:
        jac = s.reference("jacobian reverse", lambda: s.jacobian_matrix(s.args, "reverse"))
    except Unavailable:
        return
    s.close(forward, jac @ s.right.T, f"{what} f_jvp vs jacobian(mode='reverse')")
    s.close(
        reverse, jac if s.scalar else s.left @ jac, f"{what} adjoint vs jacobian(mode='reverse')"
    )


def _leaf_values_out(value) -> list:
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _leaf_values_out(item)]
    return _leaf_values(value)


def _call(s: Subject, fn, arguments: list, what: str):
    """Call generated ``fn``. A name it reads that exists only inside s2sad (``cos_1``, the alias
    generated code gives ``math.cos`` where the program has a name ``cos`` of its own) is a finding
    ("source_names"); the call is retried with the alias bound, to check the numbers too."""
    count = len(inspect.signature(fn).parameters)
    if count != len(arguments):
        raise Mismatch(f"{what} takes {count} parameters; the call has {len(arguments)} leaves")
    for _ in range(10):
        try:
            return fn(*arguments)
        except NameError as error:
            base = re.sub(r"_\d+$", "", error.name or "")
            if base == error.name or base not in fn.__globals__:
                raise
            s.findings.append(
                Finding("source_names", f"{what} reads `{error.name}`, which is bound nowhere the "
                        f"printed source can see (an alias of `{base}`)")
            )  # fmt: skip
            fn.__globals__[error.name] = fn.__globals__[base]
    raise AssertionError("unreachable")


def _gradient_row(s: Subject, result, what: str) -> np.ndarray:
    """A generated gradient's result (one leaf bare, several as a tuple), as a flat row. A zero
    gradient given as the number 0 for an array is a finding ("source_shapes"), and compared as
    zeros of the array's shape."""
    templates = [leaf for t in s.inputs for leaf in _leaf_values(t)]
    parts = [result] if len(templates) == 1 else result
    if not isinstance(parts, (tuple, list)) or len(parts) != len(templates):
        raise Mismatch(f"{what} gradient: expected {len(templates)} leaves, got {result!r:.300}")
    rows = []
    for k, (part, template) in enumerate(zip(parts, templates)):
        if np.ndim(part) == 0 and template.ndim and not isinstance(part, (tuple, list, dict)):
            if part != 0:
                raise Mismatch(
                    f"{what} gradient leaf {k}: the number {part!r} for an array of shape {template.shape}"
                )
            s.findings.append(
                Finding("source_shapes", f"{what}: the gradient of an array of shape "
                        f"{template.shape} is the number {part!r}, not an array of that shape")
            )  # fmt: skip
            part = np.zeros(template.shape)
        rows.append(flatten_like(part, template, f"{what} gradient"))
    return np.concatenate(rows)


def check_export(s: Subject) -> None:
    """The module export_source writes, imported, computes what jvp and vjp do. Its code for a
    function that uses no NumPy is for numbers (its header says so, and export_source's docstring):
    given arrays, it is not compared."""
    if s.numbers_code() and _arrays_in(s.args):
        s.outcome.notes["exported code for numbers, not run with arrays"] += 1
        return
    source = s2sad.export_source(s.f, wrt=s.source_wrt, args=s.source_args())
    name = f"{s.module.__name__}_derivatives"
    path = s.workdir / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    namespace = vars(exported)
    _compare_programs(s, "exported", namespace, namespace)


def check_rebound_helper(s: Subject) -> None:
    """After a helper f calls is rebound to another function, derivatives follow the new one: a
    derivative made before the change, called after it, and one made after it."""
    old = s.f(*s.args)
    before = s2sad.jacobian(s.f, wrt=s.wrt, mode="reverse")
    before(*s.args)
    saved = {name: getattr(s.module, name) for name in s.program.helpers}
    try:
        for name in s.program.helpers:
            setattr(s.module, name, getattr(s.module, f"{name}_alt"))
        changed = Differences(s.evaluate, s.x0)
        if np.array_equal(flatten(s.f(*s.args)), flatten(old)):
            s.outcome.notes["rebinding left the value unchanged"] += 1
        existing = s.as_matrix(before(*s.args), "a jacobian made before the helper was rebound")
        changed.check(existing, "a jacobian made before the helper was rebound")
        fresh = s.as_matrix(
            s2sad.jacobian(s.f, wrt=s.wrt, mode="reverse")(*s.args),
            "a jacobian made after the helper was rebound",
        )
        changed.check(fresh, "a jacobian made after the helper was rebound")
        if s.scalar:
            gradient = flatten_like(
                s2sad.grad(s.f, wrt=s.wrt)(*s.args), s.gradient_template, "grad"
            )
            changed.check(gradient[None, :], "grad made after the helper was rebound")
    finally:
        for name, helper in saved.items():
            setattr(s.module, name, helper)


def check_complex_input(s: Subject) -> None:
    """Complex arguments are refused, or differentiated as the holomorphic function they give
    (f'(z), or its conjugate as some libraries define the gradient); never silently their real
    part. Only for analytic programs, which take complex numbers."""
    if s.complex_jacobian() is None or not s.scalar:
        return
    z0 = s.x0 + 0.25j
    args = s.rebuild(z0)
    try:
        result = s2sad.grad(s.f, wrt=s.wrt)(*args)
    except s2sad.S2SADError:
        s.outcome.notes["complex arguments refused"] += 1
        return
    got = flatten(result)
    h = 1e-6
    columns = []
    for j in range(s.n):
        step = np.zeros(s.n, dtype=complex)
        step[j] = h
        columns.append(
            (flatten(s.f(*s.rebuild(z0 + step))) - flatten(s.f(*s.rebuild(z0 - step)))) / (2 * h)
        )
    expected = np.array(columns).ravel()
    tol = 1e-6 * max(1.0, float(np.max(np.abs(expected))))
    if got.shape != expected.shape or not (
        np.all(np.abs(got - expected) <= tol) or np.all(np.abs(got - np.conj(expected)) <= tol)
    ):
        raise Mismatch(
            f"grad at complex arguments: got {got!r}, the holomorphic derivative is {expected!r}"
        )


def _needs_scalar(s):
    return s.scalar


def _has_number_input(s):
    return s.scalar and any(np.ndim(t) == 0 and not isinstance(t, dict) for t in s.inputs)


def _unstructured(s):
    return not any(isinstance(a, (dict, list)) for a in s.args)


# name -> (check, applies to the subject). Every check can fail on its own; their order lets later
# checks reuse earlier results (the gradient, the jvp columns, the Hessian).
CHECKS = {
    "trace": (check_trace, _unstructured),
    "grad": (check_grad, _needs_scalar),
    "value_and_grad": (check_value_and_grad, _needs_scalar),
    "jvp": (check_jvp, lambda s: True),
    "vjp": (check_vjp, lambda s: True),
    "vjp_buffers": (check_vjp_buffers, lambda s: bool(_arrays_in(s.args))),
    "dot_product": (check_dot_product, lambda s: True),
    "jacobian": (check_jacobian, lambda s: True),
    "hessian": (check_hessian, _needs_scalar),
    "hvp": (check_hvp, _needs_scalar),
    "grad_of_grad": (check_grad_of_grad, _has_number_input),
    "check_grad": (check_check_grad, lambda s: True),
    "teaching": (check_teaching, lambda s: True),
    "export": (check_export, lambda s: True),
    "rebound_helper": (check_rebound_helper, lambda s: "helpers" in s.program.features),
    "complex_input": (check_complex_input, lambda s: s.program.analytic),
}


# Findings some checks report under names of their own, besides the names of CHECKS.
FINDINGS = {
    "source_names": "printed source reads a name bound only inside s2sad",
    "source_shapes": "printed source returns the number 0 as the gradient or tangent of an array",
    "source_vjp": "printed adjoint of a function returning an array gives a gradient (a vjp is "
    "for several outputs; a gradient printed for one output of unknown shape refuses an array)",
}


def run(program: Program, module, workdir: Path, skip=()) -> Outcome:
    """Every check of ``CHECKS`` not in ``skip`` that applies to ``program``; findings named in
    ``skip`` are left out too."""
    outcome = Outcome(program)
    subject = Subject(program, module, workdir, outcome)
    for name, (check, applies) in CHECKS.items():
        if name in skip or not applies(subject):
            continue
        outcome.checks_run.append(name)
        try:
            with np.errstate(all="ignore"):
                check(subject)
        except Unavailable:
            pass
        except s2sad.GradientCheckError as error:
            outcome.failures.append((name, "mismatch", str(error)))
        except s2sad.S2SADError as error:
            first = str(error).strip().splitlines()[-1]
            outcome.refusals.append((name, type(error).__name__, first))
        except Mismatch as error:
            if getattr(error, "check", name) not in skip:
                outcome.failures.append((getattr(error, "check", name), "mismatch", str(error)))
        except Exception:  # anything else, from s2sad or the code it generated, is a defect
            outcome.failures.append((name, "crash", traceback.format_exc()))
        for finding in subject.findings:
            if finding.check not in skip and not any(
                f[0] == finding.check for f in outcome.failures
            ):
                outcome.failures.append((finding.check, "mismatch", str(finding)))
        subject.findings = []
        if not _same(subject.args, program.args):
            outcome.failures.append((name, "mismatch", "the caller's arguments were changed"))
            subject.args = copy.deepcopy(program.args)
    return outcome


def _same(a, b) -> bool:
    flat_a, flat_b = flatten(a), flatten(b)
    return flat_a.shape == flat_b.shape and bool(np.all(flat_a == flat_b))
