"""Integer parameters (loop counts, indices) are held constant by the entry points that
differentiate the inputs given by default (check_grad, explain), unless asked for; asked for, a
count the function cannot take a fraction of is refused with an ArgumentError, not a TypeError or
an IndexError from stepping it."""

import functools
import math

import numpy as np
import pytest

import s2sad


def decay(x, steps=100, scale=2.0):
    y = x
    for _ in range(steps):
        y = y * 0.99
    return y * scale


def pick(x, k):
    return x[k] * 2.0


def power(x, n):
    return x**n


def annotated(x, n: int):
    return x * n


def test_a_loop_count_is_held_constant_and_the_rest_is_checked():
    report = s2sad.check_grad(decay, 2.0, 3)
    assert report.inputs == ("x",)
    # d/dx of 2 * 0.99**3 * x is 2 * 0.99**3 exactly; central differences on a linear function are
    # exact up to rounding (~1e-10 relative at this step).
    assert report.automatic["reverse"][0, 0] == pytest.approx(2 * 0.99**3, rel=1e-12)
    assert report.estimate[0, 0] == pytest.approx(2 * 0.99**3, rel=1e-8)


def test_an_index_is_held_constant():
    report = s2sad.check_grad(pick, np.array([1.0, 3.0]), 1)
    assert report.inputs == ("x[0]", "x[1]")
    assert report.automatic["forward"].tolist() == [[0.0, 2.0]]


def test_an_integer_used_in_arithmetic_is_an_input():
    report = s2sad.check_grad(power, 2, 3)  # d/dx x^n = n x^(n-1), d/dn x^n = x^n ln x
    assert report.inputs == ("x", "n")
    assert report.automatic["reverse"][0].tolist() == pytest.approx([12.0, 8 * math.log(2)])


def test_an_annotated_integer_is_held_constant():
    assert s2sad.check_grad(annotated, 2.0, 3).inputs == ("x",)
    assert s2sad.check_grad(annotated, 2.0, 3, wrt=(0, 1)).inputs == ("x", "n")


@pytest.mark.parametrize(
    "fn, args, wrt, raised",
    [(decay, (2.0, 3), "steps", "TypeError"), (pick, (np.ones(2), 1), 1, "IndexError")],
)
def test_asked_for_a_count_is_refused_clearly(fn, args, wrt, raised):
    with pytest.raises(s2sad.ArgumentError) as info:
        s2sad.check_grad(fn, *args, wrt=wrt)
    assert raised in str(info.value) and "leave" in info.value.hint


def test_only_integers_given_is_refused():
    with pytest.raises(s2sad.ArgumentError, match="nothing to check"):
        s2sad.check_grad(lambda k: np.arange(4.0)[k], 2)


def test_explain_holds_counts_constant_and_shows_them_when_asked():
    table = s2sad.explain(decay, 2.0, 3)
    assert table.inputs == ("x",) and table.gradient == pytest.approx((2 * 0.99**3,))
    asked = s2sad.explain(decay, 2.0, 3, wrt=(0, 1))
    assert asked.gradient == pytest.approx((2 * 0.99**3, 0.0))


def _cross_entropy(logits, labels):
    lse = np.log(np.sum(np.exp(logits), axis=1))
    return np.mean(lse - logits[np.arange(logits.shape[0]), labels])


def test_integer_labels_are_held_constant_by_binding_them_for_vjp():
    # ∂/∂logits of the mean cross-entropy: (softmax(logits) - onehot(labels)) / n
    logits, labels = np.array([[0.5, -1.0, 2.0], [0.1, 0.2, -0.3]]), np.array([2, 0])
    p = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
    expected = (p - np.eye(3)[labels]) / 2
    np.testing.assert_allclose(s2sad.grad(_cross_entropy)(logits, labels), expected, rtol=1e-14)
    with pytest.raises(s2sad.ArgumentError, match="an integer array has no derivative") as caught:
        s2sad.vjp(_cross_entropy, logits, labels)
    assert "functools.partial(f, labels=labels)" in caught.value.hint
    _, pullback = s2sad.vjp(functools.partial(_cross_entropy, labels=labels), logits)
    np.testing.assert_allclose(pullback(1.0)[0], expected, rtol=1e-14)
