"""Derivatives computed without s2sad, and the layout helpers that compare s2sad's results with them.

Every oracle here calls only the program itself (plain Python and NumPy): central differences in
float64, the complex step for programs that are analytic, and nothing that shares code with the
implementation under test. Values are compared as flat float vectors: ``flatten`` walks numbers,
arrays, tuples, lists and dicts in a fixed order, and ``flatten_like`` walks a result of s2sad along
the structure it must have (the argument's or the output's), failing on any difference of structure
or shape, so that a gradient with a missing key or a wrong shape is reported rather than reshaped.
"""

from __future__ import annotations

import numpy as np

# --- structures as flat vectors ------------------------------------------------------------------


class Mismatch(AssertionError):
    """A result of s2sad that differs from what an oracle or another entry point says."""


def leaves(value) -> list:
    """The numbers and arrays in ``value``, dicts in their key order, as NumPy arrays."""
    if isinstance(value, dict):
        return [leaf for key in value for leaf in leaves(value[key])]
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in leaves(item)]
    return [np.asarray(value)]


def flatten(value) -> np.ndarray:
    """All elements of ``value``'s leaves, in order, as one vector (complex stays complex)."""
    parts = [np.ravel(leaf) for leaf in leaves(value)]
    return np.concatenate(parts) if parts else np.zeros(0)


def size(value) -> int:
    return int(sum(leaf.size for leaf in leaves(value)))


def unflatten(template, vector: np.ndarray):
    """A value of ``template``'s structure holding the elements of ``vector`` (a number for a number,
    a fresh array for an array), so that ``flatten(unflatten(t, v))`` is ``v``."""
    position = 0

    def build(node):
        nonlocal position
        if isinstance(node, dict):
            return {key: build(item) for key, item in node.items()}
        if isinstance(node, (tuple, list)):
            return type(node)(build(item) for item in node)
        count = int(np.size(node))
        chunk = vector[position : position + count]
        position += count
        if np.ndim(node) == 0 and not isinstance(node, np.ndarray):
            return complex(chunk[0]) if np.iscomplexobj(chunk) else float(chunk[0])
        return np.array(chunk).reshape(np.shape(node))

    return build(template)


def flatten_like(result, template, what: str) -> np.ndarray:
    """``result`` as a float vector, read along ``template``'s structure; a result of another
    structure (a missing or extra key, another length, another shape) is a :class:`Mismatch`."""
    parts = []

    def walk(node, value, path):
        if isinstance(node, dict):
            if not isinstance(value, dict) or set(value) != set(node):
                keys = sorted(value) if isinstance(value, dict) else type(value).__name__
                raise Mismatch(
                    f"{what}{path}: expected a dict with keys {sorted(node)}, got {keys}"
                )
            for key in node:
                walk(node[key], value[key], f"{path}[{key!r}]")
        elif isinstance(node, (tuple, list)):
            if not isinstance(value, (tuple, list)) or len(value) != len(node):
                raise Mismatch(f"{what}{path}: expected {len(node)} items, got {value!r:.200}")
            for k, (item, part) in enumerate(zip(node, value)):
                walk(item, part, f"{path}[{k}]")
        else:
            if isinstance(value, (dict, tuple, list)):
                raise Mismatch(
                    f"{what}{path}: expected an array of shape {np.shape(node)}, got {value!r:.200}"
                )
            if np.shape(value) != np.shape(node):
                raise Mismatch(f"{what}{path}: shape {np.shape(value)}, expected {np.shape(node)}")
            array = np.asarray(value)
            if array.dtype.kind not in "fiub":
                raise Mismatch(f"{what}{path}: dtype {array.dtype}, expected real numbers")
            parts.append(np.ravel(array).astype(float))

    walk(template, result, "")
    return np.concatenate(parts) if parts else np.zeros(0)


def block_matrix(result, outer: list, inner: list, what: str) -> np.ndarray:
    """A derivative laid out as JAX lays it out, as one matrix: ``result`` is nested first along the
    structures in ``outer`` (one output, several outputs as a tuple, or several inputs as a tuple),
    and each of its leaves along those in ``inner``, holding a block of shape
    ``outer leaf shape + inner leaf shape``. Rows are the elements of ``outer``'s leaves."""
    rows = []
    for outer_shape, part in _walk(result, outer, what):
        row = []
        for inner_shape, block in _walk(part, inner, f"{what} block"):
            expected = tuple(outer_shape) + tuple(inner_shape)
            if np.shape(block) != expected:
                raise Mismatch(f"{what}: a block of shape {np.shape(block)}, expected {expected}")
            row.append(np.reshape(np.asarray(block, dtype=float), (_count(outer_shape), -1)))
        rows.append(np.hstack(row) if row else np.zeros((_count(outer_shape), 0)))
    return np.vstack(rows) if rows else np.zeros((0, 0))


def _count(shape) -> int:
    return int(np.prod(shape, dtype=int))


def _walk(value, templates: list, what: str):
    """``(leaf shape, part)`` for each leaf of the templates: one template is not wrapped, several
    are a tuple, as s2sad nests derivatives with respect to ``wrt=0`` and ``wrt=(0, 1)``."""
    if len(templates) != 1:
        if not isinstance(value, tuple) or len(value) != len(templates):
            raise Mismatch(f"{what}: expected a tuple of {len(templates)}, got {value!r:.300}")
        parts = list(value)
    else:
        parts = [value]
    for template, part in zip(templates, parts):
        yield from _walk_one(template, part, what)


def _walk_one(template, value, what):
    if isinstance(template, dict):
        if not isinstance(value, dict) or set(value) != set(template):
            raise Mismatch(
                f"{what}: expected a dict with keys {sorted(template)}, got {value!r:.300}"
            )
        for key in template:
            yield from _walk_one(template[key], value[key], what)
    elif isinstance(template, (tuple, list)):
        if not isinstance(value, (tuple, list)) or len(value) != len(template):
            raise Mismatch(f"{what}: expected {len(template)} items, got {value!r:.300}")
        for item, part in zip(template, value):
            yield from _walk_one(item, part, what)
    else:
        yield np.shape(template), value


# --- comparisons ---------------------------------------------------------------------------------


def assert_close(actual, expected, rtol, atol, what: str, mask=None) -> None:
    """``|actual - expected| <= atol + rtol * max(|actual|, |expected|)`` elementwise (where ``mask``
    is true), and ``actual`` finite; ``atol`` may be an array."""
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    if actual.shape != expected.shape:
        raise Mismatch(f"{what}: shape {actual.shape}, expected {expected.shape}")
    allowed = atol + rtol * np.maximum(np.abs(actual), np.abs(expected))
    bad = ~(np.abs(actual - expected) <= allowed)
    if mask is not None:
        bad &= mask
    if np.any(bad):
        where = list(zip(*np.nonzero(bad)))[:6]
        listing = "; ".join(
            f"{tuple(int(i) for i in k)}: got {actual[k]!r}, expected {expected[k]!r}"
            for k in where
        )
        raise Mismatch(f"{what}: {int(np.sum(bad))} of {bad.size} entries differ ({listing})")


# --- central differences -------------------------------------------------------------------------
#
# D(h) = (f(x + h e_j) - f(x - h e_j)) / 2h with h = STEP * max(1, |x_j|). Its truncation error is
# h^2 |f'''| / 6 (about 2e-11 |f'''| here) and its rounding error about k eps M / h, for k rounded
# operations on values of size M: with eps = 2.2e-16 and the programs' few dozen to few hundred
# operations, 1e-9 M to 1e-8 M. STEP = 1e-5 is near the optimum eps^(1/3) of central differences in
# float64, where the two errors balance.
STEP = 1e-5
#
# A difference quotient is a derivative only where f is smooth along the stencil. Across a kink
# (abs, max, a branch switch, a changed trip count) it measures a jump or an average of two slopes.
# An entry is trusted only if (a) D(h) and D(2h) agree, which fails for a kink between h and 2h
# away, or a jump anywhere in the stencil (D(h) ~ J/2h and D(2h) ~ J/4h), and (b) the one-sided
# quotients are consistent with a smooth second derivative: for smooth f, D+(h) - D-(h) = h f''
# and (D+(2h) - D-(2h)) / 2 = h f'' too, up to O(h^3 f'''') and rounding, while a kink at distance
# d <= h, with a change of slope s, makes the first minus the second s (2h - 3d) / 4h, and
# D(h) - D(2h) = -s d / 4h: one of the two is at least s / 8. So a kink passes both tests only where
# its change of slope is below about 1e-3 of the derivative, and the error it then causes (at most
# s / 2) is small; a mismatch is in any case confirmed at a second point before it is reported
# (see checks.py), which a kink this close to both points would need to follow.
TRUST_RTOL = 1e-4
TRUST_ATOL = 1e-7
#
# Trusted entries are compared with FD_RTOL relative plus FD_ATOL * scale (scale: the largest of 1,
# |f| and the derivatives' size; rounding errors are relative to the values computed, not to the
# derivative), plus three times the measured |D(h) - D(2h)|, which is about three times the
# truncation error of D(h) and includes the rounding noise that differs between the two steps. A
# wrong derivative (a term dropped, doubled, or taken from the other branch) is off by the order of
# the derivative itself, far above all three terms.
FD_RTOL = 1e-5
FD_ATOL = 1e-6


class Differences:
    """Central differences of ``fun`` (flat vector -> flat vector) at ``x``: the Jacobian estimate
    ``jacobian`` (rows outputs, columns inputs), its error estimate ``error``, and ``trusted``, the
    entries where the stencil shows ``fun`` smooth."""

    def __init__(self, fun, x: np.ndarray):
        x = np.asarray(x, dtype=float)
        center = np.asarray(fun(x), dtype=float)
        m, n = center.size, x.size
        self.value = center
        self.jacobian = np.zeros((m, n))
        self.error = np.zeros((m, n))
        self.trusted = np.zeros((m, n), dtype=bool)
        scale = max(1.0, float(np.max(np.abs(center), initial=0.0)))
        for j in range(n):
            h = STEP * max(1.0, abs(x[j]))
            points = {}
            for k in (-2, -1, 1, 2):
                step = np.zeros(n)
                step[j] = k * h
                points[k] = np.asarray(fun(x + step), dtype=float)
            fine = (points[1] - points[-1]) / (2 * h)
            coarse = (points[2] - points[-2]) / (4 * h)
            plus, minus = (points[1] - center) / h, (center - points[-1]) / h
            plus2, minus2 = (points[2] - center) / (2 * h), (center - points[-2]) / (2 * h)
            curvature = (plus - minus) - (plus2 - minus2) / 2
            allowed = TRUST_ATOL * scale + TRUST_RTOL * np.abs(fine)
            finite = np.all([np.isfinite(p) for p in points.values()], axis=0)
            self.jacobian[:, j] = fine
            self.error[:, j] = np.abs(fine - coarse)
            self.trusted[:, j] = (
                finite & (np.abs(fine - coarse) <= allowed) & (np.abs(curvature) <= 4 * allowed)
            )
        self.scale = max(scale, float(np.max(np.abs(self.jacobian), initial=0.0)))

    def project(self, left=None, right=None) -> "Differences":
        """The estimate of ``left @ J @ right`` (directional derivatives), trusted where every entry
        of J it is made of is trusted."""
        left = np.eye(self.jacobian.shape[0]) if left is None else np.asarray(left, dtype=float)
        right = np.eye(self.jacobian.shape[1]) if right is None else np.asarray(right, dtype=float)
        projected = object.__new__(Differences)
        projected.value, projected.scale = self.value, self.scale
        projected.jacobian = left @ self.jacobian @ right
        projected.error = np.abs(left) @ self.error @ np.abs(right)
        untrusted = (np.abs(left) > 0) @ (~self.trusted) @ (np.abs(right) > 0)
        projected.trusted = untrusted == 0
        return projected

    def check(self, actual: np.ndarray, what: str) -> int:
        """Compare ``actual`` (same layout) on the trusted entries; returns how many were compared."""
        atol = FD_ATOL * self.scale + 3 * self.error
        assert_close(
            actual, self.jacobian, FD_RTOL, atol, f"{what} vs central differences", self.trusted
        )
        return int(np.sum(self.trusted))


# --- the complex step ----------------------------------------------------------------------------
#
# For a program built from analytic operations only, Im f(x + i h e_j) / h = f'(x) e_j + O(h^2) with
# no cancellation, so h = 1e-20 gives the derivative to rounding: agreement to COMPLEX_RTOL (a few
# hundred ulps) is expected. A program that is not analytic (abs, comparisons, max) is never given
# to it: abs of a complex number is its modulus, and the oracle would be wrong without noticing.
COMPLEX_STEP = 1e-20
COMPLEX_RTOL = 1e-9


def complex_step(fun, x: np.ndarray) -> np.ndarray:
    """The Jacobian of ``fun`` at ``x`` by the complex step, rows outputs and columns inputs."""
    x = np.asarray(x, dtype=float)
    columns = []
    for j in range(x.size):
        point = x.astype(complex)
        point[j] += 1j * COMPLEX_STEP
        columns.append(np.imag(np.asarray(fun(point))) / COMPLEX_STEP)
    return np.array(columns).T.reshape(-1, x.size)
