"""Names in generated code never collide, and generated code sees what the function sees."""

import math

import numpy as np

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


# --- a parameter named self is an ordinary parameter ------------------------------------------------


def first_self(self, y):
    return self * y


def first_cls(cls, y):
    return cls * y * y


def test_a_plain_function_whose_first_parameter_is_self_is_not_a_method():
    assert s2sad.grad(first_self)(2.0, 3.0) == 3.0  # ∂/∂self
    assert s2sad.grad(first_self, wrt=1)(2.0, 3.0) == 2.0
    assert s2sad.grad(first_cls, wrt=(0, 1))(2.0, 3.0) == (9.0, 12.0)
    assert s2sad.jvp(first_self, (2.0, 3.0), (1.0, 0.0)) == (6.0, 3.0)
    assert s2sad.vjp(first_self, 2.0, 3.0)[1](1.0) == (3.0, 2.0)
    np.testing.assert_array_equal(s2sad.jacobian(first_self, wrt=(0, 1))(2.0, 3.0), [3.0, 2.0])
    assert s2sad.hessian(first_self, wrt=(0, 1))(2.0, 3.0) == ((0.0, 1.0), (1.0, 0.0))


class Scaled:
    def __init__(self, k):
        self.k = k

    @s2sad.grad
    def loss(this, w):  # the instance, whatever it is called
        return this.k * w * w

    @s2sad.jacobian
    def pair(self, w):
        return self.k * w, w * w

    @staticmethod
    @s2sad.grad
    def static(x, y):
        return x * y * y

    def energy(self, q):
        return self.k * q * q * q


def test_a_method_is_one_when_it_is_reached_as_one():
    model = Scaled(3.0)
    assert model.loss(2.0) == 12.0  # looked up on an instance: with respect to w
    np.testing.assert_array_equal(model.pair(2.0), [3.0, 4.0])
    assert Scaled.static(2.0, 3.0) == 9.0 and model.static(2.0, 3.0) == 9.0
    assert s2sad.grad(model.energy)(2.0) == 36.0  # a bound method
    assert Scaled.loss.__name__ == "loss_grad"


# --- names the generated code gives its own functions, and globals it reads -----------------------

lookalike_grad = 2.0  # a module global spelled like the gradient of `lookalike`
SCALE = 3.0


def lookalike(x):
    return x * x * lookalike_grad


def _scaled(z):
    return z * SCALE


def hides_a_global(x, SCALE):
    return _scaled(x) * SCALE  # the helper reads the module's SCALE, not this parameter


def test_a_generated_function_gives_way_to_a_global_of_its_name():
    assert s2sad.grad(lookalike)(3.0) == 12.0
    assert s2sad.value_and_grad(lookalike)(3.0) == (18.0, 12.0)
    assert "def lookalike_grad_2(x):" in s2sad.grad(lookalike).source


def test_a_parameter_does_not_hide_the_global_an_inlined_function_reads():
    # f = 3 x S: ∂f/∂x = 3 S, ∂f/∂S = 3 x
    assert s2sad.grad(hides_a_global, wrt=(0, 1))(2.0, 5.0) == (15.0, 6.0)
    assert s2sad.jvp(hides_a_global, (2.0, 5.0), (1.0, 0.0)) == (30.0, 15.0)
