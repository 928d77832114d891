"""The command line on the samples: modules, every function of a file, the notes' tables, graphs and
bad input. A subprocess costs most of a second (s2sad imports libcst, black and NumPy), so most cases
call ``main`` in this process; two run as real processes, for what only a process shows: the exit
code of the interpreter and what a pipe receives. (``tests/test_table.py`` has more of both.)"""

import math
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from s2sad.cli import main

ROOT = Path(__file__).resolve().parents[1]
LECTURE = str(ROOT / "samples" / "lecture.py")
CONTROL_FLOW = str(ROOT / "samples" / "control_flow.py")


def cli(capsys, *args):
    """``(exit code, stdout, stderr)`` of ``s2sad ARGS``, run in this process."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def run(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "s2sad", *args], capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_module_target_in_a_process_piped():
    result = run("-m", "samples.lecture:seed000_y", "--trace")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == (
        "# SSA trace of seed000_y\n"
        "def seed000_y(x1, x2):\n"
        "    w1 = x1\n"
        "    w2 = x2\n"
        "    w3 = w1 * w2\n"
        "    w4 = sin(w1)\n"
        "    w5 = w3 + w4\n"
        "    return w5\n"
    )  # exactly the trace: in particular, no colour codes in a pipe


def test_a_file_that_does_not_parse_in_a_process(tmp_path):
    (tmp_path / "broken.py").write_text("def f(x:\n    return x\n")
    result = run(str(tmp_path / "broken.py"))
    assert result.returncode == 1
    assert "broken.py" in result.stderr and "line 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_module_targets(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    code, out, _ = cli(capsys, "-m", "samples.control_flow:piecewise", "--at", "x=0.5")
    assert code == 0 and out.startswith("piecewise at x=0.5\n") and "∂y/∂x = 1" in out
    code, _, err = cli(capsys, "-m", "samples.no_such_module:f")
    assert code == 1 and "cannot import module 'samples.no_such_module'" in err


def test_every_function_of_a_file_when_none_is_named(capsys):
    code, out, _ = cli(capsys, LECTURE, "--trace")
    assert code == 0
    assert re.findall(r"^def (\w+)\(", out, re.MULTILINE) == [
        *("seed000_graph", "seed000_y", "seed000_simpler", "seed001_y1", "seed001_y2"),
        *("seed001_f", "seed002_f1", "seed002_f2", "seed003_f"),
    ]
    code, out, _ = cli(capsys, CONTROL_FLOW, "--reverse")
    assert code == 0
    assert re.findall(r"^def (\w+)\(", out, re.MULTILINE) == [
        *("newton_sqrt_grad", "rk4_decay_grad", "projectile_range_grad", "piecewise_grad")
    ]


def _table(out: str) -> dict:
    """``{variable: (definition, value)}`` from the table ``--at`` prints."""
    rows = {}
    for line in out.splitlines()[3:]:
        if line.startswith("gradient"):
            break
        cells = line.split("  ")
        cells = [c.strip() for c in cells if c.strip()]
        rows[cells[0]] = (cells[1], float(cells[2]))
    return rows


def test_seed000_and_seed001c_tables_have_the_notes_numbers(capsys):
    # Seed 000 at (2, 5): w3 = 10, ẇ3 = 5, w̄1 = 5 + cos(2), w̄2 = 2.
    code, out, _ = cli(capsys, LECTURE + ":seed000_y", "--at", "x1=2", "x2=5")
    assert code == 0 and _table(out)["w3"] == ("w1 * w2", 10.0)
    assert "gradient: ∂y/∂x1 = 4.583853163, ∂y/∂x2 = 2" in out
    # Seed 001 (c), y1 at (2, 1): v2 = 2, v3 = exp(2), v4 = 1, v5 = 3, v6 = sin(3), v7 = 2 sin(3),
    # v8 = exp(2) + 2 sin(3). The trace's w(i+1) is the notes' v(i), its copies v0 = x1, v1 = x2
    # folded into w1 and w2.
    code, out, _ = cli(capsys, LECTURE + ":seed001_y1", "--at", "x1=2", "x2=1")
    values = {name: value for name, (_, value) in _table(out).items()}
    expected = [2, 1, 2, math.exp(2), 1, 3, math.sin(3), 2 * math.sin(3)]
    expected.append(math.exp(2) + 2 * math.sin(3))
    assert [values[f"w{i}"] for i in range(1, 10)] == pytest.approx(expected, rel=1e-9)
    # y2 at (2, 1): v2 = 2, v3 = -1, v4 = exp(-1), v5 = 1 + exp(-1), v6 = 1 / (1 + exp(-1)).
    code, out, _ = cli(capsys, LECTURE + ":seed001_y2", "--at", "x1=2", "x2=1")
    values = {name: value for name, (_, value) in _table(out).items()}
    e = math.exp(-1)
    expected = [2, 1, 2, -1, e, 1 + e, 1 / (1 + e), 2 + 1 / (1 + e)]
    assert [values[f"w{i}"] for i in range(1, 9)] == pytest.approx(expected, rel=1e-9)
    gradient = out.split("gradient: ")[1]
    assert "∂y/∂x1 = 1," in gradient and f"∂y/∂x2 = {2 + e / (1 + e) ** 2:.10g}" in gradient


@pytest.mark.parametrize(
    "args, code, message",
    [
        ([LECTURE + ":seed000_y", "--graph", "y.txt"], 2, "name a file ending in .svg, .png, .dot"),
        ([LECTURE, "--graph", "y.svg"], 2, "--graph draws one function"),
        ([LECTURE + ":seed000_y", "--graph", "y.svg", "--check"], 2, "do not go together"),
        ([LECTURE + ":seed003_f", "--at", "x1=-1", "x2=1"], 1, "ValueError: math domain error"),
        ([LECTURE + ":seed000_y", "--at", "x1=", "x2=5"], 2, "'' is not a number"),
    ],
)
def test_bad_input_is_one_clear_line(capsys, args, code, message):
    status, _, err = cli(capsys, *args)
    assert (status, len(err.strip().splitlines())) == (code, 1)
    assert message in err and "Traceback" not in err


def test_a_file_that_fails_when_run(capsys, tmp_path):
    (tmp_path / "boom.py").write_text("import math\n\nRATE = 1 / 0\n")
    status, _, err = cli(capsys, tmp_path / "boom.py")
    assert status == 1
    assert (
        err.strip()
        == f"s2sad: running {tmp_path / 'boom.py'}, line 3 raised ZeroDivisionError: division by zero"
    )


def test_graph_without_graphviz_writes_the_dot_text_and_says_how_to_install(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    status, _, err = cli(capsys, LECTURE + ":seed000_y", "--graph", tmp_path / "y.svg")
    assert status == 1 and len(err.strip().splitlines()) == 1
    assert "wrote" in err and "apt-get install graphviz" in err
    assert not (tmp_path / "y.svg").exists()
    assert '"w1" -> "w3" [label="∂w3/∂w1 = w2"];' in (tmp_path / "y.dot").read_text()


def test_graph_dot_text_needs_no_graphviz_and_other_sections_can_be_asked_for(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", str(tmp_path))
    status, out, err = cli(capsys, LECTURE + ":seed000_y", "--graph", tmp_path / "y.dot", "--trace")
    assert status == 0 and err == f"s2sad: wrote {tmp_path / 'y.dot'}\n"
    assert out.startswith("# SSA trace of seed000_y") and "# forward mode" not in out


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_graph_svg_at_a_point(capsys, tmp_path):
    path = tmp_path / "simpler.svg"
    status, out, _ = cli(
        capsys, LECTURE + ":seed000_simpler", "--graph", path, "--at", "a=4", "b=3"
    )
    assert status == 0 and out == ""
    texts = [t.text for t in ET.parse(path).iter("{http://www.w3.org/2000/svg}text")]
    # Seed 000 "simpler" at a=4, b=3: c = 7, d = 28, dd/da = 11, dd/db = 4.
    for label in ("w3 = w1 + w2", "= 7", "w4 = w1 * w3", "= 28", "w̄1 = 11", "w̄2 = 4"):
        assert label in texts
    assert "∂w4/∂w1 = w3 = 7" in texts


# --- defaults, integers, and combinations of options ---------------------------------------------

DECAY = """
def decay(x, steps=100, scale=2.0):
    y = x
    for _ in range(steps):
        y = y * 0.99
    return y * scale
"""


@pytest.fixture
def decay_file(tmp_path):
    path = tmp_path / "decay.py"
    path.write_text(DECAY)
    return str(path) + ":decay"


def test_at_leaves_parameters_with_defaults_out(capsys, decay_file):
    code, out, err = cli(capsys, decay_file, "--at", "x=2")
    assert (code, err) == (0, "")
    # y = 2 * 0.99**100 * x: the count is held constant, the only input differentiated is x
    assert out.splitlines()[-1] == f"gradient: ∂y/∂x = {2 * 0.99**100:.10g}"
    code, _, err = cli(capsys, decay_file, "--at", "steps=3")
    assert code == 2 and "give a value for x (it has no default)" in err


def test_check_holds_a_count_constant_and_refuses_it_asked_for(capsys, decay_file):
    code, out, _ = cli(capsys, decay_file, "--check", "--at", "x=2", "steps=3")
    assert code == 0 and "all components agree" in out
    assert [line.split()[1] for line in out.splitlines()[1:-1]] == ["x", "x"]
    code, _, err = cli(capsys, decay_file, "--check", "--at", "x=2", "steps=3", "--wrt", "steps")
    assert code == 1 and "TypeError" in err and "leave `steps` out of wrt" in err
    assert "Traceback" not in err


def test_at_before_the_target_and_sections_beside_the_table(capsys, decay_file):
    code, out, err = cli(capsys, "--at", "x=2", "steps=3", decay_file, "--trace")
    assert (code, err) == (0, "")
    assert out.startswith("# SSA trace of decay\ndef decay(x, steps=100, scale=2.0):")
    assert out.splitlines()[-1] == f"gradient: ∂y/∂x = {2 * 0.99**3:.10g}"
    code, out, _ = cli(capsys, "--wrt", "x", decay_file, "--reverse")
    assert code == 0 and out.startswith("# reverse mode\ndef decay_grad(")


@pytest.mark.parametrize(
    "options, message",
    [
        (["--at", "x=1", "x=2"], "--at gives x twice"),
        (["--hessian", "--teaching"], "no teaching form"),
        (["--teaching", "--at", "x=1"], "add one of them"),
        (["--check"], "--check needs a point"),
    ],
)
def test_combinations_that_cannot_be_followed_are_refused(capsys, decay_file, options, message):
    code, out, err = cli(capsys, decay_file, *options)
    assert (code, out) == (2, "") and message in err and len(err.splitlines()) == 1


def test_teaching_forward_at_a_point_prints_both(capsys):
    code, out, _ = cli(capsys, LECTURE + ":seed000_y", "--forward", "--teaching", "--at", "x1=2")
    assert code == 2 and "give a value for x2" in _  # x2 has no default
    code, out, _ = cli(
        capsys, LECTURE + ":seed000_y", "--forward", "--teaching", "--at", "x1=2", "x2=5"
    )
    assert code == 0 and "w1_dot = x1_dot" in out and "gradient: ∂y/∂x1 = 4.583853163" in out


def test_a_module_in_the_current_folder(capsys, tmp_path, monkeypatch):
    (tmp_path / "here_only_module.py").write_text("def f(x):\n    return 3.0 * x\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    code, out, _ = cli(capsys, "-m", "here_only_module:f", "--at", "x=1.5")
    assert code == 0 and out.splitlines()[-1] == "gradient: ∂y/∂x = 3"
    assert str(tmp_path) not in sys.path  # the path is as it was


def test_no_color_and_version(capsys, monkeypatch):
    from s2sad import __version__
    from s2sad.cli import highlighted

    monkeypatch.setenv("NO_COLOR", "1")
    assert highlighted("def f(x):\n    return x") == "def f(x):\n    return x"
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"s2sad {__version__}\n"


def test_a_syntax_error_shows_line_column_and_caret(capsys, tmp_path):
    (tmp_path / "bad.py").write_text("def f(x):\n    return x +* 2\n")
    code, _, err = cli(capsys, tmp_path / "bad.py")
    assert code == 1
    assert err.splitlines()[1:] == [
        "    return x +* 2",
        "              ^",
        "SyntaxError: invalid syntax",
    ]
    assert err.startswith(f's2sad:   File "{tmp_path / "bad.py"}", line 2, column 15')


# --- whole files: what can be shown is, and what is skipped is said ------------------------------


def test_a_whole_file_shows_what_it_can_and_says_what_it_skipped(capsys):
    code, out, err = cli(capsys, ROOT / "samples" / "newton.py", "--reverse")
    assert code == 0
    assert re.findall(r"^def (\w+)\(", out, re.MULTILINE) == ["equations_grad"]
    assert "skipped 2 of 3 functions" in err
    assert "  newton (line 26): cannot differentiate through `s2sad.jacobian`" in err
    assert "errors.py" not in err and "Traceback" not in err


def test_a_call_of_s2sad_inside_the_function_points_at_the_call(capsys):
    code, _, err = cli(capsys, str(ROOT / "samples" / "likelihood.py") + ":newton_fit")
    assert code == 1 and "errors.py" not in err
    assert "likelihood.py" in err and "s2sad.grad(logistic_nll)" in err


def test_a_function_that_needs_its_arguments_is_skipped_saying_how_to_give_them(capsys):
    code, out, _ = cli(capsys, ROOT / "samples" / "train_mlp.py")
    assert code == 1 and out == ""  # no function of it can be differentiated without arguments

    code, out, err = cli(capsys, ROOT / "samples" / "train_mlp.py", "--trace")
    # dataset's primal trace needs no derivative rule for rng.uniform; the other two are skipped
    assert code == 0 and out.count("# SSA trace of") == 1 and "def dataset(count, rng)" in out
    assert "  loss (line 17): `params` is used as a dict" in err
    assert f"(give them: {ROOT / 'samples' / 'train_mlp.py'}:loss --at ...)" in err


def test_a_file_with_nothing_to_show_exits_1(capsys, tmp_path):
    (tmp_path / "globals.py").write_text("def f(x):\n    global G\n    return x\n")
    code, out, err = cli(capsys, tmp_path / "globals.py")
    assert (code, out) == (1, "")
    assert "skipped 1 of 1 functions" in err and "f (line 2): a `global` declaration" in err


def test_keyword_only_parameters_take_their_defaults(capsys, tmp_path):
    (tmp_path / "scaled.py").write_text("def f(x, *, scale=2.0):\n    return x * x * scale\n")
    target = str(tmp_path / "scaled.py") + ":f"
    code, out, _ = cli(capsys, target, "--at", "x=3")
    assert code == 0 and out.splitlines()[-1] == "gradient: ∂y/∂x = 12"  # 2 · 2x at x = 3
    code, out, _ = cli(capsys, target, "--check", "--at", "x=3")
    assert code == 0 and "all components agree" in out
    code, _, err = cli(capsys, target, "--at", "x=3", "scale=1")
    assert code == 2 and "`scale` as a keyword-only parameter" in err


DATACLASS_MODULE = """\
from dataclasses import dataclass

import numpy as np


@dataclass
class Params:
    w: np.ndarray
    b: float


def loss(p, x):
    return np.sum((p.w * x + p.b) ** 2)
"""


def test_at_builds_a_dataclass_of_the_module_from_literals(capsys, tmp_path):
    path = tmp_path / "model.py"
    path.write_text(DATACLASS_MODULE)
    code, out, _ = cli(capsys, f"{path}:loss", "--at", "p=Params(w=[1, 2], b=0.5)", "x=[3, -1]")
    # r = w x + b = (3.5, -1.5): ∂/∂w = 2 r x = (21, 3), ∂/∂b = 2 Σ r = 4, ∂/∂x = 2 r w = (7, -6)
    assert code == 0
    assert "∂y/∂p_w = [21., 3.], ∂y/∂p_b = 4, ∂y/∂x = [ 7., -6.]" in out
    code, _, err = cli(capsys, f"{path}:loss", "--at", "p=print(1)", "x=[3, -1]")
    assert code == 2 and "`print` is not a dataclass or named tuple of the function's module" in err
