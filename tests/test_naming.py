"""Names in generated code never collide, and generated code sees what the function sees."""

import math

import s2sad


def collides(x, x_bar, y_bar, x_dot):
    return x * x_bar + y_bar * x_dot * x


def test_parameters_named_like_adjoints_and_tangents():
    # d/dx = x_bar + y_bar x_dot, d/dx_bar = x, d/dy_bar = x_dot x, d/dx_dot = y_bar x.
    point = (2.0, 3.0, 5.0, 7.0)
    expected = (3.0 + 35.0, 2.0, 14.0, 10.0)
    assert s2sad.grad(collides, wrt=(0, 1, 2, 3))(*point) == expected
    for i in range(4):
        direction = tuple(1.0 if k == i else 0.0 for k in range(4))
        assert s2sad.jvp(collides, point, direction)[1] == expected[i]
    _, pullback = s2sad.vjp(collides, *point)
    assert pullback(1.0) == expected


def ssa_lookalikes(w1, w2_bar):
    w3 = w1 * w2_bar
    return w3 + w1


def test_parameters_named_like_ssa_variables():
    trace = s2sad.trace(ssa_lookalikes)
    assert trace.equations[0] == "v1 = w1"  # the notes' w-names are taken: another letter is used
    assert s2sad.grad(ssa_lookalikes, wrt=(0, 1))(2.0, 3.0) == (4.0, 2.0)
    assert s2sad.grad(ssa_lookalikes, wrt=(0, 1))(2.0, 3.0) == (4.0, 2.0)


def sin(x, a=2.0):
    """A function named like the primitive its derivative needs."""
    return a * math.sin(x)


def test_function_named_like_a_primitive():
    assert s2sad.trace(sin)(1.0) == sin(1.0)
    assert s2sad.grad(sin)(1.0) == 2.0 * math.cos(1.0)


def make_scaled(a):
    def scaled(x, k=a):
        return k * x * x

    return scaled


def test_default_values_belong_to_each_function():
    # Both functions share one code object but not their defaults.
    two, five = make_scaled(2.0), make_scaled(5.0)
    assert two.__code__ is five.__code__
    assert s2sad.grad(two)(3.0) == 12.0
    assert s2sad.grad(five)(3.0) == 30.0
    assert "k=5.0" in s2sad.grad(five).source


def counter():
    k = 3.0

    def f(x):
        return k * x

    def set_k(value):
        nonlocal k
        k = value

    return f, set_k


def test_closure_variables_are_read_as_the_function_reads_them():
    f, set_k = counter()
    gradient = s2sad.grad(f)
    assert gradient(1.0) == 3.0
    set_k(5.0)
    assert f(1.0) == 5.0
    assert gradient(1.0) == 5.0
