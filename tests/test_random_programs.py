"""Random straight-line programs, differentiated in both modes and checked against finite differences.

Hypothesis builds small Python functions from the primitives s2sad knows (arithmetic, powers, math
functions, ``abs``/``max``/``min``, ``math.hypot``), with reassignment, augmented assignment, tuple
unpacking and a scalar or tuple return. Each program is written to a real file and imported, because
s2sad reads a function's source text. For each program and point the test checks that

1. the SSA trace runs and returns exactly what the function returns, also when its printed source is
   executed again;
2. ``grad``, ``value_and_grad``, ``jvp``, ``vjp`` and ``jacobian`` (forward and reverse) match central
   finite differences;
3. forward and reverse mode agree with each other to rounding;
4. the tangent and adjoint sources, teaching and optimised, are valid, black-stable Python; the
   teaching forms compute the same numbers as the optimised code; and the optimised sources carry no
   trivial arithmetic (``+ 0``, ``* 1``, zero initialisations accumulated with ``+=``).

``test_pinned_program`` runs the same checks on fixed programs of the generator's kind that exercise
cases the derandomized sample of ``test_random_program`` does not reach.

Every program is defined and finite at the sampled points by construction: divisors are ``1 + v * v``
or ``2 + sin(v)``, square roots and logarithms take ``1 + v * v``, and exponentials take ``sin(v)`` or
``0.1 * v``. Points where intermediate values grow past ``MAX_MAGNITUDE`` are discarded with ``assume``.

Kinks (``abs``, ``max``, ``min``, and ``hypot`` at the origin): a shadow copy of each program, with the
same arithmetic but instrumented calls, records how far every kink argument is from its kink and which
branch it takes. When the point lies within ``KINK_GAP`` of a kink, or the finite-difference stencil
crosses one, finite differences are not compared there (straddling a kink they measure an average of
two slopes, not a derivative), but every other check runs, including the agreement of forward and
reverse mode at exact ties. All derivatives are then checked again at the point moved by ``OFFSETS``,
with finite differences if that point is clear of kinks. The tie-breaking conventions themselves
(``abs'(0) = 0``, ``max`` routing to its first argument) are not checked against finite differences.
"""

import ast
import difflib
import importlib.util
import itertools
import math
import re
from dataclasses import dataclass

import black
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, note, settings
from hypothesis import strategies as st

import s2sad

# --- tolerances ---------------------------------------------------------------------------------
#
# Central differences D(h) = (f(x + h) - f(x - h)) / 2h with h = STEP * max(1, |x|) have rounding
# error about k eps M / h, where M is the largest intermediate magnitude (the program's rounding
# errors are relative to its intermediate values, not to its output) and k the number of rounded
# operations (a few dozen here): with eps = 2.2e-16 and k <= 50 it is below 1.1e-8 M, a hundredth of
# the absolute allowance FD_ATOL * max(1, M). Their truncation error h^2 |f'''| / 6 ~ 2e-13 |f'''| is
# covered by the relative allowance FD_RTOL |f'| while |f'''| < 5e7 |f'|. That fails for compositions
# such as sin(v) with v ~ 1e3 growing steeply in x, so the allowance also includes twice the measured
# change |D(2h) - D(h)|, which is about three times the truncation error of D(h); it is negligible
# wherever finite differences are accurate. A wrong derivative is off by an amount of the order of
# the derivative itself, far above all three terms. Over 20000 random programs the largest
# finite-difference discrepancy was 0.3 of the allowance without the third term and 0.11 with it
# (for sin(v) with v ~ 1e3), and below 0.01 for every other program.
STEP = 1e-6
FD_RTOL = 1e-5
FD_ATOL = 1e-6
MAX_MAGNITUDE = 1e4
#
# Forward and reverse mode (and the teaching and optimised forms) sum the same chain-rule products in
# different orders, so they differ by rounding only: a few eps times the largest product summed. The
# allowance is AD_RTOL = 1e-9 relative plus AD_RTOL * max(1, M, largest Jacobian entry) absolute, the
# latter for entries that cancel to near zero. Over 20000 random programs the largest discrepancy was
# 5e-7 of this allowance, while a missed or doubled term shows up at full size.
AD_RTOL = 1e-9
#
# Distance from a kink below which finite differences are not compared. The stencils (steps h and 2h)
# reach at most 2e-6 max(1, |x|) ~ 4e-6 from the point in each input, and a stencil point on another
# branch is detected separately; KINK_GAP also keeps the comparison away from exact ties, where no
# derivative exists and the rules apply a convention.
KINK_GAP = 1e-3
# When the drawn point sits at a kink (hypothesis favours 0.0 and repeated values, which are exactly
# the ties of abs, max and min), the derivatives are checked again at the point moved by these offsets.
OFFSETS = (0.0137, -0.0291, 0.0419)

# --- the program generator ----------------------------------------------------------------------

CONSTANTS = (2.0, 0.5, 3, 1.5, -0.75, 2.5, 2)

# Primitive -> template. {a} and {b} are the operands as written inside a call, {pa} and {pb} the same
# operands parenthesised unless they are atoms.
UNARY = {
    "neg": "-{pa}",
    "square": "{pa} ** 2",
    "cube": "{pa} ** 3",
    "sin": "math.sin({a})",
    "cos": "math.cos({a})",
    "tanh": "math.tanh({a})",
    "exp_sin": "math.exp(math.sin({a}))",
    "exp_small": "math.exp(0.1 * {pa})",
    "atan": "math.atan({a})",
    "sqrt": "math.sqrt(1 + {pa} * {pa})",
    "log": "math.log(1 + {pa} * {pa})",
    "log1p": "math.log1p({pa} * {pa})",
    "erf": "math.erf({a})",
    "abs": "abs({a})",
}
BINARY = {
    "add": "{pa} + {pb}",
    "sub": "{pa} - {pb}",
    "mul": "{pa} * {pb}",
    "div_square": "{pa} / (1 + {pb} * {pb})",
    "div_sin": "{pa} / (2 + math.sin({b}))",
    "hypot": "math.hypot({a}, {b})",
    "max": "max({a}, {b})",
    "min": "min({a}, {b})",
}


# Primitives written as a call, which need no parentheses as an operand.
CALLS = {"sin", "cos", "tanh", "exp_sin", "exp_small", "atan", "sqrt", "log", "log1p", "erf", "abs"}
CALLS |= {"hypot", "max", "min"}


def is_atom(node) -> bool:
    """Names, non-negative constants and calls need no parentheses as operands."""
    if node[0] == "const":
        return node[1] >= 0
    return node[0] == "var" or node[1] in CALLS


def render(node) -> str:
    """Python text of an expression tree."""
    kind = node[0]
    if kind == "var":
        return node[1]
    if kind == "const":
        return repr(node[1])
    name, operands = node[1], node[2:]
    fields = {}
    for key, operand in zip("ab", operands):
        text = render(operand)
        fields[key] = text
        fields["p" + key] = text if is_atom(operand) else f"({text})"
    return (UNARY.get(name) or BINARY[name]).format(**fields)


@st.composite
def expressions(draw, names: list, depth: int = 0):
    """A primitive applied to earlier names, small constants or (at most once) a nested primitive."""

    def operand():
        choice = draw(st.integers(0, 9))
        if choice == 7:
            return ("const", draw(st.sampled_from(CONSTANTS)))
        if choice >= 8 and depth == 0:
            return draw(expressions(names, depth + 1))
        return ("var", draw(st.sampled_from(names)))

    if draw(st.booleans()):
        return ("op", draw(st.sampled_from(sorted(BINARY))), operand(), operand())
    return ("op", draw(st.sampled_from(sorted(UNARY))), operand())


@dataclass
class Program:
    text: str  # the module source defining f
    n: int  # number of parameters
    vector: bool  # returns a tuple of two values
    args: tuple


@st.composite
def programs(draw):
    n = draw(st.integers(1, 3))
    params = [f"x{i}" for i in range(1, n + 1)]
    defined = list(params)  # names bound so far, most recent last
    fresh = itertools.count(1)
    lines = []

    def bind(name):
        if name in defined:
            defined.remove(name)
        defined.append(name)

    for _ in range(draw(st.integers(2, 8))):
        kind = draw(st.sampled_from(["assign", "augment", "reassign", "unpack"]))
        if kind == "assign":
            target, expr = f"a{next(fresh)}", draw(expressions(defined))
            lines.append(f"{target} = {render(expr)}")
            bind(target)
        elif kind == "augment":
            target = draw(st.sampled_from(defined[::-1]))
            op = draw(st.sampled_from(["+", "-", "*"]))
            lines.append(f"{target} {op}= {render(draw(expressions(defined)))}")
            bind(target)
        elif kind == "reassign":
            target = draw(st.sampled_from(defined[::-1]))
            lines.append(f"{target} = {render(draw(expressions(defined)))}")
            bind(target)
        else:
            pool = defined[::-1] + ["<new>"]
            first = draw(st.sampled_from(pool))
            second = draw(st.sampled_from([p for p in pool if p != first or p == "<new>"]))
            targets = [f"a{next(fresh)}" if t == "<new>" else t for t in (first, second)]
            values = [render(draw(expressions(defined))) for _ in targets]
            lines.append(f"{', '.join(targets)} = {', '.join(values)}")
            for target in targets:
                bind(target)
    vector = draw(st.booleans())
    outputs = [draw(st.sampled_from(defined[::-1])) for _ in range(2 if vector else 1)]
    lines.append(f"return {', '.join(outputs)}")
    body = "".join(f"    {line}\n" for line in lines)
    text = f"import math\n\n\ndef f({', '.join(params)}):\n{body}"
    point = st.floats(-2, 2, allow_nan=False, allow_infinity=False)
    args = tuple(draw(point) for _ in range(n))
    return Program(text, n, vector, args)


# --- running programs ---------------------------------------------------------------------------

_modules = itertools.count()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("random_programs")


def load(text: str, workdir) -> object:
    """Write ``text`` to a fresh module file, import it, and return its ``f``."""
    name = f"s2sad_random_program_{next(_modules)}"
    path = workdir / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


class Instrument(ast.NodeTransformer):
    """Rewrites a program so that it reports its values and kinks as it runs, computing the same.

    Every value (a name read, an operation, a call) becomes ``_v(value)``; ``abs``, ``max``, ``min``
    and ``math.hypot`` become ``_abs``, ``_max``, ``_min`` and ``_hypot``; ``a op= b`` becomes
    ``a = _v(a op b)``, which for numbers computes the same.
    """

    KINKS = {"abs": "_abs", "max": "_max", "min": "_min", "math.hypot": "_hypot"}

    @staticmethod
    def record(node):
        return ast.Call(ast.Name("_v", ast.Load()), [node], [])

    def visit_Name(self, node):
        return self.record(node) if isinstance(node.ctx, ast.Load) else node

    def visit_BinOp(self, node):
        return self.record(self.generic_visit(node))

    def visit_UnaryOp(self, node):
        return self.record(self.generic_visit(node))

    def visit_Call(self, node):
        callee = ast.unparse(node.func)
        if callee in self.KINKS:
            node.func = ast.Name(self.KINKS[callee], ast.Load())
        node.args = [self.visit(arg) for arg in node.args]  # not the callee: `math` is no value
        return self.record(node)

    def visit_AugAssign(self, node):
        value = ast.BinOp(ast.Name(node.target.id, ast.Load()), node.op, node.value)
        return ast.Assign([node.target], self.visit(value))


class Probe:
    """Runs the instrumented copy of a program: the largest intermediate magnitude and the kinks."""

    def __init__(self, text: str):
        self.magnitude = 0.0
        self.kinks = []  # (branch, distance from the kink) per kink evaluated, in program order
        tree = ast.fix_missing_locations(Instrument().visit(ast.parse(text)))
        namespace = {
            "_v": self._value,
            "_abs": self._abs,
            "_max": self._max,
            "_min": self._min,
            "_hypot": self._hypot,
        }
        exec(compile(tree, "<probe>", "exec"), namespace)
        self._f = namespace["f"]

    def _value(self, v):
        size = abs(v) if v == v else math.inf  # a NaN counts as unbounded
        self.magnitude = max(self.magnitude, size)
        return v

    def _abs(self, a):
        self.kinks.append(((a > 0) - (a < 0), abs(a)))
        return abs(a)

    def _max(self, a, b):
        self.kinks.append((a >= b, abs(a - b)))
        return max(a, b)

    def _min(self, a, b):
        self.kinks.append((a <= b, abs(a - b)))
        return min(a, b)

    def _hypot(self, a, b):
        self.kinks.append((None, math.hypot(a, b)))
        return math.hypot(a, b)

    def run(self, args):
        """``(value, largest magnitude, kinks)`` at ``args``, or ``None`` if the program overflows."""
        self.magnitude, self.kinks = 0.0, []
        try:
            value = self._f(*args)
        except (OverflowError, ValueError, ZeroDivisionError):
            return None
        return value, self.magnitude, self.kinks


def steps(args) -> list:
    return [STEP * max(1.0, abs(x)) for x in args]


def shifted(args, j: int, delta: float) -> tuple:
    return tuple(x + delta if k == j else x for k, x in enumerate(args))


def central_differences(f, args, m: int, widen: float) -> np.ndarray:
    """Central differences with steps ``widen * steps(args)``, shape (m, n): rows are outputs."""
    columns = []
    for j, h in enumerate(steps(args)):
        h *= widen
        up = np.atleast_1d(np.array(f(*shifted(args, j, h)), dtype=float))
        down = np.atleast_1d(np.array(f(*shifted(args, j, -h)), dtype=float))
        columns.append((up - down) / (2 * h))
    return np.array(columns).T.reshape(m, len(args))


def finite_difference_jacobian(f, args, m: int) -> tuple:
    """The central-difference Jacobian and an estimate of its own error, both of shape (m, n).

    The estimate is the change when the step doubles: truncation error grows fourfold, so the
    change is about three times the truncation error of the finer differences.
    """
    fine = central_differences(f, args, m, 1.0)
    return fine, np.abs(central_differences(f, args, m, 2.0) - fine)


def near_kink(probe: Probe, args) -> bool:
    """Whether ``args`` is within KINK_GAP of a kink, or a stencil point takes another branch."""
    _, _, kinks = probe.run(args)
    if any(gap < KINK_GAP for _, gap in kinks):
        return True
    branches = [branch for branch, _ in kinks]
    for j, h in enumerate(steps(args)):
        for delta in (h, -h, 2 * h, -2 * h):
            result = probe.run(shifted(args, j, delta))
            if result is None or [branch for branch, _ in result[2]] != branches:
                return True
    return False


def assert_close(actual, expected, rtol: float, atol: float, what: str) -> None:
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    error = np.abs(actual - expected)
    allowed = atol + rtol * np.maximum(np.abs(actual), np.abs(expected))
    assert np.all(np.isfinite(actual)), f"{what}: not finite: {actual}"
    assert np.all(error <= allowed), (
        f"{what}:\n actual   {actual.tolist()}\n expected {expected.tolist()}\n"
        f" error    {error.tolist()}\n allowed  {allowed.tolist()}"
    )


# --- checks on generated source -----------------------------------------------------------------

# Trivial arithmetic an optimised program should not contain. Numbers are matched whole: a literal
# zero or one is not preceded by a digit, letter or point and not followed by one, so `+ 0.5`, `* 1.5`,
# `* 10`, `w10 + x` and `** 1` (a power, not a product) do not match.
_ZERO = r"0(?:\.0*)?(?![\w.])"
_ONE = r"1(?:\.0*)?(?![\w.])"
TRIVIAL = {
    "adds or subtracts zero": re.compile(rf"[+-] {_ZERO}"),
    "adds to zero": re.compile(rf"(?<![\w.]){_ZERO} \+"),
    "multiplies by one": re.compile(rf"(?<!\*)\* {_ONE}"),
    "multiplies one by": re.compile(rf"(?<![\w.*]){_ONE} \*(?!\*)"),
}
ZERO_INIT = re.compile(r"^\s*(\w+) = 0(?:\.0*)?\s*$", re.M)


def code_lines(source: str) -> str:
    """``source`` without comments (which quote the user's own lines) and docstrings."""
    lines = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith('"""'):
            continue
        lines.append(line.split("#", 1)[0].rstrip())
    return "\n".join(lines) + "\n"


def check_optimised(source: str, what: str) -> None:
    code = code_lines(source)
    for problem, pattern in TRIVIAL.items():
        match = pattern.search(code)
        assert match is None, f"{what} {problem}: {match.group(0)!r} in\n{source}"
    for init in ZERO_INIT.finditer(code):
        later = code[init.end() :]
        assert not re.search(
            rf"^\s*{init.group(1)} \+=", later, re.M
        ), f"{what} initialises {init.group(1)} to zero and then accumulates into it:\n{source}"


def check_formatted(source: str, what: str) -> None:
    compile(source, f"<{what}>", "exec")
    formatted = black.format_str(source, mode=black.Mode())
    diff = difflib.unified_diff(source.splitlines(True), formatted.splitlines(True), what, "black")
    assert formatted == source, f"{what} is not black-stable:\n{''.join(diff)}"


def run_source(source: str, *args):
    """Execute generated source with the math functions and builtins it names; call its function."""
    namespace = {name: getattr(math, name) for name in dir(math) if not name.startswith("_")}
    namespace.update(abs=abs, max=max, min=min)
    exec(compile(source, "<generated>", "exec"), namespace)
    (name,) = re.findall(r"^def (\w+)\(", source, re.M)
    return namespace[name](*args)


# --- the property -------------------------------------------------------------------------------


def unit(k: int, size: int) -> tuple:
    return tuple(1.0 if i == k else 0.0 for i in range(size))


def check_derivatives(f, program: Program, probe: Probe, args: tuple, sources: dict) -> bool:
    """Check every derivative of ``f`` at ``args``; whether finite differences were compared."""
    n, m = program.n, 2 if program.vector else 1
    wrt = tuple(range(n))
    value, magnitude, _ = probe.run(args)
    assert f(*args) == value  # the shadow program computes what the program computes

    # Forward mode, one unit direction at a time; reverse mode, one output at a time.
    columns = []
    for j in range(n):
        y, y_dot = s2sad.jvp(f, args, unit(j, n))
        assert y == value
        columns.append(np.atleast_1d(np.array(y_dot, dtype=float)))
    forward = np.array(columns).T.reshape(m, n)
    y, pullback = s2sad.vjp(f, *args)
    assert y == value
    seeds = [unit(i, m) for i in range(m)] if program.vector else [1.0]
    reverse = np.array([np.array(pullback(seed), dtype=float) for seed in seeds]).reshape(m, n)

    jac_forward = s2sad.jacobian(f, wrt=wrt, mode="forward")(*args)
    jac_reverse = s2sad.jacobian(f, wrt=wrt, mode="reverse")(*args)
    shape = (m, n) if program.vector else (n,)
    assert jac_forward.shape == shape and jac_reverse.shape == shape

    ad_atol = AD_RTOL * max(1.0, magnitude, float(np.max(np.abs(forward))))
    if not program.vector:
        gradient = s2sad.grad(f, wrt=wrt)(*args)
        assert isinstance(gradient, tuple) and len(gradient) == n
        v, gradient2 = s2sad.value_and_grad(f, wrt=wrt)(*args)
        assert v == value
        assert_close(gradient2, gradient, AD_RTOL, ad_atol, "value_and_grad vs grad")
        assert_close(gradient, forward[0], AD_RTOL, ad_atol, "grad vs forward mode")
        assert_close(reverse[0], gradient, AD_RTOL, ad_atol, "vjp vs grad")
    assert_close(reverse, forward, AD_RTOL, ad_atol, "reverse vs forward mode")
    assert_close(jac_forward.reshape(m, n), forward, AD_RTOL, ad_atol, "jacobian(forward) vs jvp")
    assert_close(jac_reverse.reshape(m, n), forward, AD_RTOL, ad_atol, "jacobian(reverse) vs jvp")

    # The teaching forms compute the same numbers as the optimised code.
    for j in range(n):
        y, y_dot = run_source(sources["teaching tangent"], *args, *unit(j, n))
        assert y == value
        column = np.atleast_1d(np.array(y_dot, dtype=float))
        assert_close(column, forward[:, j], AD_RTOL, ad_atol, f"teaching tangent, input {j + 1}")
    for i in range(m):
        row = run_source(
            sources["teaching adjoint"], *args, *(unit(i, m) if program.vector else ())
        )
        row = np.atleast_1d(np.array(row, dtype=float))  # one input: the gradient is a number
        assert_close(row, reverse[i], AD_RTOL, ad_atol, f"teaching adjoint, output {i + 1}")

    if near_kink(probe, args):
        return False
    fd, fd_error = finite_difference_jacobian(f, args, m)
    fd_atol = FD_ATOL * max(1.0, magnitude) + 2 * fd_error
    assert_close(forward, fd, FD_RTOL, fd_atol, "jvp vs finite differences")
    assert_close(reverse, fd, FD_RTOL, fd_atol, "vjp vs finite differences")
    assert_close(jac_forward.reshape(m, n), fd, FD_RTOL, fd_atol, "jacobian(forward) vs f.d.")
    assert_close(jac_reverse.reshape(m, n), fd, FD_RTOL, fd_atol, "jacobian(reverse) vs f.d.")
    if not program.vector:
        assert_close(gradient, fd[0], FD_RTOL, fd_atol, "grad vs finite differences")
    return True


def check_program(workdir, program: Program) -> None:
    """Every check of this file, for one program at its point."""
    note(program.text)
    note(f"args = {program.args!r}")
    f = load(program.text, workdir)
    args = program.args
    probe = Probe(program.text)
    result = probe.run(args)
    assume(result is not None and result[1] <= MAX_MAGNITUDE)
    value = result[0]
    assert f(*args) == value  # the shadow program computes what the program computes

    # The trace runs and returns exactly what f returns, also re-executed from its printed text.
    trace = s2sad.trace(f)
    assert trace(*args) == value
    namespace = trace.namespace
    exec(str(trace), namespace)
    assert namespace[f.__name__](*args) == value

    sources = {
        "teaching tangent": s2sad.tangent_source(f, teaching=True),
        "teaching adjoint": s2sad.adjoint_source(f, teaching=True),
        "optimised tangent": s2sad.tangent_source(f),
        "optimised adjoint": s2sad.adjoint_source(f),
    }

    # Derivatives at the drawn point; if that point is at a kink, once more at a point moved off it.
    if check_derivatives(f, program, probe, args, sources):
        event("finite differences compared at the drawn point")
    else:
        moved = tuple(x + offset for x, offset in zip(args, OFFSETS))
        result = probe.run(moved)
        if result is None or result[1] > MAX_MAGNITUDE:
            event("finite differences not compared: the moved point overflows")
        else:
            note(f"moved point = {moved!r}")
            if check_derivatives(f, program, probe, moved, sources):
                event("finite differences compared at the moved point")
            else:
                event("finite differences not compared: both points are at a kink")

    # Teaching and optimised sources: valid, black-stable, no trivial arithmetic when optimised.
    for what, source in sources.items():
        check_formatted(source, what)
        if what.startswith("optimised"):
            check_optimised(source, what)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(program=programs())
def test_random_program(workdir, program):
    check_program(workdir, program)


# Programs the generator has produced, checked on every run whatever the random ones are.
# TANH_AFTER_ABS needs the adjoint line `w = (a if c else -a if c2 else 0.0) + b / cosh(w) ** 2`, too
# long to fit, which black splits at the bracket of `cosh(`: generated code must be laid out the same.
TANH_AFTER_ABS = Program(
    text=(
        "import math\n\n\ndef f(x1):\n"
        "    x1, a1 = (x1 ** 3) / (1 + x1 * x1), max(x1, math.sqrt(1 + x1 * x1))\n"
        "    a2 = math.sqrt(1 + a1 * a1)\n"
        "    x1 *= math.tanh(a2) - x1\n"
        "    a2, a1 = abs(a2), math.log(1 + a2 * a2)\n"
        "    return x1, a2\n"
    ),
    n=1,
    vector=True,
    args=(0.7,),
)


@settings(deadline=None, database=None)
@given(program=st.just(TANH_AFTER_ABS))
def test_pinned_program(workdir, program):
    check_program(workdir, program)
