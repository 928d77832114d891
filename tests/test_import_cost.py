"""What ``import s2sad`` and a first derivative import: libcst only to lower a function, SciPy's
special functions only where the process has imported SciPy, black never on the way to a derivative (it lays out only the export, and statements generated code does
not have). Checked in fresh processes by what ``sys.modules`` holds, not by timing; the times are
in ``python -m s2sad.bench``."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _modules_after(code: str, tmp_path) -> set:
    script = textwrap.dedent(code) + "\nimport sys\nprint(' '.join(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=True
    )
    return set(done.stdout.split())


def test_import_s2sad_imports_neither_libcst_nor_black_nor_scipy(tmp_path):
    modules = _modules_after(
        "import s2sad\nfrom s2sad import grad, hessian, export_source", tmp_path
    )
    assert "s2sad.api" in modules
    assert not {m for m in modules if m.split(".")[0] in ("libcst", "black", "scipy")}


def test_a_first_gradient_with_long_lines_imports_libcst_but_not_black(tmp_path):
    names = [f"input_number_{k}" for k in range(8)]
    body = " + ".join(f"math.sin({a}) * {b}" for a, b in zip(names, names[1:] + names[:1]))
    (tmp_path / "wide.py").write_text(
        f"import math\n\n\ndef f({', '.join(names)}):\n    return {body}\n"
    )
    modules = _modules_after(
        """
        import math, s2sad, wide
        args = [0.1 * k for k in range(1, 9)]
        gradient = s2sad.grad(wide.f, wrt=tuple(range(8)))(*args)
        h = 1e-6  # central differences in float64: error about h**2, far below the tolerance
        for k, g in enumerate(gradient):
            up, down = list(args), list(args)
            up[k] += h
            down[k] -= h
            assert abs(g - (wide.f(*up) - wide.f(*down)) / (2 * h)) < 1e-6
        # the adjoint sums are too long for a line: laid out split, at a bracket
        assert any(l.endswith("(") for l in s2sad.adjoint_source(wide.f).splitlines())
        """,
        tmp_path,
    )
    assert "libcst" in modules
    assert "black" not in modules
