"""Folding array temporaries into their single reader (s2sad/fold.py) and the teaching form of code
compiled for known shapes, which keeps every statement.

Folding only moves where a value is computed, so a folded program must compute exactly what the
unfolded one does: the end-to-end checks compare with the teaching form (nothing folded) at
rtol = 1e-15, the checks of generated code look at what was folded and what stayed in place.
"""

from __future__ import annotations

import numpy as np
import pytest

from s2sad.dispatch import specialised
from s2sad.fold import MOST_CALLS, folded
from s2sad.ir import Assign, Call, Const, Loop, Return, Var
from s2sad.traversal import walk
from s2sad.pipeline import Spec
from s2sad.primitives import PRIMITIVES
from s2sad.shapes import Kind

VECTOR = Kind((4,), "<f8")


def sin(x):
    return Call(PRIMITIVES["np.sin"], (x,))


def assigned_names(body):
    return [s.target.name for s in walk(body) if isinstance(s, Assign)]


def test_a_temporary_read_once_is_written_into_its_reader():
    x, a, b = Var("x"), Var("a"), Var("b")
    body = folded([Assign(a, x * x), Assign(b, sin(a) * 2.0), Return(b)], {"x": VECTOR})
    assert assigned_names(body) == ["b"]
    assert str(body[0].value) == "np.sin(x * x) * 2.0"


def test_numbers_values_read_twice_and_returned_values_keep_their_names():
    x, s, a, b, c = Var("x"), Var("s"), Var("a"), Var("b"), Var("c")
    body = [
        Assign(a, x * x),  # read twice
        Assign(b, s * s),  # a number: NumPy has no temporary to reuse
        Assign(c, a * a + b),  # returned
        Return(c),
    ]
    assert folded(body, {"x": VECTOR, "s": Kind((), "<f8")}) == body


def test_a_value_is_not_moved_past_a_loop_that_rebinds_what_it_reads():
    x, h, a, b = Var("x"), Var("h"), Var("a"), Var("b")
    loop = Loop([h], [x], [], [sin(h)], Var("i"), Call(PRIMITIVES["range"], (Const(3),)))
    body = [Assign(a, x * 2.0), loop, Assign(b, a + h), Return(b)]
    assert str(folded(body, {"x": VECTOR})[1].value) == "x * 2.0 + h"  # x is not rebound
    reads_carried = [Assign(h, x * 1.5), Assign(a, h * 2.0), loop, Assign(b, a + h), Return(b)]
    result = folded(reads_carried, {"x": VECTOR})
    assert [type(s).__name__ for s in result] == ["Assign", "Assign", "Loop", "Assign", "Return"]
    assert result[1].target == a  # computed before the loop rebinds h


def test_a_value_read_inside_a_block_is_computed_before_it():
    x, h, a = Var("x"), Var("h"), Var("a")
    loop = Loop([h], [x], [], [h * Var("a")], Var("i"), Call(PRIMITIVES["range"], (Const(3),)))
    body = [Assign(a, sin(x)), loop, Return(h)]
    assert folded(body, {"x": VECTOR}) == body


def test_long_expressions_are_not_folded_further():
    x, names = Var("x"), [Var(f"a{i}") for i in range(MOST_CALLS + 3)]
    body, previous = [], x
    for name in names:
        body.append(Assign(name, sin(previous)))
        previous = name
    body.append(Return(previous))
    result = folded(body, {"x": VECTOR})
    assert 1 < len(result) - 1 < len(names)  # some folded, not all into one expression


def chain(x):
    return np.sum(np.tanh(np.sin(x) * x + 0.5) * np.exp(-x * x))


def loop_of_arrays(x, W):
    h = x
    for _ in range(3):
        z = W @ h
        h = np.tanh(z) * 0.5 + h * np.cos(z)
    return np.sum(h * h)


def branchy(x, s):
    y = np.sin(x) * x
    if s > 0:
        y = np.exp(-y * y) + y
    else:
        y = y * y * 3.0
    return np.sum(np.cos(y) * y)


rng = np.random.default_rng(5)
CASES = [
    (chain, (rng.normal(size=50),)),
    (loop_of_arrays, (rng.normal(size=4), rng.normal(size=(4, 4)) / 2)),
    (branchy, (rng.normal(size=6), 1.0)),
    (branchy, (rng.normal(size=6), -1.0)),
]


def compiled_gradient(fn, args, teaching):
    params = fn.__code__.co_varnames[: fn.__code__.co_argcount]
    spec = Spec("grad", params, teaching)
    (generated,) = specialised(fn, spec, params, args)
    return generated


@pytest.mark.parametrize(
    "fn, args", CASES, ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(CASES)]
)
def test_folded_gradients_equal_the_teaching_form(fn, args):
    optimised = compiled_gradient(fn, args, teaching=False)
    teaching = compiled_gradient(fn, args, teaching=True)
    for got, expected in zip(optimised(*args), teaching(*args)):
        np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-15)


def test_the_teaching_form_for_known_shapes_keeps_every_statement_of_the_notes():
    source = compiled_gradient(chain, CASES[0][1], teaching=True).source
    for line in ["w1 = x", "w3 = w2 * w1", "w10_bar = 1.0", "w9_bar = np.broadcast_to(w10_bar"]:
        assert line in source
    assert "w7 = w6 * w1" in source


def test_the_chain_gradient_folds_its_single_use_temporaries():
    source = compiled_gradient(chain, CASES[0][1], teaching=False).source
    # w3 = w2 * x is read once, by w4; w4 is read twice (by np.tanh and by its slope, which needs
    # the argument where |x| > 1) and stays; so does w7 = w6 * x, read once, by np.exp
    assert "w4 = w2 * x + 0.5" in source and "np.exp(w6 * x)" in source
    assert "w3 =" not in source and "w7 =" not in source
