"""Random NumPy programs on arrays of known shapes, for the passes that only such code goes through:
array temporaries folded into their reader (s2sad/fold.py) and vector mode's elementwise slopes
(``Slopes`` in s2sad/vector_mode.py).

Hypothesis builds functions of a 4-vector ``x``, a 4-vector ``y`` and a number ``s`` from elementwise
operations, broadcasting with ``s``, a matrix product with a constant matrix, sums, reassignment and
a short loop. Every operation is defined and smooth everywhere: divisors are ``1 + v * v``, square
roots take ``1 + v * v``, exponentials take ``sin(v)``. For each program, at a random point:

1. the gradient of ``np.sum(f(...) ** 2)``, compiled for the arrays' shapes (folded), equals the
   teaching form of the same gradient (nothing folded, every statement kept) to rtol 1e-12 (the two
   differ only in the association of sums and products: a few ulps), and central differences;
2. the Jacobian of ``f`` in vector forward mode equals reverse mode to rtol 1e-10, and central
   differences.

Central differences: step h = 1e-6 gives truncation error about h² · |f'''| ≲ 1e-10 and rounding
error about ε · |f| / h ≲ 2e-16 · 100 / 1e-6 = 2e-8 for values up to 100 (larger ones are discarded
with ``assume``), so rtol = atol = 1e-5 is far above both and far below a wrong derivative.
"""

import importlib.util
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import s2sad
from s2sad.dispatch import specialised
from s2sad.pipeline import Spec

MIXER = np.array(
    [[0.5, -0.3, 0.2, 0.1], [0.1, 0.4, -0.6, 0.3], [-0.2, 0.3, 0.1, 0.5], [0.3, 0.0, 0.2, -0.4]]
)
UNARY = [
    "np.sin({a})",
    "np.cos({a})",
    "np.tanh({a})",
    "np.exp(np.sin({a}))",
    "np.sqrt(1.0 + {a} * {a})",
    "-{a}",
    "0.5 * {a}",
    "MIXER @ {a}",
    "np.sum({a}) * {a}",
]
BINARY = ["{a} + {b}", "{a} - {b}", "{a} * {b}", "{a} / (1.0 + {b} * {b})", "{a} * s + {b}"]
HEADER = f"import numpy as np\n\nMIXER = np.array({MIXER.tolist()})\n\n\ndef f(x, y, s):\n"
LOSS = "\n\ndef loss(x, y, s):\n    return np.sum(f(x, y, s) ** 2)\n"


@st.composite
def programs(draw):
    names = ["x", "y"]
    lines = []
    for _ in range(draw(st.integers(2, 7))):
        if draw(st.booleans()):
            expr = draw(st.sampled_from(UNARY)).format(a=draw(st.sampled_from(names)))
        else:
            a, b = draw(st.sampled_from(names)), draw(st.sampled_from(names))
            expr = draw(st.sampled_from(BINARY)).format(a=a, b=b)
        target = draw(st.sampled_from(names)) if draw(st.integers(0, 3)) == 0 else f"v{len(lines)}"
        lines.append(f"    {target} = {expr}")
        names = names if target in names else names + [target]
    if draw(st.booleans()):  # a loop carrying an array: nothing may move past what it rebinds
        carried = draw(st.sampled_from(names))
        lines.append("    for _ in range(2):")
        lines.append(f"        {carried} = np.tanh(MIXER @ {carried}) + 0.5 * {carried}")
    result = draw(st.sampled_from(names[2:] or names))
    other = draw(st.sampled_from(names))
    lines.append(f"    return {result} * np.cos({other})")
    return HEADER + "\n".join(lines) + "\n"


_modules = itertools.count()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("random_array_programs")


def load(text: str, workdir):
    """Write the program, with ``MIXER`` and ``loss(x, y, s) = Σ f(x, y, s)²``, to a fresh module file
    (s2sad reads source text), import it, and return ``f`` and ``loss``."""
    name = f"s2sad_random_array_program_{next(_modules)}"
    path = workdir / f"{name}.py"
    path.write_text(text + LOSS)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f, module.loss


def central_jacobian(fn, args, h=1e-6):
    """Columns ∂f/∂(x, y, s), stacked: 4 + 4 + 1 of them."""
    columns = []
    for j, arg in enumerate(args):
        for e in range(np.size(arg)):
            step = np.zeros(np.shape(arg))
            step.flat[e] = h
            up, down = list(args), list(args)
            up[j] = arg + (step if np.ndim(arg) else h)
            down[j] = arg - (step if np.ndim(arg) else h)
            columns.append((np.asarray(fn(*up)) - np.asarray(fn(*down))) / (2 * h))
    return np.stack(columns, axis=-1)


def as_columns(blocks):
    return np.concatenate([np.reshape(b, (4, -1)) for b in blocks], axis=1)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(program=programs(), seed=st.integers(0, 2**16))
@example(  # a slope that cancels to zero once gave a loop a number for its batched tangent
    program=HEADER
    + "    x = y + x\n    v2 = x - x\n    v4 = v2 + v2\n    for _ in range(2):\n"
    + "        v4 = np.tanh(MIXER @ v4) + 0.5 * v4\n    return v4 * np.cos(v4)\n",
    seed=0,
)
def test_random_array_program(workdir, program, seed):
    f, loss = load(program, workdir)
    rng = np.random.default_rng(seed)
    args = (rng.normal(size=4), rng.normal(size=4), float(rng.normal()))
    value = f(*args)
    assume(np.all(np.abs(value) < 100) and abs(loss(*args)) < 1e4)

    params = ("x", "y", "s")
    (folded,) = specialised(loss, Spec("grad", params), params, args)
    (teaching,) = specialised(loss, Spec("grad", params, teaching=True), params, args)
    got, plain = folded(*args), teaching(*args)
    expected = central_jacobian(loss, args)
    for ours, unfolded, k in zip(got, plain, [slice(0, 4), slice(4, 8), slice(8, 9)]):
        np.testing.assert_allclose(ours, unfolded, rtol=1e-12, atol=1e-12, err_msg=program)
        np.testing.assert_allclose(
            np.ravel(ours), expected[k], rtol=1e-5, atol=1e-5, err_msg=program
        )

    forward = as_columns(s2sad.jacobian(f, wrt=(0, 1, 2), mode="forward")(*args))
    reverse = as_columns(s2sad.jacobian(f, wrt=(0, 1, 2), mode="reverse")(*args))
    np.testing.assert_allclose(forward, reverse, rtol=1e-10, atol=1e-10, err_msg=program)
    np.testing.assert_allclose(
        forward, central_jacobian(f, args), rtol=1e-5, atol=1e-5, err_msg=program
    )
