"""Structured results: functions returning dicts, dataclasses and named tuples.

Derivatives are checked against closed forms written by hand and against central differences; the
structure of every result (its type, its keys and their order) is checked to round-trip through the
trace, jvp, vjp and jacobian. Refusals are checked for their type, their message and the caret.
"""

from __future__ import annotations

import importlib
import inspect
import math
import sys
from collections import namedtuple
from dataclasses import dataclass, field
from typing import NamedTuple

import black
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sad
from s2sad.cli import main
from s2sad.trees import flatten, tree_of, unflatten


@dataclass
class State:
    position: float
    velocity: float


class Polar(NamedTuple):
    r: float
    theta: float = 0.0


def polar_dict(x, y):
    return {"r": math.sqrt(x * x + y * y), "theta": math.atan2(y, x)}


def polar_dict_jacobian(x, y):
    """∂(r, θ)/∂(x, y), by hand: r = √(x² + y²), θ = atan2(y, x)."""
    r2 = x * x + y * y
    r = math.sqrt(r2)
    return {"r": (x / r, y / r), "theta": (-y / r2, x / r2)}


def step(x, v, dt):
    return State(x + dt * v, v - dt * math.sin(x))


def step_jacobian(x, v, dt):
    """∂(position, velocity)/∂(x, v, dt), by hand."""
    return State((1.0, dt, v), (-dt * math.cos(x), 1.0, -math.sin(x)))


def to_polar(x, y):
    return Polar(math.sqrt(x * x + y * y), theta=math.atan2(y, x))


def layer(W, x):
    z = W @ x
    return {"out": np.tanh(z), "norm": np.sum(z * z)}


def layer_jacobian(W, x):
    """Blocks shaped output.shape + input.shape, by hand: out = tanh(Wx), norm = |Wx|²."""
    z = W @ x
    slope = 1.0 - np.tanh(z) ** 2
    m, n = W.shape
    d_out_d_W = np.zeros((m, m, n))
    for i in range(m):
        d_out_d_W[i, i, :] = slope[i] * x
    return {
        "out": (d_out_d_W, slope[:, None] * W),
        "norm": (2.0 * np.outer(z, x), 2.0 * z @ W),
    }


def nested(x):
    return {"pair": (x, 2.0 * x), "inner": {"c": x**3}, "pt": Polar(x)}


def keys_in_their_order(x):
    return {"z": x, "a": 2.0 * x, "m": 3.0 * x}


def sgd(params, lr):
    grads = {k: 2.0 * v for k, v in params.items()}
    return {k: params[k] - lr * grads[k] for k in params}


def with_energy(params):
    return {**params, "energy": params["w"] * params["w"]}


def from_keywords(x):
    return dict(double=2.0 * x, square=x * x)


def piecewise(x):
    if x > 0:
        r = {"a": x * x, "b": x}
    else:
        r = {"a": -x, "b": 2.0 * x}
    return r


def clipped(x):
    if x > 1.0:
        return State(1.0, 0.0)
    return State(x, velocity=2.0 * x)


def moments(x):
    return {"square": x * x, "cube": x * x * x}


def calls_and_reads(x):
    m = moments(x)
    return m["square"] + m["cube"], m


def reads_back(x):
    s = State(x * 2.0, velocity=x)
    p = Polar(x, theta=x * x)
    r, theta = p
    return s.position * s.velocity + p.theta + p[0] * theta


def echo(p):
    return p


# Central differences in float64 with h = 1e-6 err by about h²·|f'''| + ε·|f|/h ≈ 1e-10 for the
# smooth, order-one functions here; rtol 1e-6 and atol 1e-8 leave two orders of magnitude of margin.
H, RTOL, ATOL = 1e-6, 1e-6, 1e-8


def central_column(f, args, position):
    """∂f/∂args[position] for a number argument, leaf by leaf, in the structure of f's result."""
    plus, minus = list(args), list(args)
    plus[position] += H
    minus[position] -= H
    tree = tree_of(f(*args))
    columns = [
        (np.asarray(a, dtype=float) - np.asarray(b, dtype=float)) / (2 * H)
        for a, b in zip(flatten(f(*plus), tree), flatten(f(*minus), tree))
    ]
    return unflatten(tree, columns)


def assert_same_structure_close(ours, expected, rtol=RTOL, atol=ATOL):
    """Same types, keys in the same order, and leaves that agree."""
    assert tree_of(ours) == tree_of(expected), f"{ours!r} is not shaped like {expected!r}"
    if isinstance(ours, dict):
        assert list(ours) == list(expected)
    for a, b in zip(flatten(ours, tree_of(ours)), flatten(expected, tree_of(expected))):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# --- traces ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn, args",
    [
        (polar_dict, (1.0, 2.0)),
        (step, (0.3, 1.5, 0.1)),
        (to_polar, (1.0, 2.0)),
        (nested, (1.5,)),
        (keys_in_their_order, (2.0,)),
        (from_keywords, (3.0,)),
        (piecewise, (2.0,)),
        (piecewise, (-2.0,)),
        (clipped, (3.0,)),
        (clipped, (0.5,)),
        (calls_and_reads, (2.0,)),
    ],
)
def test_the_trace_returns_what_the_function_returns(fn, args):
    trace = s2sad.trace(fn)
    assert_same_structure_close(trace(*args), fn(*args), rtol=1e-15, atol=0)
    namespace = dict(trace.namespace)
    exec(str(trace), namespace)  # the printed trace is the code that runs
    assert_same_structure_close(namespace[fn.__name__](*args), fn(*args), rtol=1e-15, atol=0)


def test_the_trace_builds_the_structure_where_the_function_returns():
    assert str(s2sad.trace(keys_in_their_order)).endswith('return {"z": w1, "a": w2, "m": w3}')
    assert str(s2sad.trace(step)).endswith("return State(position=w5, velocity=w8)")
    assert str(s2sad.trace(to_polar)).endswith("return Polar(r=w6, theta=w7)")
    assert str(s2sad.trace(nested)).endswith(
        'return {"pair": (w1, w2), "inner": {"c": w3}, "pt": Polar(r=w1, theta=0.0)}'
    )


def test_structures_built_and_read_back_cost_nothing():
    # f = 2x·x + x² + x·x² = 3x² + x³
    for x in (0.5, -1.25, 2.0):
        assert s2sad.grad(reads_back)(x) == pytest.approx(6 * x + 3 * x * x, rel=1e-15)
    code = [line for line in s2sad.grad(reads_back).source.splitlines() if "#" not in line]
    assert not any("State" in line or "Polar" in line for line in code)


# --- forward mode ---------------------------------------------------------------------------------


def test_jvp_of_a_dict_against_the_closed_form():
    x, y = 1.0, 2.0
    J = polar_dict_jacobian(x, y)
    for dx, dy in [(1.0, 0.0), (0.0, 1.0), (0.3, -0.7)]:
        value, tangent = s2sad.jvp(polar_dict, (x, y), (dx, dy))
        assert_same_structure_close(value, polar_dict(x, y), rtol=1e-15, atol=0)
        expected = {k: J[k][0] * dx + J[k][1] * dy for k in J}
        assert_same_structure_close(tangent, expected, rtol=1e-14, atol=1e-15)


def test_jvp_of_a_dataclass_and_a_named_tuple_keeps_their_types():
    value, tangent = s2sad.jvp(step, (0.3, 1.5, 0.1), (0.0, 0.0, 1.0))
    assert type(value) is State and type(tangent) is State
    assert tangent.position == pytest.approx(1.5, rel=1e-15)  # ∂(x + dt·v)/∂dt = v
    assert tangent.velocity == pytest.approx(-math.sin(0.3), rel=1e-15)
    value, tangent = s2sad.jvp(to_polar, (3.0, 4.0), (1.0, 0.0))
    assert type(value) is Polar and type(tangent) is Polar
    assert tangent == pytest.approx((3.0 / 5.0, -4.0 / 25.0), rel=1e-15)


def test_jvp_keeps_keys_in_their_order_and_arrays_in_their_shapes():
    _, tangent = s2sad.jvp(keys_in_their_order, (2.0,), (1.0,))
    assert list(tangent) == ["z", "a", "m"]
    W, x = np.arange(6.0).reshape(2, 3) / 10, np.array([0.5, -1.0, 2.0])
    dx = np.array([1.0, 0.0, -1.0])
    value, tangent = s2sad.jvp(layer, (W, x), (np.zeros_like(W), dx))
    J = layer_jacobian(W, x)
    assert_same_structure_close(tangent, {"out": J["out"][1] @ dx, "norm": J["norm"][1] @ dx})


@pytest.mark.parametrize("x", [2.0, -2.0])
def test_branches_that_build_dicts_merge_them(x):
    _, tangent = s2sad.jvp(piecewise, (x,), (1.0,))
    expected = {"a": 2 * x, "b": 1.0} if x > 0 else {"a": -1.0, "b": 2.0}
    assert tangent == expected


# --- reverse mode ---------------------------------------------------------------------------------


def test_pullback_of_a_dict_against_the_closed_form_with_keys_in_any_order():
    x, y = 1.0, 2.0
    J = polar_dict_jacobian(x, y)
    value, pullback = s2sad.vjp(polar_dict, x, y)
    assert_same_structure_close(value, polar_dict(x, y), rtol=1e-15, atol=0)
    u = {"theta": -0.5, "r": 2.0}
    expected = tuple(u["r"] * J["r"][j] + u["theta"] * J["theta"][j] for j in range(2))
    assert pullback(u) == pytest.approx(expected, rel=1e-14)


def test_pullback_of_a_dataclass_against_the_closed_form():
    x, v, dt = 0.3, 1.5, 0.1
    J = step_jacobian(x, v, dt)
    _, pullback = s2sad.vjp(step, x, v, dt)
    u = State(2.0, -1.0)
    expected = tuple(u.position * J.position[j] + u.velocity * J.velocity[j] for j in range(3))
    assert pullback(u) == pytest.approx(expected, rel=1e-14)


def test_pullback_with_structured_arguments_and_results():
    # new = params - lr·2·params: ∂new_k/∂params_k = 1 - 2 lr, ∂new_k/∂lr = -2 params_k
    params, lr = {"a": 1.0, "b": 3.0}, 0.1
    value, pullback = s2sad.vjp(sgd, params, lr)
    assert value == pytest.approx({"a": 0.8, "b": 2.4}, rel=1e-15)
    grads, lr_bar = pullback({"b": 1.0, "a": 0.5})
    assert list(grads) == ["a", "b"]
    assert grads == pytest.approx({"a": 0.5 * 0.8, "b": 1.0 * 0.8}, rel=1e-15)
    assert lr_bar == pytest.approx(-2 * (0.5 * 1.0 + 1.0 * 3.0), rel=1e-15)
    _, tangent = s2sad.jvp(sgd, (params, lr), ({"a": 1.0, "b": 0.0}, 1.0))
    assert tangent == pytest.approx({"a": 0.8 - 2.0, "b": -6.0}, rel=1e-14)


def test_a_dict_can_be_spread_into_a_new_one():
    value, tangent = s2sad.jvp(with_energy, ({"w": 3.0, "q": 1.0},), ({"w": 1.0, "q": 2.0},))
    assert list(value) == ["w", "q", "energy"]
    assert tangent == {"w": 1.0, "q": 2.0, "energy": 6.0}


def test_a_structured_argument_returned_as_it_is_keeps_its_type():
    value, tangent = s2sad.jvp(echo, (Polar(1.0, 2.0),), (Polar(3.0, 4.0),))
    assert type(value) is Polar and value == (1.0, 2.0)
    assert type(tangent) is Polar and tangent == (3.0, 4.0)
    _, pullback = s2sad.vjp(echo, {"k": 1.0})
    assert pullback({"k": 5.0}) == ({"k": 5.0},)


def test_a_tuple_cotangent_may_still_be_a_list():
    _, pullback = s2sad.vjp(calls_and_reads, 2.0)
    # y = x² + x³, m = (x², x³): ∂/∂x of u0·y + u1·x² + u2·x³ at x = 2 is 16 u0 + 4 u1 + 12 u2
    assert pullback([1.0, {"square": 1.0, "cube": 1.0}]) == pytest.approx((32.0,), rel=1e-15)


# --- Jacobians ------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_of_a_dict_is_a_dict_of_blocks(mode):
    blocks = s2sad.jacobian(polar_dict, wrt=(0, 1), mode=mode)(1.0, 2.0)
    assert_same_structure_close(blocks, polar_dict_jacobian(1.0, 2.0), rtol=1e-14, atol=1e-15)
    single = s2sad.jacobian(polar_dict, wrt=1, mode=mode)(1.0, 2.0)
    assert_same_structure_close(single, {k: v[1] for k, v in polar_dict_jacobian(1.0, 2.0).items()})


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_of_arrays_in_a_dict_has_the_blocks_shapes(mode):
    W, x = np.arange(6.0).reshape(2, 3) / 10, np.array([0.5, -1.0, 2.0])
    blocks = s2sad.jacobian(layer, wrt=(0, 1), mode=mode)(W, x)
    assert [b.shape for b in blocks["out"]] == [(2, 2, 3), (2, 3)]
    assert [b.shape for b in blocks["norm"]] == [(2, 3), (3,)]
    assert_same_structure_close(blocks, layer_jacobian(W, x), rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_of_nested_structures_against_central_differences(mode):
    blocks = s2sad.jacobian(nested, mode=mode)(1.5)
    assert_same_structure_close(blocks, central_column(nested, (1.5,), 0))
    assert type(blocks["pt"]) is Polar
    blocks = s2sad.jacobian(step, wrt=0, mode=mode)(0.3, 1.5, 0.1)
    assert type(blocks) is State
    assert_same_structure_close(blocks, central_column(step, (0.3, 1.5, 0.1), 0))


def test_check_grad_and_the_table_accept_structured_results():
    assert s2sad.check_grad(nested, 1.5).ok
    assert s2sad.check_grad(step, 0.3, 1.5, 0.1).ok
    # output 1 is velocity = v - dt·sin(x): its gradient is (-dt·cos x, 1, -sin x)
    table = s2sad.explain(step, 0.3, 1.5, 0.1, output=1)
    assert table.gradient == pytest.approx(step_jacobian(0.3, 1.5, 0.1).velocity, rel=1e-15)


# --- one number expected --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "api", [s2sad.grad, s2sad.value_and_grad, s2sad.hessian, s2sad.elementwise_grad]
)
def test_a_gradient_of_a_structure_is_refused_at_the_return(api):
    with pytest.raises(s2sad.NonScalarOutputError) as info:
        api(step)(0.3, 1.5, 0.1)
    assert "returns a State dataclass of 2 values" in info.value.message
    assert "return State(" in info.value.location.text
    with pytest.raises(s2sad.NonScalarOutputError, match="returns a dict of 2 values"):
        api(polar_dict)(1.0, 2.0)


# --- generated source -----------------------------------------------------------------------------


def test_derivative_code_builds_the_structures_itself():
    tangent = s2sad.tangent_source(polar_dict)
    assert 'return {"r": w6, "theta": w7}, {"r": w6_dot, "theta": w7_dot}' in tangent
    adjoint = s2sad.adjoint_source(polar_dict)
    assert "def polar_dict_vjp(x, y, y_r_bar, y_theta_bar):" in adjoint
    tangent = s2sad.tangent_source(step)
    assert "return State(position=w5, velocity=w8), State(position=w5_dot, velocity=w8_dot)" in (
        tangent
    )
    assert "def step_vjp(x, v, dt, y_position_bar, y_velocity_bar):" in s2sad.adjoint_source(step)
    for source in (tangent, adjoint, s2sad.tangent_source(nested, teaching=True)):
        assert black.format_str(source, mode=black.Mode()) == source


def test_structured_arguments_and_results_print_their_leaves_by_path():
    source = s2sad.adjoint_source(sgd, args=({"a": 1.0, "b": 3.0}, 0.1))
    assert "def sgd_vjp(params_a, params_b, lr, y_a_bar, y_b_bar):" in source
    source = s2sad.tangent_source(with_energy, args=({"w": 3.0, "q": 1.0},))
    assert 'return {"w": params_w, "q": params_q, "energy": w3}, {' in source


def _closure_with_local_classes():
    @dataclass
    class Local:
        a: float

    Pair = namedtuple("Pair", "u v")

    def local(x):
        return Local(2.0 * x), Pair(x, v=3.0 * x)

    return local, Local, Pair


def test_a_class_defined_in_a_function_is_reached_through_the_closure():
    local, Local, Pair = _closure_with_local_classes()
    value, tangent = s2sad.jvp(local, (1.5,), (1.0,))
    assert value == (Local(3.0), Pair(1.5, 4.5)) and type(value[1]) is Pair
    assert tangent == (Local(2.0), Pair(1.0, 3.0)) and type(tangent[1]) is Pair
    with pytest.raises(s2sad.ExportError, match="`Local`, a type that cannot be imported"):
        s2sad.export_source(local)


MOTION = """\
import math
from dataclasses import dataclass


@dataclass
class Motion:
    position: float
    velocity: float


def advance(x, v, dt):
    return Motion(x + dt * v, v - dt * math.sin(x))


def summary(x, y):
    return {"total": x + y, "product": x * y}
"""


def test_command_line_prints_the_structures(tmp_path, capsys):
    (tmp_path / "motion.py").write_text(MOTION)
    assert main([f"{tmp_path / 'motion.py'}:advance", "--trace", "--forward", "--reverse"]) == 0
    out = capsys.readouterr().out
    assert "    return Motion(position=w5, velocity=w8)\n" in out
    assert (
        "return Motion(position=w5, velocity=w8), Motion(position=w5_dot, velocity=w8_dot)" in out
    )
    assert "def advance_vjp(x, v, dt, y_position_bar, y_velocity_bar):" in out
    assert main([f"{tmp_path / 'motion.py'}:summary", "--at", "x=2", "y=3"]) == 0
    assert "gradient: ∂y/∂x = 1, ∂y/∂y = 1" in capsys.readouterr().out  # of output 0, x + y


def test_exported_module_builds_the_structures(tmp_path, capsys, monkeypatch):
    (tmp_path / "motion_export.py").write_text(MOTION.replace("Motion", "Move"))
    out = tmp_path / "motion_export_grad.py"
    assert main(["export", str(tmp_path / "motion_export.py"), "-o", str(out)]) == 0
    exported = out.read_text()
    assert "from motion_export import Move" in exported
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("motion_export", "motion_export_grad"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    generated = importlib.import_module("motion_export_grad")
    source = sys.modules["motion_export"]
    args, ones = (0.3, 1.5, 0.1), (1.0, 0.0, 0.0)
    value, tangent = generated.advance_jvp(*args, *ones)
    assert type(value) is source.Move and type(tangent) is source.Move
    assert (value, tangent) == s2sad.jvp(source.advance, args, ones)
    _, pullback = s2sad.vjp(source.advance, *args)
    assert generated.advance_vjp(*args, 2.0, -1.0) == pullback(source.Move(2.0, -1.0))
    value, tangent = generated.summary_jvp(2.0, 3.0, 1.0, 0.0)
    assert (value, tangent) == ({"total": 5.0, "product": 6.0}, {"total": 1.0, "product": 3.0})


# --- wrong cotangents -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn, args, cotangent, given",
    [
        (polar_dict, (1.0, 2.0), {"r": 1.0}, "{'r': *}"),
        (polar_dict, (1.0, 2.0), {"r": 1.0, "theta": 1.0, "phi": 1.0}, "'phi': *}"),
        (polar_dict, (1.0, 2.0), 1.0, "a float"),
        (polar_dict, (1.0, 2.0), (1.0, 2.0), "(*, *)"),
        (step, (0.3, 1.5, 0.1), {"position": 1.0, "velocity": 1.0}, "{'position': *"),
        (step, (0.3, 1.5, 0.1), Polar(1.0, 2.0), "Polar(r=*, theta=*)"),
        (nested, (1.5,), {"pair": (1.0,), "inner": {"c": 1.0}, "pt": Polar(1.0)}, "(*,)"),
        (moments, (2.0,), {"square": {"x": 1.0}, "cube": 1.0}, "{'x': *}"),
    ],
)
def test_a_cotangent_of_another_structure_is_refused(fn, args, cotangent, given):
    _, pullback = s2sad.vjp(fn, *args)
    with pytest.raises(s2sad.ArgumentError) as info:
        pullback(cotangent)
    expected = {
        polar_dict: "{'r': *, 'theta': *}",
        step: "State(position=*, velocity=*)",
        nested: "{'pair': (*, *), 'inner': {'c': *}, 'pt': Polar(r=*, theta=*)}",
        moments: "{'square': *, 'cube': *}",
    }[fn]
    message = info.value.message
    assert f"cotangent shaped like its output, {expected}; got" in message
    assert given in message.split("; got ")[1]


def test_a_dict_cotangent_for_a_number_is_refused():
    _, pullback = s2sad.vjp(reads_back, 1.0)
    with pytest.raises(s2sad.ArgumentError, match=r"its output, \*; got \{'a': \*\}"):
        pullback({"a": 1.0})


# --- what is refused, at the line -----------------------------------------------------------------


@dataclass
class Doubled:
    y: float

    def __post_init__(self):
        self.y = 2.0 * self.y


@dataclass
class WithList:
    y: float
    history: list = field(default_factory=list)


class Plain:
    def __init__(self, a):
        self.a = a


def runtime_key(x, key):
    return {key: x}


def float_key(x):
    return {1.5: x}


def dict_of_double_star(p):
    return dict(**p)


def dict_of_pairs(x):
    return dict([("a", x)])


def plain_class(x):
    return Plain(x)


def post_init(x):
    return Doubled(x)


def missing_field(x):
    return WithList(x)


def unknown_field(x):
    return State(x, speed=x)


def too_many(x):
    return State(x, x, 3.0)


def starred(x):
    pair = (x, x)
    return State(*pair)


def field_twice(x):
    return State(x, position=x)


def different_keys(x):
    if x > 0:
        r = {"a": x}
    else:
        r = {"b": x}
    return r


def writes_into(x):
    d = {"a": x}
    d["b"] = x
    return d


def returns_in_a_loop(x):
    for i in range(3):
        if x > i:
            return {"a": x}
    return {"a": 0.0}


def spreads_a_number(x, y):
    return {**y, "a": x}


@pytest.mark.parametrize(
    "fn, needle, says, hint",
    [
        (runtime_key, "key:", "keys known while lowering", "write the key out"),
        (float_key, "1.5", "not a string or an integer", "use strings"),
        (dict_of_double_star, "**p", "`dict(**...)` is not supported", "{"),
        (dict_of_pairs, '[("a", x)]', "only `dict(name=value, ...)`", "dict display"),
        (plain_class, "Plain", "neither a dataclass nor a named tuple", "@dataclass"),
        (post_init, "Doubled", "its own __post_init__", "stores them as given"),
        (missing_field, "WithList(x)", "without its field `history`", "history=..."),
        (unknown_field, "speed=x", "has no field `speed`", "position, velocity"),
        (too_many, "3.0", "takes 2 field(s) by position", "as many values"),
        (starred, "*pair", "`*` in a call to `State`", "State(position=..., velocity=...)"),
        (field_twice, "position=x", "got the field `position` twice", "once"),
        (different_keys, "if x > 0:", "a dict of 'a' and a dict of 'b'", "same keys"),
        (writes_into, 'd["b"]', "writing into a dict", "build a new one whole"),
        (returns_in_a_loop, "for i in range(3):", "from inside a loop", "`break`"),
        (spreads_a_number, "**y", "`**` of something that is not a dict", "entries out"),
    ],
)
def test_unsupported_constructions_point_at_the_line(fn, needle, says, hint):
    args = (1.0, "a") if fn is runtime_key else (1.0, 2.0) if fn is spreads_a_number else (1.0,)
    if fn is dict_of_double_star:
        args = ({"a": 1.0},)
    with pytest.raises(s2sad.UnsupportedSyntaxError) as info:
        s2sad.jvp(fn, args, args)
    err = info.value
    assert says in err.message and hint in err.hint
    lines, first = inspect.getsourcelines(fn)
    row = next(i for i, text in enumerate(lines) if needle in text)
    column = lines[row].index(needle)
    assert (err.location.line, err.location.column) == (first + row, column)
    assert err.location.text == lines[row].rstrip("\n")
    _, shown, caret = str(err).splitlines()[:3]  # the source line without its indentation
    at = 4 + column - (len(lines[row]) - len(lines[row].lstrip()))
    assert caret.index("^") == at and shown[at:].startswith(needle)


# --- random structures ----------------------------------------------------------------------------

keys = st.text("abcXY_1", min_size=1, max_size=3)
leaves = st.one_of(
    st.floats(-2, 2, allow_nan=False),
    st.integers(1, 3).map(lambda n: np.linspace(-1.0, 1.0, n)),
)


def doubled_entries(params):
    return {key: 2.0 * np.sin(value) for key, value in params.items()}


@settings(max_examples=10, deadline=None)
@given(st.dictionaries(keys, leaves, min_size=1, max_size=4))
def test_random_dicts_round_trip_with_their_derivatives(params):
    value, tangent = s2sad.jvp(doubled_entries, (params,), (params,))
    assert list(value) == list(params) == list(tangent)
    expected = {k: 2.0 * np.cos(v) * v for k, v in params.items()}
    assert_same_structure_close(tangent, expected, rtol=1e-14, atol=1e-15)
    _, pullback = s2sad.vjp(doubled_entries, params)
    (grads,) = pullback(dict(reversed(list(params.items()))))
    assert_same_structure_close(grads, expected, rtol=1e-14, atol=1e-15)
