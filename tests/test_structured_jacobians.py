"""Structured arguments in Jacobians, Hessians, Hessian-vector products, second derivatives,
check_grad, explain, graphs, export and the command line.

Oracles, independent of the code under test:

- analytic derivatives, written out per test;
- the same function written with flat arguments, whose Jacobians and Hessians (the compiler's
  well-tested path) must agree leaf by leaf, to rounding (rtol 1e-12: the same arithmetic, perhaps
  summed in another order);
- central differences in float64. With h = 1e-6 a first derivative errs by about
  h²·|f'''|/6 + ε·|f|/h ≈ 1e-12 + 1e-10 for the order-one functions here, so rtol 1e-6 and atol
  1e-8 leave a wide margin. A second derivative by the four-point formula with h = 1e-4 errs by about
  h²·|f''''| + ε·|f|/h² ≈ 1e-8 + 1e-8, so there rtol 1e-5 and atol 1e-6.
"""

from __future__ import annotations

import dataclasses
import typing

import numpy as np
import pytest

import s2sad
from s2sad.cli import main
from s2sad.trees import flatten, tree_of, unflatten

rng = np.random.default_rng(7)


# --- oracles and helpers --------------------------------------------------------------------------


def leaves(value) -> list:
    return flatten(value, tree_of(value))


def moved(args, position, leaf, element, step):
    """``args`` with element ``element`` of leaf ``leaf`` of ``args[position]`` moved by ``step``."""
    tree = tree_of(args[position])
    values = [np.array(v, dtype=float) for v in leaves(args[position])]
    values[leaf].flat[element] += step
    values = [v if np.ndim(old) else float(v) for v, old in zip(values, leaves(args[position]))]
    new = list(args)
    new[position] = unflatten(tree, values)
    return new


def difference_jacobian(f, args, position):
    """∂f/∂args[position] by central differences (h = 1e-6, see the module docstring), in the
    argument's structure, each leaf's block of shape ``output.shape + leaf.shape``; one output."""
    h = 1e-6
    blocks = []
    for leaf, value in enumerate(leaves(args[position])):
        columns = []
        for element in range(np.size(value)):
            plus = np.asarray(f(*moved(args, position, leaf, element, h)))
            minus = np.asarray(f(*moved(args, position, leaf, element, -h)))
            columns.append((plus - minus) / (2 * h))
        output_shape = np.shape(columns[0])
        block = np.stack(columns, axis=-1).reshape(output_shape + np.shape(value))
        blocks.append(block)
    return unflatten(tree_of(args[position]), blocks)


def difference_hessian_block(f, args, position, a, b):
    """∂²f/∂leaf_a∂leaf_b of ``args[position]`` by the four-point central formula (h = 1e-4)."""
    h = 1e-4
    xa, xb = leaves(args[position])[a], leaves(args[position])[b]
    block = np.zeros(np.shape(xa) + np.shape(xb))
    for i in range(np.size(xa)):
        for j in range(np.size(xb)):
            total = 0.0
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                once = moved(args, position, a, i, si * h)
                total += si * sj * f(*moved(once, position, b, j, sj * h))
            block.reshape(-1)[i * np.size(xb) + j] = total / (4 * h * h)
    return block


def assert_tree_close(ours, expected, rtol=1e-6, atol=1e-8):
    """Same structure (containers, keys, lengths), same leaf shapes, close leaves."""
    assert tree_of(ours) == tree_of(expected), f"{ours!r} is not structured like {expected!r}"
    for a, b in zip(leaves(ours), leaves(expected)):
        assert np.shape(a) == np.shape(b), (np.shape(a), np.shape(b))
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# --- the functions --------------------------------------------------------------------------------


def layer(p, x):
    return np.tanh(p["W"] @ x + p["b"])


def layer_flat(W, b, x):
    return np.tanh(W @ x + b)


def loss(p, x):
    return np.sum(np.tanh(p["W"] @ x + p["b"]) ** 2)


def loss_flat(W, b, x):
    return np.sum(np.tanh(W @ x + b) ** 2)


def point():
    return {"W": rng.normal(size=(2, 3)), "b": rng.normal(size=2)}, rng.normal(size=3)


def two_outputs(p, x):
    return np.tanh(p["W"] @ x + p["b"]), np.sum(p["b"] ** 3) * x[0]


def two_outputs_flat(W, b, x):
    return np.tanh(W @ x + b), np.sum(b**3) * x[0]


def polynomial(p):
    """H: [a][a] = 2b, [a][b] = 2a, [a][v] = 1, [b][b] = 0, [b][v] = 0, [v][v] = diag(6v)."""
    return p["a"] ** 2 * p["b"] + np.sum(p["v"] ** 3) + p["a"] * np.sum(p["v"])


def polynomial_hessian(a, b, v):
    n = v.size
    return {
        "a": {"a": 2 * b, "b": 2 * a, "v": np.ones(n)},
        "b": {"a": 2 * a, "b": 0.0, "v": np.zeros(n)},
        "v": {"a": np.ones(n), "b": np.zeros(n), "v": np.diag(6 * v)},
    }


def energy_of_all(p):
    """A sum over every entry: a new key or a longer list changes the function's structure."""
    return sum(np.sum(np.sin(value) * value) for value in p.values())


def energy_of_list(layers):
    return sum(np.sum(w * w) * c for w, c in layers)


@dataclasses.dataclass
class Params:
    W: np.ndarray
    b: float


class Pair(typing.NamedTuple):
    first: np.ndarray
    second: float


def with_records(p, pair, layers):
    z = np.sin(p.W) * p.b + pair.first * pair.second
    for w, c in layers:
        z = z * c + w
    return np.sum(z**2)


def records_point():
    return (
        Params(rng.normal(size=3), 0.7),
        Pair(rng.normal(size=3), -1.3),
        [(rng.normal(size=3), 0.4), (rng.normal(size=3), 1.1)],
    )


# --- jacobian -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_of_a_dict_is_a_dict_of_analytic_blocks(mode):
    p, x = point()
    J = s2sad.jacobian(layer, mode=mode)(p, x)
    y = layer(p, x)
    slope = 1 - y**2  # d tanh(z)/dz
    expected_W = np.einsum("i,ij,k->ijk", slope, np.eye(2), x)  # ∂y_i/∂W_jk = slope_i δ_ij x_k
    assert_tree_close(J, {"W": expected_W, "b": np.diag(slope)}, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_with_several_inputs_and_outputs_matches_the_flat_function(mode):
    p, x = point()
    ours = s2sad.jacobian(two_outputs, wrt=(0, 1), mode=mode)(p, x)
    flat = s2sad.jacobian(two_outputs_flat, wrt=(0, 1, 2), mode=mode)(p["W"], p["b"], x)
    for (dp, dx), (dW, db, dx_flat) in zip(ours, flat):  # one row per output
        assert_tree_close(dp, {"W": dW, "b": db}, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(dx, dx_flat, rtol=1e-12, atol=1e-15)
    assert ours[1][0]["W"].shape == (2, 3)  # a number's derivative: the leaf's shape


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_jacobian_of_dataclass_named_tuple_and_list_against_differences(mode):
    args = records_point()
    J = s2sad.jacobian(with_records, wrt=(0, 1, 2), mode=mode)(*args)
    assert isinstance(J[0], Params) and isinstance(J[1], Pair) and isinstance(J[2], list)
    for position in range(3):
        assert_tree_close(J[position], difference_jacobian(with_records, args, position))


def test_jacobian_of_number_leaves_is_a_structure_not_a_matrix():
    def f(p):
        return p["a"] * p["b"], p["a"] + 2 * p["b"]

    J = s2sad.jacobian(f)({"a": 2.0, "b": 3.0})
    assert isinstance(J, tuple) and all(isinstance(row, dict) for row in J)
    assert_tree_close(J, ({"a": 3.0, "b": 2.0}, {"a": 1.0, "b": 2.0}), rtol=0, atol=0)


def test_jacobian_where_vector_mode_cannot_go_sweeps_per_direction():
    def positive_part(p):
        v = p["v"]
        return v[v > 0] * p["s"]  # its shape depends on the values

    p = {"v": np.array([1.0, -2.0, 3.0]), "s": 2.0}
    J = s2sad.jacobian(positive_part, mode="forward")(p)
    expected = {"v": np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 2.0]]), "s": np.array([1.0, 3.0])}
    assert_tree_close(J, expected, rtol=0, atol=0)
    assert_tree_close(s2sad.jacobian(positive_part, mode="reverse")(p), expected, rtol=0, atol=0)


def test_auto_mode_counts_the_elements_of_the_leaves(monkeypatch):
    import s2sad.jacobians as jacobians

    chosen = []
    sweep = jacobians.reverse_blocks
    monkeypatch.setattr(
        jacobians, "reverse_blocks", lambda *a: chosen.append("reverse") or sweep(*a)
    )
    p, x = point()  # 8 input elements in two leaves, 2 outputs: reverse
    s2sad.jacobian(layer)(p, x)
    assert chosen == ["reverse"]

    def wide(p):
        return np.array([p["a"], p["b"], p["a"] * p["b"]])  # 2 inputs, 3 outputs: forward

    J = s2sad.jacobian(wide)({"a": 2.0, "b": 3.0})
    assert chosen == ["reverse"]
    assert_tree_close(J, {"a": np.array([1.0, 0.0, 3.0]), "b": np.array([0.0, 1.0, 2.0])}, 0, 0)


def test_jacobian_gets_new_code_for_a_new_key_and_a_new_length():
    jac = s2sad.jacobian(energy_of_all)
    for p in (
        {"a": np.array([0.3, -0.4])},
        {"a": np.array([0.3, -0.4]), "c": 0.9},  # a new key
        {"c": 0.9, "a": np.array([0.3, -0.4])},  # the same keys in another order
    ):
        assert_tree_close(jac(p), difference_jacobian(energy_of_all, (p,), 0))
    jac = s2sad.jacobian(energy_of_list, mode="forward")
    short = [(np.array([1.0, 2.0]), 0.5)]
    longer = short + [(np.array([-1.0]), 2.0)]  # another length
    for layers in (short, longer, short):
        assert_tree_close(jac(layers), difference_jacobian(energy_of_list, (layers,), 0))


def test_vector_tangent_source_and_a_method():
    p, x = point()
    source = s2sad.vector_tangent_source(layer, p, x)
    assert "def layer_jvps(p_W, p_b, x, p_W_dot, p_b_dot):" in source

    class Model:
        def predict(self, p, x):
            return layer(p, x)

    J = s2sad.jacobian(Model().predict)(p, x)
    assert_tree_close(J, s2sad.jacobian(layer)(p, x), rtol=0, atol=0)


def test_elementwise_grad_with_structured_arguments():
    def scaled(x, p):
        return np.sin(x) * p["k"]

    x = np.array([0.1, 0.7])
    ones = s2sad.elementwise_grad(scaled)(x, {"k": 3.0})
    np.testing.assert_allclose(ones, 3.0 * np.cos(x), rtol=1e-15)
    along_all = s2sad.elementwise_grad(scaled, wrt=1)(x, {"k": 3.0})  # J·1 over p's leaves
    np.testing.assert_allclose(along_all, np.sin(x), rtol=1e-15)
    with_more = s2sad.elementwise_grad(scaled, wrt=1)(x, {"k": 3.0, "unused": np.ones(4)})
    np.testing.assert_allclose(with_more, np.sin(x), rtol=1e-15)  # new code, a zero derivative


# --- Hessian-vector products ----------------------------------------------------------------------


def test_hvp_of_a_dict_matches_the_analytic_hessian():
    a, b, v = 0.8, -1.2, np.array([0.5, -0.3, 2.0])
    da, db, dv = 0.3, -0.7, np.array([1.0, 0.2, -0.4])
    hv = s2sad.hvp(polynomial)({"a": a, "b": b, "v": v}, {"a": da, "b": db, "v": dv})
    expected = {  # the rows of polynomial_hessian times the direction
        "a": 2 * b * da + 2 * a * db + np.sum(dv),
        "b": 2 * a * da,
        "v": da + 6 * v * dv,
    }
    assert_tree_close(hv, expected, rtol=1e-13, atol=1e-14)


def test_hvp_with_several_inputs_matches_the_flat_function():
    p, x = point()
    vp, vx = {"W": rng.normal(size=(2, 3)), "b": rng.normal(size=2)}, rng.normal(size=3)
    ours = s2sad.hvp(loss, wrt=(0, 1))(p, x, vp, vx)
    flat = s2sad.hvp(loss_flat, wrt=(0, 1, 2))(p["W"], p["b"], x, vp["W"], vp["b"], vx)
    assert_tree_close(ours, ({"W": flat[0], "b": flat[1]}, flat[2]), rtol=1e-12, atol=1e-14)


KEYS_HINT = "give a direction with the structure of its primal `p` (the same keys and lengths)"
SHAPE_HINT = "a direction has the shape of the value it moves"


@pytest.mark.parametrize(
    "direction, says, hint",
    [
        (
            {"a": 1.0, "v": np.ones(3)},
            "the direction for `p` is a dict with the keys 'a', 'v', but `p` is a dict with the "
            "keys 'a', 'b', 'v'",
            KEYS_HINT,
        ),
        (
            {"a": 1.0, "b": 1.0, "v": np.ones(2)},
            'the direction for `p["v"]` has shape (2,), but `p["v"]` has shape (3,)',
            SHAPE_HINT,
        ),
        (np.ones(3), "the direction for `p` is a number or an array, but `p` is a dict", KEYS_HINT),
        (
            {"a": 1.0, "b": (1.0,), "v": np.ones(3)},
            'the direction for `p["b"]` is a tuple of length 1, but `p["b"]` is a number',
            KEYS_HINT,
        ),
    ],
)
def test_hvp_refuses_a_direction_of_another_structure(direction, says, hint):
    p = {"a": 0.8, "b": -1.2, "v": np.array([0.5, -0.3, 2.0])}
    with pytest.raises(s2sad.ArgumentError) as info:
        s2sad.hvp(polynomial)(p, direction)
    assert isinstance(info.value, s2sad.S2SADError)
    assert says in info.value.message and info.value.hint == hint


def test_jvp_names_the_place_a_tangent_differs():
    p = {"a": 0.8, "b": -1.2, "v": np.array([0.5, -0.3, 2.0])}
    with pytest.raises(s2sad.ArgumentError, match=r'for `p\["v"\]` has shape \(1,\)'):
        s2sad.jvp(polynomial, (p,), ({"a": 1.0, "b": 0.0, "v": np.ones(1)},))
    reordered = {"v": np.ones(3), "b": 0.0, "a": 1.0}  # flattened by the primal's keys
    _, slope = s2sad.jvp(polynomial, (p,), (reordered,))
    a, v = p["a"], p["v"]
    assert slope == pytest.approx((2 * a * p["b"] + np.sum(v)) + np.sum(3 * v**2 + a), 1e-14)


def test_hvp_gets_new_code_for_a_new_key():
    product = s2sad.hvp(energy_of_all)
    for p in ({"a": np.array([0.3, -0.4])}, {"a": np.array([0.3, -0.4]), "c": 0.9}):
        direction = {key: np.ones_like(value) * 1.0 for key, value in p.items()}
        # d²/dv² of sin(v)·v is 2cos(v) - v·sin(v), elementwise
        expected = {k: (2 * np.cos(v) - v * np.sin(v)) * direction[k] for k, v in p.items()}
        assert_tree_close(product(p, direction), expected, rtol=1e-13, atol=1e-15)


def test_hvp_source_for_example_arguments():
    source = s2sad.hvp_source(polynomial, args=({"a": 1.0, "b": 2.0, "v": np.ones(2)},))
    assert "def polynomial_hvp(p_a, p_b, p_v, p_a_dot, p_b_dot, p_v_dot):" in source


# --- Hessians -------------------------------------------------------------------------------------


def test_hessian_of_a_dict_is_nested_as_jax_nests_it():
    a, b, v = 0.8, -1.2, np.array([0.5, -0.3, 2.0])
    H = s2sad.hessian(polynomial)({"a": a, "b": b, "v": v})
    assert_tree_close(H, polynomial_hessian(a, b, v), rtol=1e-13, atol=1e-14)
    assert H["v"]["a"].shape == (3,) and H["v"]["v"].shape == (3, 3)


def test_hessian_with_several_inputs_matches_the_flat_function_block_by_block():
    p, x = point()
    H = s2sad.hessian(loss, wrt=(0, 1))(p, x)
    flat = s2sad.hessian(loss_flat, wrt=(0, 1, 2))(p["W"], p["b"], x)
    keys = {"W": 0, "b": 1}
    for k1, i in keys.items():
        for k2, j in keys.items():
            np.testing.assert_allclose(H[0][0][k1][k2], flat[i][j], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(H[0][1][k1], flat[i][2], rtol=1e-12, atol=1e-15)  # p, x
        np.testing.assert_allclose(H[1][0][k1], flat[2][i], rtol=1e-12, atol=1e-15)  # x, p
    np.testing.assert_allclose(H[1][1], flat[2][2], rtol=1e-12, atol=1e-15)
    assert H[0][1]["W"].shape == (2, 3, 3) and H[1][0]["W"].shape == (3, 2, 3)


def test_hessian_of_records_against_second_differences():
    args = records_point()
    H = s2sad.hessian(with_records, wrt=2)(*args)  # the list of (array, number) tuples
    assert isinstance(H, list) and isinstance(H[0], tuple) and isinstance(H[0][0], list)
    flat_leaves = leaves(args[2])
    blocks = leaves(H)  # leaf a, then for each leaf b: H[a-path][b-path]
    count = len(flat_leaves)
    for a in range(count):
        for b in range(count):
            expected = difference_hessian_block(with_records, args, 2, a, b)
            np.testing.assert_allclose(blocks[a * count + b], expected, rtol=1e-5, atol=1e-6)


def test_hessian_gets_new_code_for_a_new_length():
    hess = s2sad.hessian(energy_of_list)
    short = [(np.array([1.0, 2.0]), 0.5)]
    longer = short + [(np.array([-1.0]), 2.0)]
    for layers in (short, longer):
        H = hess(layers)
        assert len(H) == len(layers) and len(H[-1][0]) == len(layers)
        w, c = layers[-1]
        # ∂²/∂w² of c·|w|² is 2c·I; ∂²/∂w∂c is 2w; ∂²/∂c² is 0
        np.testing.assert_allclose(H[-1][0][-1][0], 2 * c * np.eye(w.size), rtol=1e-15)
        np.testing.assert_allclose(H[-1][0][-1][1], 2 * w, rtol=1e-15)
        np.testing.assert_allclose(H[-1][1][-1][1], 0.0, atol=0)


# --- the gradient of a gradient -------------------------------------------------------------------


def scaled_energy(t, p):
    return t**2 * np.sum(p["W"]) + t * p["c"]


def test_grad_of_grad_with_respect_to_a_structure():
    p = {"W": np.array([1.0, 2.0, -0.5]), "c": 2.0}
    inner = s2sad.grad(scaled_energy)  # ∂/∂t = 2t·ΣW + c
    outer = s2sad.grad(inner, wrt=1)(1.5, p)  # ∂/∂W = 2t, ∂/∂c = 1
    assert_tree_close(outer, {"W": np.full(3, 3.0), "c": 1.0}, rtol=1e-15, atol=0)
    both = s2sad.grad(inner, wrt=(0, 1))(1.5, p)
    assert both[0] == pytest.approx(2 * np.sum(p["W"]), rel=1e-15)
    value, _ = s2sad.value_and_grad(inner, wrt=1)(1.5, p)
    assert value == pytest.approx(2 * 1.5 * np.sum(p["W"]) + 2.0, rel=1e-15)
    more = s2sad.grad(inner, wrt=1)(1.5, dict(p, d=np.ones(2)))  # a new key: new code
    assert_tree_close(more, {"W": np.full(3, 3.0), "c": 1.0, "d": np.zeros(2)}, rtol=0, atol=0)


def test_grad_of_a_gradient_that_is_a_structure_is_refused():
    gradient = s2sad.grad(scaled_energy, wrt=1)  # a dict
    with pytest.raises(s2sad.NonScalarOutputError) as info:
        s2sad.grad(gradient)(1.5, {"W": np.ones(3), "c": 2.0})
    assert "the gradient with respect to `p` is a dict" in str(info.value)
    assert "s2sad.hessian" in info.value.hint


# --- check_grad -----------------------------------------------------------------------------------


def test_check_grad_checks_every_leaf_and_names_columns_by_path():
    p, x = point()
    report = s2sad.check_grad(loss, p, x)
    assert report.ok
    assert report.inputs[:7] == (
        'p["W"][0, 0]',
        'p["W"][0, 1]',
        'p["W"][0, 2]',
        'p["W"][1, 0]',
        'p["W"][1, 1]',
        'p["W"][1, 2]',
        'p["b"][0]',
    )
    assert report.inputs[7:] == ('p["b"][1]', "x[0]", "x[1]", "x[2]")
    flat = s2sad.check_grad(loss_flat, p["W"], p["b"], x)
    np.testing.assert_allclose(report.estimate, flat.estimate, rtol=0, atol=0)
    np.testing.assert_allclose(report.automatic["reverse"], flat.automatic["reverse"], rtol=1e-13)
    assert 'p["W"][1, 2]' in str(report)
    records = s2sad.check_grad(with_records, *records_point())
    assert "p.W[0]" in records.inputs and "pair.second" in records.inputs
    assert "layers[1][0][2]" in records.inputs and len(records.inputs) == 3 + 1 + 3 + 1 + 8


def test_check_grad_names_a_wrong_leaf_by_its_path():
    @s2sad.custom_rule
    def cube(x):
        return x**3

    @cube.tangent
    def cube_tangent(x, out, x_dot):
        return 3 * x * x_dot  # wrong: x, not x**2

    @cube.adjoint
    def cube_adjoint(x, out, out_bar):
        return (3 * x**2 * out_bar,)

    def f(p):
        return np.sum(cube(p["W"])) + p["s"]

    p = {"W": np.array([[1.0, 2.0]]), "s": 0.5}
    with pytest.raises(s2sad.GradientCheckError) as info:
        s2sad.check_grad(f, p)
    message = str(info.value)
    assert 'd/dp["W"][0, 1] by forward mode' in message
    assert 'p["W"][0, 0]' not in message  # at 1 the wrong rule happens to be right
    assert 'p["s"]' not in message and "by reverse mode" not in message


def test_check_grad_follows_the_structure_of_each_call():
    first = s2sad.check_grad(energy_of_all, {"a": np.array([0.3, -0.4])})
    second = s2sad.check_grad(energy_of_all, {"a": np.array([0.3, -0.4]), "z": 1.0})
    assert first.inputs == ('p["a"][0]', 'p["a"][1]')
    assert second.inputs == ('p["a"][0]', 'p["a"][1]', 'p["z"]')
    # ∂/∂z of sin(z)·z = sin(z) + z·cos(z)
    assert second.automatic["forward"][0, 2] == pytest.approx(np.sin(1.0) + np.cos(1.0), 1e-15)


# --- explain, graph, the command line and export --------------------------------------------------


def test_explain_shows_the_leaves_as_the_generated_code_names_them():
    def f(p, y):
        return p["a"] * p["b"] * y

    table = s2sad.explain(f, {"a": 2.0, "b": 3.0}, 4.0)
    assert list(table.point) == ["p_a", "p_b", "y"] and table.directions == ("p_a", "p_b", "y")
    assert table.gradient == (12.0, 8.0, 6.0)  # analytic: b·y, a·y, a·b
    assert [row.definition for row in table.rows[:2]] == ["p_a", "p_b"]
    assert "∂y/∂p_a = 12" in str(table)
    wider = s2sad.explain(energy_of_all, {"a": 0.5, "z": -1.0})
    assert list(wider.point) == ["p_a", "p_z"]  # another structure, other code
    assert wider.gradient == pytest.approx(
        (np.sin(0.5) + 0.5 * np.cos(0.5), np.sin(-1.0) - np.cos(-1.0)), rel=1e-15
    )


def test_graph_at_structured_arguments():
    p, x = point()
    g = s2sad.graph(loss, p, x)
    assert g.nodes["w1"][0] == "w1 = p_W" and g.nodes["w2"][0] == "w2 = p_b"
    with pytest.raises(s2sad.StructureNeededError):
        s2sad.graph(loss)  # which structure to draw is not known without arguments
    one, two = (s2sad.graph(energy_of_all, q) for q in ({"a": 1.0}, {"a": 1.0, "z": 2.0}))
    assert "w2 = p_z" not in one.dot and "w2 = p_z" in two.dot


AT = ['p={"W": [[1, 2, 0], [0.5, -1, 1]], "b": [0.1, 0.2]}', "x=[0.3, -0.2, 0.1]"]


def test_the_command_line_table_check_and_graph_at_a_structure(capsys, tmp_path):
    source = tmp_path / "structured.py"
    source.write_text(
        "import numpy as np\n\n\ndef loss(p, x):\n"
        '    return np.sum(np.tanh(p["W"] @ x + p["b"]) ** 2)\n'
    )
    code, out, err = cli(capsys, f"{source}:loss", "--at", *AT)
    assert code == 0, err
    W, b, x = np.array([[1, 2, 0], [0.5, -1, 1]]), np.array([0.1, 0.2]), np.array([0.3, -0.2, 0.1])
    z = np.tanh(W @ x + b)
    assert f"{np.sum(z**2):.10g}" in out and "∂y/∂p_W" in out and "w1        p_W" in out
    code, out, err = cli(capsys, f"{source}:loss", "--check", "--at", *AT)
    assert code == 0 and 'p["W"][1, 2]' in out and "all components agree" in out
    code, _, err = cli(capsys, f"{source}:loss", "--graph", tmp_path / "g.dot", "--at", *AT)
    assert code == 0 and '"w1" [label="w1 = p_W' in (tmp_path / "g.dot").read_text()
    code, _, err = cli(capsys, f"{source}:loss")
    assert code == 1 and "used as a dict" in err and "--at" in err
    code, _, err = cli(capsys, f"{source}:loss", "--at", 'p={"W": [[1]]', "x=1")
    assert code == 2 and "nor a dict or tuple" in err


def test_export_for_example_structures_runs_without_s2sad(capsys, tmp_path):
    p, x = point()
    namespace = {}
    exec(s2sad.export_source(loss, args=(p, x)), namespace)
    grads = namespace["loss_grad"](p["W"], p["b"], x)
    expected = s2sad.grad(loss, wrt=(0, 1))(p, x)
    np.testing.assert_allclose(grads[0], expected[0]["W"], rtol=1e-13)
    np.testing.assert_allclose(grads[1], expected[0]["b"], rtol=1e-13)
    np.testing.assert_allclose(grads[2], expected[1], rtol=1e-13)
    three = dict(p, c=np.ones(2))
    assert "def energy_of_all_grad(p_W, p_b, p_c):" in s2sad.export_source(
        energy_of_all, args=(three,)
    )  # another structure, other parameters
    source = tmp_path / "structured.py"
    source.write_text(
        "import numpy as np\n\n\ndef loss(p, x):\n"
        '    return np.sum(np.tanh(p["W"] @ x + p["b"]) ** 2)\n'
    )
    out_file = tmp_path / "loss_grad.py"
    code, _, err = cli(capsys, "export", f"{source}:loss", "--at", *AT, "-o", out_file)
    assert code == 0, err
    assert "def loss_grad(p_W, p_b, x):" in out_file.read_text()
    code, _, err = cli(capsys, "export", f"{source}:loss")
    assert code == 1 and "export_source(f, args=(...))" in err and "--at" in err
    with pytest.raises(s2sad.ArgumentError, match="one function"):
        s2sad.export_source([loss, loss_flat], args=(p, x))
