"""Structured arguments: dicts, tuples, lists, dataclasses and named tuples of numbers and arrays.

Gradients are checked against the same function written with flat arguments (the compiler's
well-tested path), against central differences, and come back in the argument's structure.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import pathlib
import typing

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sad
from s2sad.trees import flatten, leaf_names, tree_of, unflatten

SAMPLES = pathlib.Path(__file__).resolve().parent.parent / "samples"
rng = np.random.default_rng(0)


def central_differences(f, args, position):
    """∂f/∂args[position], leaf by leaf, element by element, in the argument's structure.

    Central differences in float64 with h = 1e-6 err by about h²·|f'''| + ε·|f|/h ≈ 1e-10 for the
    smooth, order-one functions here, so they agree with an exact gradient to rtol 1e-6, atol 1e-8.
    """
    h = 1e-6
    tree = tree_of(args[position])
    leaves = flatten(args[position], tree)

    def at(index, element, step):
        moved = [np.array(leaf, dtype=float) for leaf in leaves]
        moved[index].flat[element] += step
        moved = [m if isinstance(leaf, np.ndarray) else float(m) for m, leaf in zip(moved, leaves)]
        new = list(args)
        new[position] = unflatten(tree, moved)
        return f(*new)

    grads = []
    for index, leaf in enumerate(leaves):
        grad = np.zeros(np.shape(leaf))
        for element in range(grad.size):
            grad.flat[element] = (at(index, element, h) - at(index, element, -h)) / (2 * h)
        grads.append(grad if isinstance(leaf, np.ndarray) else float(grad))
    return unflatten(tree, grads)


def assert_same_structure_close(ours, expected, rtol=1e-6, atol=1e-8):
    assert tree_of(ours) == tree_of(expected), f"{ours!r} is not shaped like {expected!r}"
    for a, b in zip(flatten(ours, tree_of(ours)), flatten(expected, tree_of(expected))):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# --- dicts ----------------------------------------------------------------------------------------


def mlp_loss(params, x, y):
    h = np.tanh(params["W1"] @ x + params["b1"])
    return np.sum((params["W2"] @ h - y) ** 2)


def mlp_loss_flat(W1, b1, W2, x, y):
    h = np.tanh(W1 @ x + b1)
    return np.sum((W2 @ h - y) ** 2)


def mlp_point():
    params = {
        "W1": rng.normal(size=(4, 3)),
        "b1": rng.normal(size=4),
        "W2": rng.normal(size=(2, 4)),
    }
    return params, rng.normal(size=3), rng.normal(size=2)


def test_dict_gradient_is_a_dict_matching_flat_code_and_differences():
    params, x, y = mlp_point()
    grads = s2sad.grad(mlp_loss)(params, x, y)
    assert list(grads) == ["W1", "b1", "W2"]
    flat = s2sad.grad(mlp_loss_flat, wrt=(0, 1, 2))(params["W1"], params["b1"], params["W2"], x, y)
    assert_same_structure_close(grads, dict(zip(["W1", "b1", "W2"], flat)), rtol=1e-12, atol=0)
    assert_same_structure_close(grads, central_differences(mlp_loss, (params, x, y), 0))


def test_generated_code_takes_the_leaves_by_name():
    params, x, y = mlp_point()
    source = s2sad.adjoint_source(mlp_loss, wrt=0, args=(params, x, y))
    assert source.startswith("def mlp_loss_grad(params_W1, params_b1, params_W2, x, y):")
    assert "params_W1_bar = np.outer(" in source


def l2(params, scale):
    return scale * sum(np.sum(w**2) for w in params.values())


def test_values_items_and_loops_over_a_dict():
    params = {"a": rng.normal(size=3), "b": 2.0}
    value, (grads, dscale) = s2sad.value_and_grad(l2, wrt=(0, 1))(params, 0.5)
    assert value == pytest.approx(0.5 * (np.sum(params["a"] ** 2) + 4.0))
    assert_same_structure_close(grads, {"a": params["a"], "b": 2.0}, rtol=1e-12, atol=0)
    assert dscale == pytest.approx(np.sum(params["a"] ** 2) + 4.0)


def weighted(params):
    total = 0.0
    for key, value in params.items():
        total = total + len(key) * np.sum(np.sin(value))
    for key in params:
        total = total + np.sum(params[key])
    return total


def test_items_and_iteration_over_keys():
    params = {"w": rng.normal(size=2), "bias": 0.3}
    grads = s2sad.grad(weighted)(params)
    expected = central_differences(weighted, (params,), 0)
    assert_same_structure_close(grads, expected)


# --- tuples and lists -----------------------------------------------------------------------------


def layers_loss(layers, x):
    for W, b in layers:
        x = np.tanh(W @ x + b)
    return np.sum(x**2)


def test_list_of_tuples_unrolled_and_rebuilt():
    layers = [(rng.normal(size=(3, 2)), rng.normal(size=3)), (rng.normal(size=(2, 3)), 0.5)]
    x = rng.normal(size=2)
    grads = s2sad.grad(layers_loss)(layers, x)
    assert isinstance(grads, list) and all(isinstance(layer, tuple) for layer in grads)
    assert_same_structure_close(grads, central_differences(layers_loss, (layers, x), 0))


def pair(p):
    a, b = p
    return a * b + p[0] ** 2 + len(p)


def test_tuple_unpacking_and_constant_index():
    assert s2sad.grad(pair)((2.0, 3.0)) == (3.0 + 4.0, 2.0)


def test_a_new_structure_gets_new_code():
    g = s2sad.grad(layers_loss)
    x = rng.normal(size=2)
    one = [(rng.normal(size=(2, 2)), rng.normal(size=2))]
    two = one + [(rng.normal(size=(2, 2)), rng.normal(size=2))]
    for layers in (one, two, one):
        assert_same_structure_close(g(layers, x), central_differences(layers_loss, (layers, x), 0))
    h = s2sad.grad(l2)
    assert h({"a": 1.0}, 1.0) == {"a": 2.0}
    assert h({"a": 1.0, "c": 3.0}, 1.0) == {"a": 2.0, "c": 6.0}
    assert h({"c": 3.0, "a": 1.0}, 1.0) == {"c": 6.0, "a": 2.0}
    assert h({"a": 1.0}, 1.0) == {"a": 2.0}


def test_new_shapes_inside_a_structure_get_new_code():
    g = s2sad.grad(l2)
    for size in (2, 3):
        params = {"a": np.arange(float(size))}
        assert_same_structure_close(g(params, 1.0), {"a": 2 * params["a"]}, rtol=0, atol=0)


# --- dataclasses and named tuples -----------------------------------------------------------------


@dataclasses.dataclass
class Linear:
    W: np.ndarray
    b: np.ndarray
    gain: float = 1.0


@dataclasses.dataclass(frozen=True)
class Model:
    first: Linear
    second: Linear


class Point(typing.NamedTuple):
    x: float
    y: float


def model_loss(model, x):
    h = np.tanh(model.first.gain * (model.first.W @ x) + model.first.b)
    out = model.second.W @ h + model.second.b * model.second.gain
    return np.sum(out**2)


def test_dataclass_gradient_is_the_same_dataclass():
    model = Model(
        Linear(rng.normal(size=(3, 2)), rng.normal(size=3), 0.7),
        Linear(rng.normal(size=(1, 3)), rng.normal(size=1)),
    )
    x = rng.normal(size=2)
    grads = s2sad.grad(model_loss)(model, x)
    assert type(grads) is Model and type(grads.first) is Linear
    assert_same_structure_close(grads, central_differences(model_loss, (model, x), 0))


def norm(p):
    return (p.x**2 + p[1] ** 2) ** 0.5


def test_named_tuple_by_field_and_by_index():
    grads = s2sad.grad(norm)(Point(3.0, 4.0))
    assert type(grads) is Point
    assert grads == pytest.approx(Point(0.6, 0.8))


# --- numbers, dtypes, other entry points ----------------------------------------------------------


def scaled(params):
    return params["k"] * np.sum(params["v"] ** 2)


def test_float32_leaves_stay_float32():
    params = {"k": 2.0, "v": np.array([1.0, 2.0], dtype=np.float32)}
    grads = s2sad.grad(scaled)(params)
    assert grads["v"].dtype == np.float32
    np.testing.assert_allclose(grads["v"], [4.0, 8.0])
    assert grads["k"] == pytest.approx(5.0)


def test_gradients_do_not_alias_the_arguments():
    def identity_sum(params):
        return np.sum(params["a"] * params["b"])

    params = {"a": np.ones(2), "b": np.full(2, 3.0)}
    grads = s2sad.grad(identity_sum)(params)
    assert grads["a"] is not params["b"] and grads["b"] is not params["a"]
    grads["a"][0] = 100.0
    assert params["b"][0] == 3.0


def two_outputs(p, x):
    return p["a"] * x, p["b"] + x * x


def test_jvp_and_vjp_with_a_structured_argument():
    p = {"a": 2.0, "b": 3.0}
    value, tangent = s2sad.jvp(two_outputs, (p, 5.0), ({"a": 1.0, "b": 0.0}, 1.0))
    assert value == (10.0, 28.0) and tangent == (5.0 + 2.0, 10.0)
    value, pullback = s2sad.vjp(two_outputs, p, 5.0)
    assert pullback((1.0, 0.0)) == ({"a": 5.0, "b": 0.0}, 2.0)
    assert pullback((0.0, 1.0)) == ({"a": 0.0, "b": 1.0}, 10.0)
    with pytest.raises(s2sad.ArgumentError, match="structure of its primal"):
        s2sad.jvp(two_outputs, (p, 5.0), ((1.0, 0.0), 1.0))


# --- the network of seed 001 ----------------------------------------------------------------------


def seed001_structured(params, x, r, s):
    z = params["W1"] @ x + params["b1"]
    h = 1 / (1 + np.exp(-z))
    y = params["W2"] @ h + params["b2"]
    return 0.5 * np.sum((y - s) ** 2) + r @ h


def test_seed001_network_with_a_parameter_dict_matches_the_flat_one():
    spec = importlib.util.spec_from_file_location("networks", SAMPLES / "networks.py")
    networks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(networks)
    N, K, M = 5, 4, 3
    x, W1, b1, W2, b2, r, s = [
        rng.normal(size=shape) for shape in [(N,), (K, N), (K,), (M, K), (M,), (K,), (M,)]
    ]
    params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    grads = s2sad.grad(seed001_structured)(params, x, r, s)
    flat = s2sad.grad(networks.seed001_loss, wrt=(1, 2, 3, 4))(x, W1, b1, W2, b2, r, s)
    assert_same_structure_close(grads, dict(zip(params, flat)), rtol=1e-12, atol=1e-14)


# --- what is refused ------------------------------------------------------------------------------


def runtime_key(params, key):
    return params[key] * 2.0


def writes_into(params):
    params["W"] = params["W"] * 2.0
    return params["W"]


def missing_key(params):
    return params["W"] + params["nope"]


def updates(params):
    params.update({"W": 1.0})
    return params["W"]


def returns_the_dict(params):
    return params


@pytest.mark.parametrize(
    "fn, needle, says",
    [
        (runtime_key, "params[key]", "constant key"),
        (writes_into, 'params["W"]', "read-only"),
        (missing_key, 'params["nope"]', "no entry 'nope'"),
        (updates, "params.update", "read-only"),
        (returns_the_dict, "return params", "returns a dict of 1 value"),
    ],
)
def test_unsupported_uses_point_at_the_line(fn, needle, says):
    with pytest.raises(s2sad.S2SADError) as info:
        s2sad.grad(fn)({"W": 1.0}, "W") if fn is runtime_key else s2sad.grad(fn)({"W": 1.0})
    err = info.value
    assert says in str(err)
    assert err.location is not None and needle in err.location.text
    assert err.hint


def test_source_without_arguments_explains_it_depends_on_the_structure():
    with pytest.raises(s2sad.StructureNeededError) as info:
        s2sad.adjoint_source(mlp_loss)
    assert 'params["W1"]' in info.value.location.text
    assert "args=" in info.value.hint
    with pytest.raises(s2sad.StructureNeededError):
        s2sad.trace(model_loss)
    assert "params_W1" in s2sad.tangent_source(mlp_loss, args=mlp_point())


def test_a_number_where_a_dict_is_used_is_refused():
    with pytest.raises(s2sad.StructureNeededError, match="used as a dict"):
        s2sad.grad(mlp_loss)(1.0, np.ones(3), np.ones(2))


def test_unstructured_functions_keep_their_source():
    def plain(x, y):
        return x * y

    assert "x_bar = y" in s2sad.adjoint_source(plain)
    assert s2sad.grad(plain).source.startswith("def plain_grad(x, y):")


# --- random structures ----------------------------------------------------------------------------

leaves = st.one_of(
    st.floats(-2, 2, allow_nan=False),
    st.integers(1, 3).map(lambda n: np.linspace(-1.0, 1.0, n)),
)
keys = st.text("abcXY_1", min_size=1, max_size=3)
structures = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3),
        st.lists(inner, min_size=1, max_size=3).map(tuple),
        st.dictionaries(keys, inner, min_size=1, max_size=3),
    ),
    max_leaves=6,
)


@settings(max_examples=40, deadline=None)
@given(structures)
def test_trees_round_trip(value):
    tree = tree_of(value)
    leaves_of = flatten(value, tree)
    rebuilt = unflatten(tree, list(leaves_of))
    assert tree_of(rebuilt) == tree
    assert all(a is b for a, b in zip(flatten(rebuilt, tree), leaves_of))
    names = leaf_names("p", tree, set())
    assert len(set(names)) == len(names) == len(leaves_of)
    assert all(name.isidentifier() for name in names)


def sine_energy(params):
    return sum(np.sum(np.sin(value)) for value in params.values())


@settings(max_examples=10, deadline=None)
@given(st.dictionaries(keys, leaves, min_size=1, max_size=4))
def test_random_dicts_get_cosines(params):
    grads = s2sad.grad(sine_energy)(params)
    assert_same_structure_close(
        grads, {k: np.cos(v) for k, v in params.items()}, rtol=1e-12, atol=1e-15
    )


# --- subclasses of list, as evolutionary-algorithm libraries make individuals ----------------------


class Individual(list):
    """A DEAP-style individual: a list with a class attribute, reading its elements as a list."""

    fitness = None


class Doubling(list):
    def __getitem__(self, i):  # reads its elements its own way: not taken for a list
        return 2 * list.__getitem__(self, i)


def sphere_shifted(ind):
    return sum((x - 1.0) ** 2 for x in ind) + ind[0] * ind[-1]


def test_a_list_subclass_is_differentiated_as_a_list_and_its_gradient_is_of_its_class():
    ind = Individual([0.5, -1.2, 0.3])
    # by hand: ∂/∂x_i = 2 (x_i - 1), plus x_2 at i = 0 and x_0 at i = 2
    expected = [2 * (0.5 - 1) + 0.3, 2 * (-1.2 - 1), 2 * (0.3 - 1) + 0.5]
    gradient = s2sad.grad(sphere_shifted)(ind)
    assert type(gradient) is Individual
    np.testing.assert_allclose(gradient, expected, rtol=1e-15)
    value, pullback = s2sad.vjp(sphere_shifted, ind)
    assert value == sphere_shifted(ind)
    np.testing.assert_allclose(pullback(1.0)[0], expected, rtol=1e-15)
    jacobian = s2sad.jacobian(sphere_shifted)(ind)
    assert type(jacobian) is Individual and all(type(block) is float for block in jacobian)
    np.testing.assert_allclose(jacobian, expected, rtol=1e-15)
    hessian = s2sad.hessian(sphere_shifted)(ind)
    np.testing.assert_allclose(np.array(hessian, dtype=float), [[2, 0, 1], [0, 2, 0], [1, 0, 2]])


def test_a_list_subclass_reading_its_elements_its_own_way_is_refused():
    with pytest.raises(s2sad.ArgumentError, match="an argument of type Doubling"):
        s2sad.grad(sphere_shifted)(Doubling([0.5, 1.0]))
