"""What a user sees of an error: their own frames, the entry point they called, and a last frame at
the line of their code the error is about, with Python's caret under the construct; never a frame
of s2sad's errors.py. Also the refusal of async functions."""

import os
import subprocess
import sys
import textwrap
import traceback

import numpy as np
import pytest

import s2sad

PACKAGE_DIR = os.path.dirname(os.path.abspath(s2sad.__file__)) + os.sep


class Box:
    def __init__(self, v):
        self.v = v


def boxed(x):
    return Box(x).v * 2.0


async def coroutine(x):
    return x * x


def frames(err):
    return traceback.extract_tb(err.__traceback__)


def test_a_located_error_ends_at_the_users_line_with_a_caret():
    with pytest.raises(s2sad.S2SADError) as info:  # a class s2sad cannot follow
        s2sad.grad(boxed)
    last = frames(info.value)[-1]
    assert (last.filename, last.name, last.line) == (__file__, "boxed", "return Box(x).v * 2.0")
    assert (last.colno, last.end_colno) == (11, 17)  # under `Box(x)`
    assert all(not f.filename.startswith(PACKAGE_DIR + "errors.py") for f in frames(info.value))


def test_an_argument_error_ends_at_the_entry_point_called():
    def f(x):
        return x * x

    with pytest.raises(s2sad.ArgumentError) as info:
        s2sad.grad(f, wrt=3)
    package = [f for f in frames(info.value) if f.filename.startswith(PACKAGE_DIR)]
    assert [(os.path.basename(f.filename), f.name) for f in package] == [("api.py", "grad")]
    assert package[0].line.startswith("def grad(")


def test_async_def_is_refused_at_its_def_line():
    with pytest.raises(s2sad.UnsupportedSyntaxError) as info:
        s2sad.grad(coroutine)
    assert "async def" in info.value.message
    assert info.value.location.text == "async def coroutine(x):"


def test_a_script_shows_only_its_own_frames_and_the_entry_point(tmp_path):
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent("""
            import s2sad

            class Box:
                def __init__(self, v):
                    self.v = v

            def f(x):
                return Box(x).v

            s2sad.grad(f)(1.0)
            """))
    here = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(PACKAGE_DIR))}
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=here)
    lines = result.stderr.splitlines()
    files = [line.split('"')[1] for line in lines if line.startswith('  File "')]
    assert files[0] == files[-1] == str(script)
    assert [os.path.basename(f) for f in files[1:-1]] == ["api.py"]
    assert "errors.py" not in result.stderr
    assert lines[lines.index("    return Box(x).v") + 1] == "           ^^^^^^"


def keyed(p):
    return p["a"] * 2.0


def test_an_error_at_the_first_call_ends_at_the_users_line():
    gradient = s2sad.grad(keyed)
    with pytest.raises(s2sad.StructureNeededError) as info:
        gradient(np.ones(2))  # an array where the function reads a dict
    last = frames(info.value)[-1]
    assert (last.filename, last.name, last.line) == (__file__, "keyed", 'return p["a"] * 2.0')


def text_of(x):
    return str(x) + "!"


def formatted(x):
    label = f"{x:.2f}"
    return label


def labelled(x):
    label = str(x)  # text beside the arithmetic is a constant of the derivative
    return x * 2.0


@pytest.mark.parametrize("fn", [text_of, formatted])
def test_a_function_returning_text_is_refused_at_its_return(fn):
    for entry in (s2sad.grad, s2sad.value_and_grad, s2sad.hessian):
        with pytest.raises(s2sad.NonScalarOutputError, match="returns a str") as info:
            entry(fn)
        assert info.value.location.text.strip().startswith("return")
    assert s2sad.grad(labelled)(1.5) == 2.0
