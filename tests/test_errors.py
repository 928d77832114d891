"""Bad input gets a clear error: the right class, the exact place in the user's file, and what to do.

Each unsupported construct lives in its own small function below. A test finds the expected line and
column independently, by searching the function's own source lines (from :mod:`inspect`) for a
*needle*: a piece of text that starts exactly where the offending construct starts.
"""

import inspect
import linecache
import math
import os
import traceback

import numpy as np
import pytest

import s2sad
from s2sad import (
    ArgumentError,
    NonScalarOutputError,
    NotDifferentiableError,
    S2SADError,
    SourceNotFoundError,
    UnknownFunctionError,
    UnsupportedSyntaxError,
)

THIS_FILE = os.path.abspath(__file__)
COUNTER = 0.0
INTERNAL_MODULES = ("lower.py", "frontend.py", "pipeline.py", "traces.py", "programs.py")
# The package's real folder: a clone may itself be named `s2sad`, so a path containing `/s2sad/` is
# not enough to tell the package's frames from the tests'.
PACKAGE_DIR = os.path.dirname(os.path.abspath(s2sad.__file__)) + os.sep


# --- functions with unsupported constructs, one each ----------------------------------------------


def f_for(x):
    y = x
    for v in (1.0, 2.0, 3.0):
        if y > 10.0:
            break
        y = y * v
    return y


def f_while(x):
    while x > 10.0:
        x = x / 2.0
    else:
        x = x - 1.0
    return x


def f_try(x):
    try:
        y = x * 2.0
    except ValueError:
        y = x
    return y


def f_nested_def(x):
    @staticmethod
    def inner(y):
        return y * 2.0

    return x


def f_lambda_in_body(x):
    g = lambda y: g(y * 0.5) if y > 1.0 else y  # noqa: E731
    return g(x)


def f_list_comprehension(x, n):
    y = [v * x for v in range(n)]
    return x


def f_generator_expression(x, n):
    g = sum(v * x for v in range(n))
    return g


def f_global(x):
    global COUNTER
    return x


def _make_nonlocal():
    total = 0.0

    def f_nonlocal(x):
        nonlocal total
        return x

    return f_nonlocal


f_nonlocal = _make_nonlocal()


def f_yield(x):
    yield x * 2.0


def f_walrus(x):
    y = (z := x * 2.0)
    return y


def f_import(x):
    import cmath

    return x


def f_import_from(x):
    from math import sin

    return x


def f_del(x):
    y = x * 2.0
    del y
    return x


def f_attribute_assignment(obj, x):
    obj.x = 1.0
    return x


def f_item_assignment(d, x):
    d[0] = x
    return x


def f_augmented_attribute(obj, x):
    obj.x += 1.0
    return x


def helper(x):
    return x * 2.0


def f_numpy(x):
    return np.fft.fft(x)


def f_user_function(x):
    def halve(v):
        return halve(v / 2.0) if v > 10.0 else v

    return halve(x) * 3.0


def f_undefined_name(x):
    return x * undefined_name  # noqa: F821


def f_used_before_assignment(x):
    y = z * x
    z = 2.0
    return y


def f_max_of_sequence(x):
    return max(x)


def f_sin_two_arguments(x, y):
    return math.sin(x, y)


# (function, error class, needle: the text that starts where the construct starts)
SYNTAX_CASES = [
    (f_for, UnsupportedSyntaxError, "break"),
    (f_while, UnsupportedSyntaxError, "while x > 10.0:"),
    (f_try, UnsupportedSyntaxError, "try:"),
    (f_nested_def, UnsupportedSyntaxError, "@staticmethod"),
    (f_lambda_in_body, UnknownFunctionError, "g(y * 0.5)"),
    (f_list_comprehension, UnsupportedSyntaxError, "range(n)]"),
    (f_generator_expression, UnsupportedSyntaxError, "range(n))"),
    (f_global, UnsupportedSyntaxError, "global COUNTER"),
    (f_nonlocal, UnsupportedSyntaxError, "nonlocal total"),
    (f_yield, UnsupportedSyntaxError, "yield x"),
    (f_walrus, UnsupportedSyntaxError, "z := x * 2.0"),
    (f_import, UnsupportedSyntaxError, "import cmath"),
    (f_import_from, UnsupportedSyntaxError, "from math import sin"),
    (f_del, UnsupportedSyntaxError, "del y"),
    (f_attribute_assignment, UnsupportedSyntaxError, "obj.x = 1.0"),
    (f_item_assignment, UnsupportedSyntaxError, "d[0] = x"),
    (f_augmented_attribute, UnsupportedSyntaxError, "obj.x += 1.0"),
    (f_user_function, UnknownFunctionError, "halve(v / 2.0)"),
    (f_undefined_name, S2SADError, "undefined_name"),
    (f_used_before_assignment, S2SADError, "z * x"),
    (f_max_of_sequence, S2SADError, "max(x)"),
    (f_sin_two_arguments, S2SADError, "math.sin(x, y)"),
]


def _ids(cases):
    return [case[0].__name__ for case in cases]


# --- helpers -------------------------------------------------------------------------------------


def expected_place(fn, needle):
    """``(line, column, text)`` of the first line of ``fn`` containing ``needle``, found in its source."""
    lines, first = inspect.getsourcelines(fn)
    # The body first: a needle like "(x)" also occurs in the line "def f_numpy(x):".
    order = [*range(1, len(lines)), 0]
    hits = [(i, lines[i]) for i in order if needle in lines[i]]
    assert hits, f"test setup: {needle!r} is not in the source of {fn.__name__}"
    offset, text = hits[0]
    return first + offset, text.index(needle), text.rstrip("\n")


def raised_by(call, fn, *args, **kwargs):
    with pytest.raises(S2SADError) as info:
        call(fn, *args, **kwargs)
    return info.value


def assert_points_at(err, fn, needle):
    """The error's location is the line and column of ``needle`` in ``fn``'s file, and renders so."""
    line, column, text = expected_place(fn, needle)
    loc = err.location
    assert loc is not None, f"{type(err).__name__} has no location: {err}"
    assert loc.filename == THIS_FILE
    assert loc.line == line, f"line {loc.line}, expected {line}: {err}"
    assert loc.column == column, f"column {loc.column}, expected {column}: {err}"
    assert loc.text == text
    assert loc.width >= 1

    rendered = str(err).splitlines()
    assert rendered[0] == f'  File "{THIS_FILE}", line {line}, column {column + 1}'
    assert rendered[1].strip() == text.strip()
    caret_line = rendered[2]
    assert set(caret_line.strip()) == {"^"}, caret_line
    assert caret_line.index("^") == rendered[1].index(needle), "\n".join(rendered)


def assert_has_hint(err):
    """The message ends with '; ' and a non-empty sentence on what to do."""
    assert err.hint.strip(), f"no hint in: {err}"
    last = str(err).splitlines()[-1]
    assert last.endswith(f"; {err.hint}")
    assert last[: -len(err.hint) - 2].strip(), "no description before the hint"


def assert_no_internal_frames(err):
    frames = traceback.extract_tb(err.__traceback__)
    package_frames = [f for f in frames if os.path.abspath(f.filename).startswith(PACKAGE_DIR)]
    for frame in package_frames:
        assert not frame.filename.endswith(INTERNAL_MODULES), f"internal frame {frame}"
    assert len(package_frames) <= 1, [f"{f.filename}:{f.lineno}" for f in package_frames]
    formatted = "".join(traceback.format_exception(err))
    for name in INTERNAL_MODULES:
        assert PACKAGE_DIR + name not in formatted, formatted


# --- unsupported constructs ----------------------------------------------------------------------


@pytest.mark.parametrize("fn, error, needle", SYNTAX_CASES, ids=_ids(SYNTAX_CASES))
def test_grad_reports_construct(fn, error, needle):
    err = raised_by(s2sad.grad, fn)
    assert isinstance(err, error), f"{type(err).__name__}: {err}"
    assert_points_at(err, fn, needle)
    assert_has_hint(err)
    assert_no_internal_frames(err)


@pytest.mark.parametrize("fn, error, needle", SYNTAX_CASES, ids=_ids(SYNTAX_CASES))
def test_trace_reports_construct(fn, error, needle):
    err = raised_by(s2sad.trace, fn)
    assert isinstance(err, error), f"{type(err).__name__}: {err}"
    assert_points_at(err, fn, needle)
    assert_has_hint(err)
    assert_no_internal_frames(err)


@pytest.mark.parametrize(
    "call",
    [
        lambda f: s2sad.value_and_grad(f),
        lambda f: s2sad.jacobian(f),
        lambda f: s2sad.tangent_source(f),
        lambda f: s2sad.adjoint_source(f),
        lambda f: s2sad.vjp(f, 1.0),
        lambda f: s2sad.jvp(f, (1.0,), (1.0,)),
    ],
    ids=["value_and_grad", "jacobian", "tangent_source", "adjoint_source", "vjp", "jvp"],
)
def test_every_entry_point_reports_the_same_place(call):
    with pytest.raises(UnsupportedSyntaxError) as info:
        call(f_list_comprehension)
    assert_points_at(info.value, f_list_comprehension, "range(n)]")
    assert_no_internal_frames(info.value)


CONSTRUCT_WORDS = [
    (f_for, ["break"]),
    (f_while, ["else"]),
    (f_list_comprehension, ["comprehension"]),
    (f_generator_expression, ["comprehension"]),
    (f_walrus, [":="]),
    (f_yield, ["yield"]),
    (f_import, ["import"]),
    (f_global, ["global"]),
    (f_nonlocal, ["nonlocal"]),
    (f_del, ["del"]),
]


@pytest.mark.parametrize("fn, words", CONSTRUCT_WORDS, ids=_ids(CONSTRUCT_WORDS))
def test_message_names_the_construct(fn, words):
    err = raised_by(s2sad.grad, fn)
    for word in words:
        assert word in err.message, err.message


def test_straight_line_hint_says_what_is_supported():
    err = raised_by(s2sad.grad, f_try)
    for construct in ("assignments", "`if`", "`for`", "`while`", "return"):
        assert construct in err.hint


def test_assignment_to_attribute_says_to_use_a_local():
    for fn in (f_attribute_assignment, f_augmented_attribute):
        err = raised_by(s2sad.grad, fn)
        assert "local variable" in err.hint, err


def test_writing_into_an_argument_says_to_copy_it():
    err = raised_by(s2sad.grad, f_item_assignment)
    assert "caller" in err.message or "argument" in err.message, err
    assert "d = d.copy()" in err.hint, err


# --- locations in methods, closures, lambdas and decorated functions ------------------------------


class WithMethod:
    def method(self, x):
        y = {v for v in (x, x)}
        return x


def _make_closure():
    k = 2.0

    def closure(x):
        y = {k * v for v in (x, x)}
        return y

    return closure


lambda_with_set = lambda x: {x}  # noqa: E731


def _identity(fn):
    return fn


@_identity
def decorated_with_loop(x):
    for i in (1.0, 2.0):
        x = x * i
        break
    return x


@pytest.mark.parametrize(
    "fn, source_of, needle",
    [
        (WithMethod().method, WithMethod.method, "{v for v in (x, x)}"),
        (WithMethod.method, WithMethod.method, "{v for v in (x, x)}"),
        (_make_closure(), _make_closure(), "{k * v for v in (x, x)}"),
        (lambda_with_set, lambda_with_set, "{x}"),
        (decorated_with_loop, decorated_with_loop, "break"),
    ],
    ids=["bound-method", "method", "closure", "lambda", "decorated"],
)
def test_location_in_indented_and_one_line_code(fn, source_of, needle):
    err = raised_by(s2sad.grad, fn)
    assert isinstance(err, UnsupportedSyntaxError)
    assert_points_at(err, source_of, needle)
    assert_has_hint(err)
    assert_no_internal_frames(err)


def test_location_when_decorating_with_grad(tmp_path):
    source = (
        "import s2sad\n"
        "\n"
        "\n"
        "@s2sad.grad\n"
        "def f(x):\n"
        "    y = x * 2.0\n"
        "    try:\n"
        "        y = y / 2.0\n"
        "    except ZeroDivisionError:\n"
        "        pass\n"
        "    return y\n"
    )
    path = tmp_path / "s2sad_decorated_error.py"
    path.write_text(source)
    code = compile(source, str(path), "exec")
    with pytest.raises(UnsupportedSyntaxError) as info:
        exec(code, {"__name__": "s2sad_decorated_error"})
    loc = info.value.location
    assert (loc.filename, loc.line, loc.column) == (str(path), 7, 4)
    assert loc.text == "    try:"


# --- unknown functions ---------------------------------------------------------------------------


def test_unknown_function_of_a_differentiated_value_gives_advice():
    # Without a rule, np.fft.fft is a constant of the derivative where its argument carries none;
    # here it does, so the gradient for arrays is refused where the call is.
    err = raised_by(lambda fn: s2sad.grad(fn)(np.ones(3)), f_numpy)
    assert isinstance(err, UnknownFunctionError)
    assert "`np.fft.fft`" in err.message
    assert_points_at(err, f_numpy, "np.fft.fft(x)")
    assert "s2sad.stop_gradient" in err.hint and "s2sad.custom_rule" in err.hint
    assert "math.sin" not in err.hint  # advice, not the list of every supported name


def test_recursion_is_refused_with_what_to_do_instead():
    err = raised_by(s2sad.grad, f_user_function)
    assert isinstance(err, UnknownFunctionError)
    assert "`halve` calls itself" in err.message
    assert "loop" in err.hint


# --- names ---------------------------------------------------------------------------------------


def test_undefined_name_is_named():
    err = raised_by(s2sad.grad, f_undefined_name)
    assert "`undefined_name`" in err.message
    assert "not defined" in err.message


def test_used_before_assignment_is_named():
    err = raised_by(s2sad.grad, f_used_before_assignment)
    assert "`z`" in err.message
    assert "before" in err.message


# --- argument counts -----------------------------------------------------------------------------


def test_max_of_one_sequence_says_to_pass_separate_numbers():
    err = raised_by(s2sad.grad, f_max_of_sequence)
    assert "max" in err.message
    assert "got 1" in err.message
    assert "separate" in err.hint


def test_wrong_number_of_arguments_gives_expected_count():
    err = raised_by(s2sad.grad, f_sin_two_arguments)
    assert "math.sin" in err.message
    assert "1" in err.message and "got 2" in err.message


# --- outputs -------------------------------------------------------------------------------------


def f_returns_tuple(x):
    y = x * 2.0
    return y, x * x


def f_returns_nothing(x):
    y = x * 2.0


def f_returns_bare(x):
    y = x * 2.0
    return


@pytest.mark.parametrize("api", [s2sad.grad, s2sad.value_and_grad], ids=["grad", "value_and_grad"])
def test_tuple_output_points_at_return(api):
    err = raised_by(api, f_returns_tuple)
    assert isinstance(err, NonScalarOutputError)
    assert_points_at(err, f_returns_tuple, "y, x * x")
    assert "jacobian" in str(err) and "vjp" in str(err)
    assert "tuple" in err.message and "2" in err.message
    assert_has_hint(err)
    assert_no_internal_frames(err)


def test_tuple_output_is_fine_for_trace_and_jacobian():
    assert s2sad.trace(f_returns_tuple)(3.0) == (6.0, 9.0)
    assert np.allclose(s2sad.jacobian(f_returns_tuple)(3.0), [2.0, 6.0])


def test_no_return_says_returns_none():
    err = raised_by(s2sad.grad, f_returns_nothing)
    assert isinstance(err, NonScalarOutputError)
    assert "returns None" in err.message
    assert "return" in err.hint
    assert err.location is not None and err.location.filename == THIS_FILE
    lines, first = inspect.getsourcelines(f_returns_nothing)
    assert first <= err.location.line < first + len(lines)
    assert_no_internal_frames(err)


def test_bare_return_points_at_return():
    err = raised_by(s2sad.grad, f_returns_bare)
    assert isinstance(err, NonScalarOutputError)
    assert "returns None" in err.message
    assert_points_at(err, f_returns_bare, "return")


def test_identical_cells_report_their_own_file():
    """A notebook re-runs a cell under a new name: errors must quote the cell that was run."""
    src = "def h(x):\n    return x, 2.0 * x\n"
    functions = []
    for name in ("<s2sad-test-cell-1>", "<s2sad-test-cell-2>"):
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
        ns = {}
        exec(compile(src, name, "exec"), ns)
        functions.append((name, ns["h"]))
    for name, fn in functions:
        err = raised_by(s2sad.grad, fn)
        assert isinstance(err, NonScalarOutputError)
        assert err.location.filename == name
        assert err.location.line == 2
        assert err.location.column == src.splitlines()[1].index("x, 2.0")


# --- functions without source --------------------------------------------------------------------


def _exec_function():
    ns = {}
    exec("def from_string(x):\n    return x * x\n", ns)
    return ns["from_string"]


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: math.sin, "sin"),
        (_exec_function, "from_string"),
        (lambda: eval("lambda x: x * x"), "lambda"),
    ],
    ids=["builtin", "exec", "eval-lambda"],
)
@pytest.mark.parametrize("api", [s2sad.grad, s2sad.trace], ids=["grad", "trace"])
def test_source_not_found(make, name, api):
    fn = make()
    try:
        api(fn)
    except SourceNotFoundError as err:
        assert err.location is None
        assert name in err.message
        assert "source" in str(err)
        assert_has_hint(err)
        assert "def" in err.hint
        assert_no_internal_frames(err)
    except Exception as err:  # noqa: BLE001 - any other exception is the failure being tested
        pytest.fail(
            f"expected SourceNotFoundError, got {type(err).__name__}: {err}\n"
            + "".join(traceback.format_exception(err))
        )
    else:
        pytest.fail("no error raised")


# --- wrt -----------------------------------------------------------------------------------------


def two_params(alpha, beta):
    return alpha * beta


BAD_WRT = [2, -3, "gamma", 1.5, (0, 0), ("alpha", 0), (), []]
BAD_WRT_IDS = [
    "out-of-range",
    "negative-out-of-range",
    "unknown-name",
    "float",
    "dup",
    "dup-mixed",
    "empty",
    "empty-list",
]


@pytest.mark.parametrize("wrt", BAD_WRT, ids=BAD_WRT_IDS)
def test_bad_wrt_names_the_parameters(wrt):
    try:
        s2sad.grad(two_params, wrt=wrt)
    except ArgumentError as err:
        assert "wrt" in str(err)
        assert_no_internal_frames(err)
        assert "alpha" in str(err) and "beta" in str(err), f"parameters not named in: {err}"
    except Exception as err:  # noqa: BLE001
        pytest.fail(f"expected ArgumentError, got {type(err).__name__}: {err}")
    else:
        pytest.fail(f"wrt={wrt!r} accepted")


@pytest.mark.parametrize("wrt", BAD_WRT, ids=BAD_WRT_IDS)
@pytest.mark.parametrize(
    "api",
    [s2sad.value_and_grad, s2sad.jacobian, s2sad.tangent_source, s2sad.adjoint_source],
    ids=["value_and_grad", "jacobian", "tangent_source", "adjoint_source"],
)
def test_bad_wrt_in_other_entry_points(api, wrt):
    with pytest.raises(ArgumentError) as info:
        api(two_params, wrt=wrt)
    assert "wrt" in str(info.value)
    assert_no_internal_frames(info.value)


def test_wrt_bool_is_rejected():
    with pytest.raises(ArgumentError):
        s2sad.grad(two_params, wrt=True)


def test_bad_wrt_in_decorator_form():
    with pytest.raises(ArgumentError) as info:
        s2sad.grad(wrt=5)(two_params)
    assert "alpha" in str(info.value)
    assert_no_internal_frames(info.value)


# --- not differentiable --------------------------------------------------------------------------


def f_real(x):
    y = x * 2.0
    return x.real * y


def f_real_of_other(x, c):
    return x * c.real


def test_attribute_of_differentiated_value():
    err = raised_by(s2sad.grad, f_real)
    assert isinstance(err, NotDifferentiableError)
    assert_points_at(err, f_real, "x.real")
    assert_has_hint(err)
    assert_no_internal_frames(err)
    assert "x" in err.message
    assert "real" in err.message, f"the message does not name the attribute: {err.message}"


def test_attribute_of_constant_input_is_fine():
    # d/dx (x * c.real) = c.real
    assert s2sad.grad(f_real_of_other)(2.0, 3.5) == 3.5


def test_error_is_pickle_safe_and_keeps_fields():
    import pickle

    err = raised_by(s2sad.grad, f_try)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err)
    assert copy.location == err.location
    assert str(copy) == str(err)
