"""The generated source: its exact text for the notes' example, black's layout, no redundant code, and a
printer whose parentheses never change what an expression means."""

import math
import re
import sys
import textwrap
from pathlib import Path

import black
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sad
from s2sad.codegen import module_source
from s2sad.ir import Call, Const, Var
from s2sad.printing import format_expr
from s2sad.primitives import PRIMITIVES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
import lecture  # noqa: E402

SAMPLES = [getattr(lecture, n) for n in dir(lecture) if n.startswith("seed")]


def test_teaching_adjoint_of_the_notes_example_exactly():
    # DESIGN's example for y = x1 x2 + sin(x1), in reverse order of definition, with source comments.
    expected = '''\
        def seed000_y_grad(x1, x2):
            """Gradient of seed000_y with respect to x1, x2, by reverse mode."""
            # line 19: def seed000_y(x1, x2):
            w1 = x1
            w2 = x2
            # line 21: return x1 * x2 + math.sin(x1)
            w3 = w1 * w2
            w4 = sin(w1)
            w5 = w3 + w4
            # reverse sweep
            # line 21: return x1 * x2 + math.sin(x1)
            w5_bar = 1.0
            w4_bar = w5_bar
            w3_bar = w5_bar
            # line 19: def seed000_y(x1, x2):
            w2_bar = w3_bar * w1
            w1_bar = w4_bar * cos(w1) + w3_bar * w2
            return w1_bar, w2_bar
        '''
    source = s2sad.adjoint_source(lecture.seed000_y, teaching=True)
    assert source == textwrap.dedent(expected)


def test_optimised_gradient_of_the_notes_example_exactly():
    # float(x2_bar): at integer arguments the derivative x1 is an integer, and the printed code
    # returns floats there too, as grad does; the code run for floats leaves the conversion out.
    expected = '''\
        def seed000_y_grad(x1, x2):
            """Gradient of seed000_y with respect to x1, x2, by reverse mode."""
            # line 21: return x1 * x2 + math.sin(x1)
            x1_bar = cos(x1) + x2
            x2_bar = x1
            return x1_bar, float(x2_bar)
        '''
    assert s2sad.adjoint_source(lecture.seed000_y) == textwrap.dedent(expected)


def all_sources(fn):
    yield s2sad.trace(fn).source
    for teaching in (False, True):
        yield s2sad.tangent_source(fn, teaching=teaching)
        yield s2sad.adjoint_source(fn, teaching=teaching)
        yield s2sad.tangent_source(fn, wrt=1, teaching=teaching)
        yield s2sad.adjoint_source(fn, wrt=1, teaching=teaching)


@pytest.mark.parametrize("fn", SAMPLES, ids=lambda fn: fn.__name__)
def test_generated_source_is_black_stable(fn):
    for source in all_sources(fn):
        assert black.format_str(source, mode=black.Mode()) == source


# Redundant code the emitters must never produce: adding or subtracting zero, multiplying or dividing
# by one, and an adjoint initialised to zero (to be accumulated later).
REDUNDANT = [
    r"[+-] 0(\.0)?\b(?!\.\d)",
    r"(?<![\w.])0(\.0)? \+ ",
    r"[*/] 1(\.0)?\b(?![.\de])",
    r"(?<![\w.])1(\.0)? \* ",
    r"_bar = 0(\.0)?$",
    r"_bar \+=",
]


@pytest.mark.parametrize("fn", SAMPLES, ids=lambda fn: fn.__name__)
def test_no_redundant_code(fn):
    for source in all_sources(fn):
        for line in source.splitlines():
            if line.strip().startswith("#"):
                continue
            for pattern in REDUNDANT:
                assert not re.search(pattern, line), f"{pattern!r} in {line!r}"


def test_long_sums_are_laid_out_as_black_lays_them_out(tmp_path):
    # An input used many times has a long adjoint sum; black splits it one term per line.
    lines = "".join(f"    a = a * x + math.sin(a) * {k}.5\n" for k in range(14))
    text = f"import math\n\n\ndef many(x):\n    a = x\n{lines}    return a\n"
    path = tmp_path / "long_sum_module.py"
    path.write_text(text)
    namespace = {"math": math}
    exec(compile(text, str(path), "exec"), namespace)
    for generated in (
        s2sad.adjoint_source(namespace["many"]),
        s2sad.tangent_source(namespace["many"]),
    ):
        assert black.format_str(generated, mode=black.Mode()) == generated
        assert max(len(line) for line in generated.splitlines() if "#" not in line) <= 88


# --- the printer never changes meaning --------------------------------------------------------

BINARY = ["add", "sub", "mul", "truediv", "pow"]
UNARY = ["neg", "pos"]


def expressions():
    leaves = st.one_of(
        st.sampled_from([Var("a"), Var("b")]),
        st.sampled_from([Const(2), Const(0.5), Const(-3), Const(-1.5), Const(3)]),
    )

    def extend(children):
        binary = st.tuples(st.sampled_from(BINARY), children, children).map(
            lambda t: Call(PRIMITIVES[t[0]], (t[1], t[2]))
        )
        unary = st.tuples(st.sampled_from(UNARY), children).map(
            lambda t: Call(PRIMITIVES[t[0]], (t[1],))
        )
        return st.one_of(binary, unary)

    return st.recursive(leaves, extend, max_leaves=8)


def evaluate(expr, env):
    if isinstance(expr, Var):
        return env[expr.name]
    if isinstance(expr, Const):
        return expr.value
    return expr.prim.impl(*(evaluate(arg, env) for arg in expr.args))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(expressions())
def test_printed_expression_evaluates_like_the_tree(expr):
    # The tree is evaluated operator by operator; its printed text is evaluated by Python's parser.
    # Any missing parenthesis changes the association and the value (bit for bit, or the exception).
    env = {"a": 1.75, "b": -0.625}
    try:
        expected = evaluate(expr, env)
    except (ArithmeticError, ValueError, TypeError) as error:
        with pytest.raises(type(error)):
            eval(format_expr(expr), {}, dict(env))
        return
    text = format_expr(expr)
    actual = eval(text, {}, dict(env))
    if isinstance(expected, complex) or isinstance(actual, complex):
        assert actual == expected, text
    elif math.isnan(expected):
        assert math.isnan(actual), text
    else:
        assert actual == expected, text
    # ... and black would not re-lay it out.
    line = f"x = {text}\n"
    assert black.format_str(line, mode=black.Mode()) == line


def test_names_never_shadow_each_other():
    # A parameter `cos` and math.cos needed by a rule: math.cos is read as the module reaches it,
    # or else under an alias the source binds at its top from the stated name `cos`.
    cos = Var("cos")
    fn = s2sad.ir.Function(
        "f",
        ("cos",),
        [s2sad.ir.Return(Call(PRIMITIVES["cos"], (cos,)))],
    )
    source, names = module_source([fn])
    assert source.startswith("cos_2 = cos\n") and "return cos_2(cos)" in source
    assert dict((n, obj) for n, kind, obj in names.bindings)["cos"] is math.cos
    source, names = module_source([fn], scope={"math": math})  # the module imports math
    assert "return math.cos(cos)" in source and "cos_2" not in source
    assert dict((n, obj) for n, kind, obj in names.bindings)["math"] is math
