"""The table of the notes (``s2sad.explain`` and ``s2sad FILE:FUNCTION --at``) and the command line."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import s2sad
from s2sad.cli import main

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "samples"))
import control_flow  # noqa: E402
import lecture  # noqa: E402


def column(table, name):
    """``{variable: value}`` of one column: "value", "bar", or the tangent for an input's name."""
    rows = {row.name: row for row in table.rows}
    if name == "value":
        return {k: r.value for k, r in rows.items()}
    if name == "bar":
        return {k: r.adjoint for k, r in rows.items()}
    position = table.inputs.index(name)
    return {k: r.tangents[position] for k, r in rows.items()}


def test_seed000_table_matches_the_notes():
    # Seed 000 at x1=2, x2=5: w3 = 10, ẇ3 = 5 (d/dx1), ẇ4 = cos(2), ẇ5 = 5 + cos(2);
    # w̄5 = w̄4 = w̄3 = 1, w̄2 = 2, w̄1 = 5 + cos(2).
    table = s2sad.explain(lecture.seed000_y, 2.0, 5.0)
    assert column(table, "value") == {
        "w1": 2.0,
        "w2": 5.0,
        "w3": 10.0,
        "w4": math.sin(2.0),
        "w5": 10.0 + math.sin(2.0),
    }
    assert column(table, "x1") == {
        "w1": 1.0,
        "w2": 0.0,
        "w3": 5.0,
        "w4": math.cos(2.0),
        "w5": 5.0 + math.cos(2.0),
    }
    assert column(table, "bar") == {
        "w1": 5.0 + math.cos(2.0),
        "w2": 2.0,
        "w3": 1.0,
        "w4": 1.0,
        "w5": 1.0,
    }
    assert table.gradient == (5.0 + math.cos(2.0), 2.0)


def test_seed001_backward_table():
    # Seed 001 (b) at (2, 1): v̄2 = exp(2), v̄4 = 6 cos(3), v̄5 = 2 cos(3), v̄6 = v0 = 2.
    bars = column(s2sad.explain(lecture.seed001_y1, 2.0, 1.0), "bar")
    assert bars["w4"] == 1.0 and bars["w3"] == pytest.approx(math.exp(2))
    assert bars["w5"] == pytest.approx(6 * math.cos(3)) and bars["w6"] == pytest.approx(
        2 * math.cos(3)
    )
    assert bars["w7"] == 2.0


def test_seed002_table():
    table = s2sad.explain(lecture.seed002_f1, 1.0, -1.0)
    bars = column(table, "bar")
    assert round(bars["w6"], 1) == 17.4  # t3_bar
    assert (round(bars["w1"], 1), round(bars["w2"], 2)) == (47.3, 4.71)


def test_a_branch_that_did_not_run_shows_no_value():
    table = s2sad.explain(control_flow.piecewise, -2.0)
    values = column(table, "value")
    assert all(value is None for name, value in values.items() if name in ("w6", "w7", "w8"))
    assert "—" in str(table)


def test_a_loop_shows_one_iteration_consistently():
    # Values come from the forward sweep (the last iteration), not from the reverse sweep, which
    # recomputes sin(x) of the first iteration: each row must agree with the rows it is made from.
    table = s2sad.explain(control_flow.rk4_decay, 0.5, 2.0, 1.0, 4)
    rows = {row.name: row for row in table.rows}
    carried = {
        row.name for row in table.rows if ", then " in row.definition
    }  # values after the loop
    y = next(rows[name] for name in carried if rows[name].definition.startswith("w2,"))
    assert y.value == control_flow.rk4_decay(0.5, 2.0, 1.0, 4)
    assert y.adjoint == rows["w2"].adjoint  # a carried value's adjoint on entry: that of y0
    checked = 0
    for row in table.rows:
        left, op, right = (row.definition.split(" ") + ["", ""])[:3]
        if op == "*" and {left, right} <= set(rows) - carried:
            assert row.value == rows[left].value * rows[right].value
            checked += 1
    assert checked >= 7


def test_a_second_output():
    table = s2sad.explain(lecture.seed001_f, 2.0, 1.0, output=1)
    assert table.gradient == pytest.approx((1.0, 2 + math.exp(-1) / (1 + math.exp(-1)) ** 2))
    assert "gradient of output 1" in str(table)


def test_html_for_notebooks():
    html = s2sad.explain(lecture.seed000_y, 2.0, 5.0)._repr_html_()
    assert html.startswith("<p><b>seed000_y at x1=2, x2=5</b></p><table>")  # its heading kept
    assert "<code>w1 * w2</code>" in html and "gradient: ∂y/∂x1 = " in html


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "s2sad", *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def test_cli_prints_trace_tangent_and_adjoint():
    result = run("samples/lecture.py:seed000_y")
    assert result.returncode == 0
    for text in (
        "w3 = w1 * w2",
        "def seed000_y_jvp(x1, x2, x1_dot, x2_dot):",
        "x1_bar = cos(x1) + x2",
    ):
        assert text in result.stdout
    assert "\x1b[" not in result.stdout  # no colour codes when piped


def layer(W, x):
    z = W @ x
    return np.sum(np.tanh(z)) + 0.5 * np.sum(x * x)


def test_table_with_arrays_shows_values_and_adjoints():
    # y = Σ tanh(Wx) + ½|x|²: ∂y/∂W = (1 - tanh²(Wx)) xᵀ, ∂y/∂x = Wᵀ(1 - tanh²(Wx)) + x.
    W, x = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([0.3, -0.2])
    table = s2sad.explain(layer, W, x)
    slope = 1 - np.tanh(W @ x) ** 2
    values, adjoints = column(table, "value"), column(table, "bar")
    np.testing.assert_allclose(values["w3"], W @ x, rtol=1e-15)
    np.testing.assert_allclose(adjoints["w3"], slope, rtol=1e-15)
    np.testing.assert_allclose(adjoints["w1"], np.outer(slope, x), rtol=1e-15)
    np.testing.assert_allclose(table.gradient[1], W.T @ slope + x, rtol=1e-15)
    assert table.directions == () and all(row.tangents == () for row in table.rows)
    assert "w3        w1 @ w2      [-0.1 , 0.35]" in str(table)


def test_table_with_arrays_and_numbers_has_tangents_for_the_numbers():
    def scaled(a, x):
        return a * np.sum(x**2)

    table = s2sad.explain(scaled, 3.0, np.array([1.0, 2.0]))
    assert table.directions == ("a",)
    assert column(table, "a")["w5"] == 5.0  # ∂(a·|x|²)/∂a = |x|² = 5, exactly
    np.testing.assert_array_equal(table.gradient[1], [6.0, 12.0])  # 2·a·x


def test_cli_table_with_arrays(tmp_path):
    source = tmp_path / "layer.py"
    source.write_text(
        "import numpy as np\n\n\ndef layer(W, x):\n    z = W @ x\n"
        "    return np.sum(np.tanh(z)) + 0.5 * np.sum(x * x)\n"
    )
    result = run(f"{source}:layer", "--at", "W=[[1,2],[0.5,-1]]", "x=[0.3,-0.2]")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("w3"))
    assert row.split()[:6] == ["w3", "w1", "@", "w2", "[-0.1", ","]
    assert "∂y/∂x = [1.733492, 0.893281]" in result.stdout


def test_cli_table_at_a_point():
    result = run("samples/lecture.py:seed000_y", "--at", "x1=2", "x2=5")
    assert result.returncode == 0
    row = next(line for line in result.stdout.splitlines() if line.startswith("w3"))
    assert row.split()[:5] == ["w3", "w1", "*", "w2", "10"]
    assert "∂y/∂x1 = 4.583853163" in result.stdout


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["samples/lecture.py:seed000_y", "--at", "x3=5", "x1=2"], 2, "no parameter 'x3'"),
        (["samples/lecture.py:seed000_y", "--at", "x1=two", "x2=5"], 2, "not a number"),
        (["samples/lecture.py:seed000_y", "--at", "x1=2"], 2, "give a value for x2"),
        (["samples/lecture.py:seed000_y", "--at", "x1=[2,", "x2=5"], 2, "not an array of numbers"),
        (["samples/missing.py"], 1, "no such file"),
        (["samples/lecture.py:nope"], 1, "no function 'nope'"),
        (["--no-such-option", "samples/lecture.py"], 2, "usage"),
    ],
)
def test_cli_errors_are_one_clear_line(args, code, message, monkeypatch, capsys):
    # In this process, for speed; tests/test_cli.py runs the command as a process.
    monkeypatch.chdir(ROOT)
    try:
        returned = main(args)
    except SystemExit as exit:  # argparse's usage errors
        returned = exit.code
    err = capsys.readouterr().err
    assert returned == code
    assert message in err
    assert "Traceback" not in err


def test_cli_check_passes_and_prints_the_comparison():
    result = run("samples/lecture.py:seed002_f1", "--check", "--at", "u1=1", "u2=-1")
    assert result.returncode == 0
    assert "all components agree" in result.stdout and "47.30340959" in result.stdout


def test_cli_check_fails_at_a_kink(tmp_path):
    # max(x, 0) at 0: AD routes the tie to x (slope 1), a central difference averages to 0.5.
    (tmp_path / "kink.py").write_text("def relu(x):\n    return max(x, 0.0)\n")
    result = run(str(tmp_path / "kink.py") + ":relu", "--check", "--at", "x=0")
    assert result.returncode == 1
    assert "the check of relu failed" in result.stderr and "d/dx" in result.stderr


def test_cli_check_needs_a_point():
    result = run("samples/lecture.py:seed000_y", "--check")
    assert result.returncode == 2 and "--at" in result.stderr
