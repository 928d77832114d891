"""Random programs over the language s2sad differentiates, each written to a real file and imported.

``generate(seed, families)`` draws, from ``random.Random(seed)`` alone, one module: a few inactive
array constants, helper functions, and ``f``, the function under test, with a point to evaluate
it at. The same seed and families give the same program on every machine, so a failure is pinned
by its seed (or by the source the report prints). Each program uses a random subset of the
feature families in ``FAMILIES``; a family left out of ``families`` is never drawn.

Programs are defined and of moderate size at their point by construction: divisors are
``1 + v * v``, square roots and logarithms take ``1 + v * v``, exponentials take ``sin(v)``, and a
value carried around a loop is updated only by contracting or squashed maps. A program whose value
at the drawn point is not finite, is larger than ``MAX_VALUE`` or raises a floating-point error is
discarded and another drawn from the same random stream.
"""

from __future__ import annotations

import importlib.util
import itertools
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Feature families: each is a construct of the language the generator can produce. Checks run on
# every program; the families decide what the programs contain.
FAMILIES = {
    "for": "for loops over range, carrying numbers and arrays, the index in the arithmetic",
    "while": "while loops on a carried value, bounded by a counter in the test",
    "break": "break out of a for loop on a data-dependent test",
    "branches": "if/else on data-dependent tests (inside loops too), conditional expressions, "
    "an early return",
    "kinks": "abs, max, min, np.abs, np.maximum",
    "arrays": "array parameters, elementwise NumPy, number * array broadcasting, @",
    "broadcast": "(3, 1) + (1, 4) broadcasting, keepdims",
    "indexing": "integer and slice indexing of arrays",
    "fancy_repeat": "integer-array indexing with repeated indices, x[[0, 0, 1]]",
    "reductions": "np.sum, np.mean, np.prod, np.max, methods .sum() .max(), without an axis",
    "axis_reductions": "reductions along one axis",
    "axis_tuple": "reductions over a tuple of axes",
    "lists_to_numpy": "lists and tuples of active values given to NumPy",
    "array_functions": "np.cumsum, np.cumprod, np.flip, np.sort, np.diag, np.hstack, np.vstack, np.einsum, "
    "np.trace, np.var, np.std, np.average, np.linalg.det, slogdet, inv, solve, cholesky",
    "tuples": "tuple packing and unpacking, small lists indexed by constants, sum() of a list",
    "setitem": "writing into an array the function made (zeros, or computed by arithmetic)",
    "defaults": "a parameter with a default value, passed or not",
    "helpers": "module-level helper functions with defaults, called with keywords",
    "structured": "a dict of numbers and arrays as a parameter",
    "naming": "parameters and locals named like s2sad's own names (w3, x_bar, x_dot, _tape1)",
    "self_param": "a first parameter named self in a plain function",
    "astype": "astype(int) and astype(float) of active arrays: piecewise constant",
    "int_param": "an int parameter bounding a loop",
    "numpy_scalars": "np.sin, np.exp, ... on numbers (programs without math are analytic)",
    "list_params": "a list of numbers of known length as a parameter: sum(q[1:]), "
    "zip(q[:-1], q[1:]), enumerate(q), q[i + 1] indexed by a loop variable, a list grown by "
    "append and extend in a loop over it",
    "input_checks": "assert and raise checks of the inputs, run in the primal",
    "keyword_only": "a keyword-only parameter with a default (def f(x, *, k=2.0))",
    "tuple_output": "two numbers returned",
    "array_output": "an array returned",
}

# Families that only show in programs with array parameters.
NEEDS_ARRAYS = {"broadcast", "indexing", "fancy_repeat", "reductions", "axis_reductions",
                "axis_tuple", "astype", "array_output", "array_functions"}  # fmt: skip
MAX_VALUE = 1e3  # programs whose outputs exceed this at the point are discarded
ATTEMPTS = 100  # programs drawn per seed before giving up (none has needed more than a few)

SHAPES = ((3,), (4,), (3, 4), (2, 2))
CONSTANT_ARRAYS = {
    (3,): ("C3", [0.5, -1.0, 1.5]),
    (4,): ("C4", [0.25, 1.0, -0.5, 2.0]),
    (3, 4): ("C34", [[0.5, -0.3, 0.2, 0.1], [0.1, 0.4, -0.6, 0.3], [-0.2, 0.3, 0.1, 0.5]]),
    (2, 2): ("C22", [[0.5, -0.25], [1.0, 0.75]]),
}
CONSTANTS = ("0.5", "2.0", "1.5", "-0.75", "3", "0.25")

# Names a user may well write that s2sad also generates: SSA names, tangents, adjoints, partial
# sums, tapes, and the runtime helpers and math functions generated code calls by bare name.
NAME_POOL = (
    "w1", "w2", "w3", "w5", "x_dot", "x_bar", "x_bar_sum1", "x_bar_1", "w1_bar", "w3_dot",
    "_tape1", "y_bar", "y1_bar", "dw4_dw2", "cos", "sin", "tanh", "exp", "conform", "unbroadcast",
    "scalar_seed", "w2_bar_part1",
)  # fmt: skip
PARAM_POOL = ("x_bar", "x_dot", "w1_bar", "w3", "x_bar_sum1", "_tape1", "cos", "conform", "w1")

# Unary maps on numbers: (template, analytic). {a} is the operand, {p} the operand parenthesised
# unless atomic; {m} the module (math or np).
SCALAR_UNARY = (
    ("-{p}", True),
    ("{p} ** 2", True),
    ("{p} ** 3", True),
    ("0.5 * {p}", True),
    ("{m}.sin({a})", True),
    ("{m}.cos({a})", True),
    ("{m}.tanh({a})", True),
    ("{m}.exp({m}.sin({a}))", True),
    ("{m}.sqrt(1.0 + {p} * {p})", True),
    ("{m}.log(1.0 + {p} * {p})", True),
    ("{atan}({a})", True),
    ("abs({a})", False),
)
SCALAR_BINARY = (
    ("{p} + {q}", True),
    ("{p} - {q}", True),
    ("{p} * {q}", True),
    ("{p} / (1.0 + {q} * {q})", True),
    ("max({a}, {b})", False),
    ("min({a}, {b})", False),
)
ARRAY_UNARY = (
    ("-{p}", True),
    ("0.5 * {p}", True),
    ("{p} ** 2", True),
    ("np.sin({a})", True),
    ("np.cos({a})", True),
    ("np.tanh({a})", True),
    ("np.exp(np.sin({a}))", True),
    ("np.sqrt(1.0 + {p} * {p})", True),
    ("np.log(1.0 + {p} * {p})", True),
    ("np.abs({a})", False),
)
ARRAY_BINARY = (
    ("{p} + {q}", True),
    ("{p} - {q}", True),
    ("{p} * {q}", True),
    ("{p} / (1.0 + {q} * {q})", True),
    ("np.maximum({a}, {b})", False),
)
SQUASH = ("tanh", "sin", "cos")
KINKS = {"abs({a})", "max({a}, {b})", "min({a}, {b})", "np.abs({a})", "np.maximum({a}, {b})"}


@dataclass
class Program:
    """One generated module and the call of ``f`` to check."""

    seed: int
    source: str  # the module's text
    args: tuple  # the arguments of the call f(*args)
    params: tuple  # f's parameter names, in order
    wrt: tuple  # positions (in args) of the arguments differentiated: every one but int bounds
    features: frozenset  # the families the program uses
    analytic: bool  # only analytic operations: the complex step applies
    output: str  # "scalar", "tuple" or "array"
    helpers: tuple = ()  # names of helper functions NAME that have a NAME_alt to rebind to
    sources_take_args: bool = False  # whether source checks pass example arguments (args=...)

    def describe(self) -> str:
        """Everything needed to reproduce the program: its seed, features, source and call."""
        return (
            f"seed {self.seed}; features: {', '.join(sorted(self.features))}\n"
            f"--- program ---\n{self.source}--- call ---\nf(*{_show(self.args)})\n"
            f"wrt = {self.wrt}"
        )


def _show(args) -> str:
    with np.printoptions(precision=17, floatmode="unique"):
        return repr(args).replace("array(", "np.array(")


@dataclass(frozen=True)
class Expr:
    text: str
    atom: bool = False  # a name, a call or a subscript: needs no parentheses as an operand

    def operand(self) -> str:
        return self.text if self.atom else f"({self.text})"


@dataclass
class Value:
    name: str  # how it is read: a name, or p["a"] for a structure's leaf
    shape: tuple
    writable: bool = True  # a local or parameter that may be rebound (not a structure's leaf)


class Writer:
    """Draws the statements of one function and writes them line by line."""

    def __init__(self, rng: random.Random, families: set, module: "ModuleWriter"):
        self.rng = rng
        self.families = families
        self.module = module
        self.lines = []
        self.values = []  # visible values, most recent last
        self.ints = []  # visible int names: loop indices and counters
        self.carried = None  # names carried by the innermost loop, when generating its body
        self.depth = 0  # nesting of blocks
        self.loops = 0
        self.returned_early = False

    # --- bookkeeping -------------------------------------------------------------------------

    def use(self, family: str) -> bool:
        return family in self.families

    def mark(self, family: str, analytic: bool = True) -> None:
        self.module.used.add(family)
        if not analytic:
            self.module.analytic = False

    def emit(self, line: str) -> None:
        self.lines.append("    " * (self.depth + 1) + line)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, options):
        return self.rng.choice(list(options))

    def new_name(self) -> str:
        visible = {v.name for v in self.values} | set(self.ints) | self.module.reserved
        if self.use("naming") and self.chance(0.35):
            free = [n for n in NAME_POOL if n not in visible]
            if free:
                self.mark("naming")
                return self.pick(free)
        return f"a{next(self.module.fresh)}"

    def bind(self, name: str, shape: tuple) -> None:
        self.values = [v for v in self.values if v.name != name]
        self.values.append(Value(name, shape))

    def of_shape(self, shape, writable=False) -> list:
        return [v for v in self.values if v.shape == shape and (v.writable or not writable)]

    def save(self):
        return list(self.values), list(self.ints)

    def restore(self, saved) -> None:
        self.values, self.ints = list(saved[0]), list(saved[1])

    # --- expressions on numbers --------------------------------------------------------------

    def lib(self) -> str:
        if self.use("numpy_scalars") and self.module.numpy_style:
            self.mark("numpy_scalars")
            return "np"
        self.module.analytic = False  # math functions do not take complex numbers
        return "math"

    def scalar_atom(self) -> Expr:
        names = self.of_shape(())
        if names and not self.chance(0.12):
            return Expr(self.pick(names[-4:] + names).name, True)
        constant = self.pick(CONSTANTS)
        return Expr(constant, not constant.startswith("-"))

    def scalar(self, depth: int = 0) -> Expr:
        """An expression of one number."""
        if depth >= 2:
            return self.scalar_atom()
        kinds = ["atom", "unary", "unary", "binary", "binary"]
        if self.arrays_visible() and (self.use("reductions") or self.use("axis_tuple")):
            kinds += ["reduce"]
        if self.arrays_visible() and self.use("indexing"):
            kinds += ["element"]
        if self.arrays_visible() and self.use("arrays"):
            kinds += ["dot"]
        if self.arrays_visible() and self.use("astype"):
            kinds += ["astype"]
        if self.use("lists_to_numpy"):
            kinds += ["list"]
        if self.module.scalar_helpers and self.use("helpers"):
            kinds += ["helper"]
        if self.use("branches") and depth == 0:
            kinds += ["ifexp"]
        kind = self.pick(kinds)
        if kind == "atom":
            return self.scalar_atom()
        if kind == "unary":
            template, analytic = self.pick(self.scalar_unary())
            return self.fill(template, analytic, self.scalar(depth + 1))
        if kind == "binary":
            template, analytic = self.pick(self.scalar_binary())
            return self.fill(template, analytic, self.scalar(depth + 1), self.scalar(depth + 1))
        if kind == "reduce":
            return self.reduction(depth)
        if kind == "element":
            return self.element()
        if kind == "dot":
            shape = self.pick([(3,), (4,)])
            self.mark("arrays")
            a, b = self.array(shape, depth + 1), self.array(shape, depth + 1)
            if self.chance(0.5):
                return Expr(f"{a.operand()} @ {b.operand()}")
            return Expr(f"np.dot({a.text}, {b.text})", True)
        if kind == "astype":
            return self.astype()
        if kind == "list":
            return self.list_reduction(depth)
        if kind == "helper":
            return self.helper_call(depth)
        return self.conditional(depth)

    def scalar_unary(self):
        options = [t for t in SCALAR_UNARY if t[1] or self.use("kinks")]
        return options

    def scalar_binary(self):
        return [t for t in SCALAR_BINARY if t[1] or self.use("kinks")]

    def fill(self, template: str, analytic: bool, a: Expr, b: Expr = None) -> Expr:
        if template in KINKS:
            self.mark("kinks", analytic=False)
        m = self.lib() if "{m}" in template or "{atan}" in template else "np"
        atan = "math.atan" if m == "math" else "np.arctan"
        fields = {"a": a.text, "p": a.operand(), "m": m, "atan": atan}
        if b is not None:
            fields.update(b=b.text, q=b.operand())
        text = template.format(**fields)
        if not analytic:
            self.module.analytic = False
        atom = template.startswith(("{m}.", "{atan}", "abs(", "max(", "min(", "np."))
        return Expr(text, atom)

    def conditional(self, depth: int) -> Expr:
        self.mark("branches", analytic=False)
        cond = self.condition()
        a, b = self.scalar(depth + 1), self.scalar(depth + 1)
        return Expr(f"{a.operand()} if {cond} else {b.operand()}")

    def condition(self) -> str:
        """A data-dependent test (comparisons are not analytic)."""
        self.module.analytic = False
        left = self.scalar(1)
        right = (
            self.pick(["0.0", "0.5", "-0.5", "1.0"]) if self.chance(0.6) else self.scalar(2).text
        )
        text = f"{left.operand()} {self.pick(['<', '<=', '>', '>='])} {_wrap(right)}"
        if self.chance(0.25):
            other = self.scalar(2)
            text = f"{text} {self.pick(['and', 'or'])} {other.operand()} > {self.pick(['0.0', '-0.5'])}"
        elif self.chance(0.1):
            text = f"not {text}"
        return text

    def element(self) -> Expr:
        """A number read out of an array by integer indices."""
        self.mark("indexing")
        shape = self.pick(self.array_shapes())
        a = self.array(shape, 2, prefer_name=True)
        index = {
            (3,): ["0", "1", "-1", "2"],
            (4,): ["0", "3", "-2"],
            (3, 4): ["1, 2", "0, -1", "-1, 0"],
            (2, 2): ["0, 1", "1, 0", "1, 1"],
        }[shape]
        return Expr(f"{a.operand()}[{self.pick(index)}]", True)

    def array_function(self, shape: tuple, depth: int) -> Expr:
        """An array of ``shape`` from one of the NumPy functions that join, flip, run along an
        axis or read a diagonal."""
        self.mark("array_functions")
        a, b = self.array(shape, depth + 1, prefer_name=True), self.array(shape, depth + 1)
        letters = "ij"[: len(shape)]
        options = [
            f"np.cumsum({a.text}, axis=-1)",
            f"np.flip({a.text}, axis=0)",
            f"np.sort({a.text}, axis=-1)",
            f"np.cumprod(np.tanh({a.text}) + 0.5, axis=0)",
            f"np.einsum('{letters},{letters}->{letters}', {a.text}, {b.text})",
        ]
        if len(shape) == 1:  # a vector on a diagonal and back; its elements rotated
            options += [
                f"np.diag(np.diag({a.text}) * 2.0)",
                f"np.hstack([{a.operand()}[1:], {a.operand()}[0]])",
                f"np.atleast_2d({a.text})[0]",
            ]
        else:  # its rows rotated; its columns taken apart and joined again
            options += [
                f"np.vstack([{a.operand()}[1:], {a.operand()}[:1]])",
                f"np.column_stack([{a.operand()}[:, :1], {a.operand()}[:, 1:]])",
            ]
        if shape == (3,):  # the diagonal of a 3 × 4 matrix
            m = self.array((3, 4), depth + 1)
            options.append(f"np.diagonal({m.text}) + np.diagonal({m.text}, offset=1)")
        if shape == (2, 2):
            options.append(f"np.diag(np.diag({a.text})) + {b.operand()}")
        return Expr(self.pick(options), True)

    def statistic(self, shape: tuple, a: Expr, depth: int) -> Expr:
        """A number from an array by np.var, np.std, np.average, np.trace or np.einsum."""
        self.mark("array_functions", analytic=False)  # var and std are not holomorphic
        b = self.array(shape, depth + 1)
        letters = "ij"[: len(shape)]
        options = [
            f"np.var({a.text})",
            f"np.std({a.text}, ddof=1)",
            f"np.average({a.text}, weights=np.exp({b.text}))",
            f"np.einsum('{letters},{letters}', {a.text}, {b.text})",
        ]
        if shape == (2, 2):
            options.append(f"np.trace({a.text})")
        if shape == (3, 4):
            options.append(f"np.trace({a.text}, offset=1)")
        if shape in ((3,), (3, 4)):
            options += self.matrix_numbers(a, shape)
        return Expr(self.pick(options), True)

    def matrix_numbers(self, a: Expr, shape: tuple) -> list:
        """Numbers from np.linalg of 3 × 3 matrices made of ``a``, well conditioned whatever the
        program computed: ``t tᵀ + I`` (``t = tanh(a)``, or its first three columns) has its
        eigenvalues at least 1, and ``t + 5 I`` (``t`` the outer product of a vector with itself,
        or the first three columns) within 3 of 5 (Gershgorin)."""
        t = f"np.tanh({a.text})" if shape == (3,) else f"np.tanh({a.operand()}[:, :3])"
        gram = f"np.outer({t}, {t})" if shape == (3,) else f"{t} @ {t}.T"
        square = f"{gram if shape == (3,) else t} + 5.0 * np.eye(3)"
        rhs = self.array((3,), 2).text
        return [
            f"np.linalg.det({square})",
            f"np.linalg.slogdet({square})[1]",
            f"np.sum(np.linalg.inv({square}))",
            f"np.sum(np.linalg.solve({square}, {rhs}))",
            f"np.sum(np.linalg.cholesky({gram} + np.eye(3)))",
        ]

    def reduction(self, depth: int) -> Expr:
        shape = self.pick(self.array_shapes())
        a = self.array(shape, depth + 1)
        if self.use("array_functions") and self.chance(0.3):
            return self.statistic(shape, a, depth)
        if len(shape) == 2 and self.use("axis_tuple") and self.chance(0.4):
            self.mark("axis_tuple")
            fn = self.pick(["np.sum", "np.mean"] + (["np.max"] if self.use("kinks") else []))
            if fn == "np.max":
                self.mark("kinks", analytic=False)
            axes = self.pick(["(0, 1)", "(1, 0)", "(-1, 0)"])
            return Expr(f"{fn}({a.text}, axis={axes})", True)
        if not self.use("reductions"):
            return Expr(f"np.sum({a.text})", True)
        self.mark("reductions")
        kinds = ["np.sum", "np.mean", "sum_method", "mean_method", "prod"]
        if self.use("kinks"):
            kinds += ["np.max", "max_method", "np.min"]
        kind = self.pick(kinds)
        if kind in ("np.max", "max_method", "np.min"):
            self.mark("kinks", analytic=False)
        if kind == "sum_method":
            return Expr(f"{a.operand()}.sum()", True)
        if kind == "mean_method":
            return Expr(f"{a.operand()}.mean()", True)
        if kind == "max_method":
            return Expr(f"{a.operand()}.max()", True)
        if kind == "prod":  # bounded factors: a product of up to 12 numbers of size below 1.5
            return Expr(f"np.prod(np.tanh({a.text}) + 0.5)", True)
        return Expr(f"{kind}({a.text})", True)

    def list_reduction(self, depth: int) -> Expr:
        """np.sum([a, b * b, 2.0]) and friends: a list or tuple of active numbers given to NumPy."""
        self.mark("lists_to_numpy")
        items = [self.scalar(depth + 1).text for _ in range(self.rng.randint(2, 3))]
        if self.chance(0.3):
            items.append(self.pick(["2.0", "0.5"]))
        opening, closing = ("[", "]") if self.chance(0.7) else ("(", ")")
        seq = f"{opening}{', '.join(items)}{',' if len(items) == 1 and opening == '(' else ''}{closing}"
        fns = ["np.sum", "np.mean", "np.prod"]
        if self.use("kinks"):
            fns.append("np.max")
        fn = self.pick(fns)
        if fn == "np.max":
            self.mark("kinks", analytic=False)
        if fn == "np.prod":
            seq = f"np.tanh({seq})"
        return Expr(f"{fn}({seq})", True)

    def astype(self) -> Expr:
        """A piecewise-constant array from an active one: its derivative is zero."""
        self.mark("astype", analytic=False)
        shape = self.pick(self.array_shapes())
        a = self.array(shape, 2, prefer_name=True)
        b = self.array(shape, 2, prefer_name=True)
        if self.chance(0.5):
            return Expr(f"np.sum(({a.operand()} * 3.0).astype(int) * {b.operand()})", True)
        return Expr(f"np.sum(({a.operand()} > 0.0).astype(float) * {b.operand()})", True)

    def helper_call(self, depth: int) -> Expr:
        self.mark("helpers")
        name = self.pick(self.module.scalar_helpers)
        a = self.scalar(depth + 1)
        form = self.rng.randint(0, 3)
        if form == 0:
            return Expr(f"{name}({a.text})", True)
        b = self.scalar(depth + 1)
        if form == 1:
            return Expr(f"{name}({a.text}, {b.text})", True)
        if form == 2:
            return Expr(f"{name}({a.text}, b={b.text})", True)
        return Expr(f"{name}(b={b.text}, a={a.text})", True)

    # --- expressions on arrays ---------------------------------------------------------------

    def arrays_visible(self) -> bool:
        return any(v.shape != () for v in self.values)

    def array_shapes(self) -> list:
        shapes = sorted({v.shape for v in self.values if v.shape != ()})
        return shapes or [(3,)]

    def array(self, shape: tuple, depth: int = 0, prefer_name: bool = False) -> Expr:
        """An expression of an array of ``shape``."""
        names = self.of_shape(shape)
        if names and (prefer_name or depth >= 2 or self.chance(0.3)):
            return Expr(self.pick(names).name, True)
        if depth >= 2:
            return self.array_fallback(shape)
        kinds = ["unary", "unary", "binary", "scale"]
        if shape == (3, 4) and self.use("broadcast"):
            kinds += ["outer", "outer", "keepdims"]
        if self.use("indexing"):
            kinds += ["slice"]
        if self.use("fancy_repeat") and shape in ((3,), (4,), (3, 4)):
            kinds += ["fancy"]
        if shape in ((3,), (4,)) and self.use("axis_reductions"):
            kinds += ["axis"]
        if shape in ((3,), (4,), (2, 2)) and self.use("arrays"):
            kinds += ["matmul"]
        if shape in ((3,), (4,), (2, 2)) and self.use("lists_to_numpy"):
            kinds += ["build"]
        if self.module.array_helpers.get(shape) and self.use("helpers"):
            kinds += ["helper"]
        if self.use("array_functions"):
            kinds += ["function"]
        kind = self.pick(kinds)
        if kind == "function":
            return self.array_function(shape, depth)
        if kind == "unary":
            template, analytic = self.pick([t for t in ARRAY_UNARY if t[1] or self.use("kinks")])
            return self.fill(template, analytic, self.array(shape, depth + 1))
        if kind == "binary":
            template, analytic = self.pick([t for t in ARRAY_BINARY if t[1] or self.use("kinks")])
            return self.fill(
                template, analytic, self.array(shape, depth + 1), self.array(shape, depth + 1)
            )
        if kind == "scale":  # a number times an array, or plus one: broadcasting a number
            s, a = self.scalar(depth + 1), self.array(shape, depth + 1)
            if self.chance(0.5):
                return Expr(f"{s.operand()} * {a.operand()}")
            return Expr(f"{a.operand()} + {s.operand()}")
        if kind == "outer":
            self.mark("broadcast")
            a, b = self.array((3,), depth + 1), self.array((4,), depth + 1)
            column = self.pick([f"np.reshape({a.text}, (3, 1))", f"{a.operand()}.reshape(3, 1)",
                                f"{a.operand()}[:, None]"])  # fmt: skip
            row = self.pick(
                [f"np.reshape({b.text}, (1, 4))", f"{b.operand()}.reshape(1, 4)", b.operand()]
            )
            return Expr(f"{column} {self.pick(['+', '*', '-'])} {row}")
        if kind == "keepdims":
            self.mark("broadcast")
            self.mark("axis_reductions")
            m = self.array((3, 4), depth + 1)
            fn = self.pick(["np.sum", "np.mean"])
            return Expr(
                f"{fn}({m.text}, axis=1, keepdims=True) * {self.array((3, 4), depth + 1).operand()}"
            )
        if kind == "slice":
            return self.array_slice(shape, depth)
        if kind == "fancy":
            self.mark("fancy_repeat")
            if shape == (3,):
                source, index = (3,), self.pick(["[0, 0, 1]", "[2, 2, 2]", "[1, 0, 1]"])
                if self.chance(0.4):
                    source, index = (4,), self.pick(["[3, 0, 0]", "[1, 1, 2]"])
            elif shape == (4,):
                source, index = (3,), self.pick(["[2, 2, 1, 0]", "[0, 1, 1, 0]"])
            else:
                source, index = (3, 4), self.pick(["[0, 0, 2]", "[1, 1, 1]"])
            return Expr(f"{self.array(source, depth + 1).operand()}[{index}]", True)
        if kind == "axis":
            self.mark("axis_reductions")
            m = self.array((3, 4), depth + 1)
            axis = {(3,): self.pick(["1", "-1"]), (4,): "0"}[shape]
            fns = ["np.sum", "np.mean", "prod"] + (["np.max"] if self.use("kinks") else [])
            fn = self.pick(fns)
            if fn == "np.max":
                self.mark("kinks", analytic=False)
            if fn == "prod":
                return Expr(f"np.prod(np.tanh({m.text}) + 0.5, axis={axis})", True)
            return Expr(f"{fn}({m.text}, axis={axis})", True)
        if kind == "matmul":
            self.mark("arrays")
            if shape == (3,):
                return Expr(
                    f"{self.array((3, 4), depth + 1).operand()} @ {self.array((4,), depth + 1).operand()}"
                )
            if shape == (4,):
                if self.chance(0.5):
                    return Expr(
                        f"{self.array((3,), depth + 1).operand()} @ {self.array((3, 4), depth + 1).operand()}"
                    )
                return Expr(
                    f"{self.array((3, 4), depth + 1).operand()}.T @ {self.array((3,), depth + 1).operand()}"
                )
            return Expr(
                f"{self.array((2, 2), depth + 1).operand()} @ {self.array((2, 2), depth + 1).operand()}"
            )
        if kind == "build":
            self.mark("lists_to_numpy")
            if shape == (2, 2):
                a, b = self.scalar(depth + 1).text, self.scalar(depth + 1).text
                return Expr(f"np.array([[{a}, {b}], [{b}, {a}]])", True)
            items = [self.scalar(depth + 1).text for _ in range(shape[0])]
            return Expr(f"np.array([{', '.join(items)}])", True)
        self.mark("helpers")
        name = self.pick(self.module.array_helpers[shape])
        a = self.array(shape, depth + 1)
        if self.chance(0.5):
            return Expr(f"{name}({a.text})", True)
        return Expr(f"{name}({a.text}, s={self.scalar(depth + 1).text})", True)

    def array_slice(self, shape: tuple, depth: int) -> Expr:
        self.mark("indexing")
        options = {
            (3,): [((4,), "[1:]"), ((4,), "[:3]"), ((4,), "[:-1]"), ((3,), "[::-1]"), ((3, 4), "[:, 2]"),
                   ((3, 4), "[:, -1]")],
            (4,): [((3, 4), "[1]"), ((3, 4), "[-1, :]"), ((4,), "[::-1]")],
            (3, 4): [((3, 4), "[::-1]"), ((3, 4), "[:, ::-1]")],
            (2, 2): [((3, 4), "[:2, :2]"), ((3, 4), "[1:, 2:]"), ((2, 2), "[::-1, :]")],
        }[shape]  # fmt: skip
        source, index = self.pick(options)
        return Expr(f"{self.array(source, depth + 1).operand()}{index}", True)

    def array_fallback(self, shape: tuple) -> Expr:
        """An array of ``shape`` from the module's constants and a number."""
        constant = CONSTANT_ARRAYS[shape][0]
        s = self.scalar_atom()
        if self.chance(0.5):
            return Expr(f"{s.operand()} * {constant}")
        return Expr(f"np.sin({s.operand()} + {constant})", True)

    # --- statements --------------------------------------------------------------------------

    def statement(self) -> None:
        kinds = ["assign", "assign", "assign", "rebind"]
        if self.use("tuples"):
            kinds += ["tuple"]
        if self.use("setitem"):
            kinds += ["setitem"]
        if self.depth < 2:
            for family in ("for", "while", "branches"):
                if self.use(family):
                    kinds.append(family)
        kind = self.pick(kinds)
        if kind == "assign":
            self.assign()
        elif kind == "rebind":
            self.rebind()
        elif kind == "tuple":
            self.tuples()
        elif kind == "setitem":
            self.setitem()
        elif kind == "for":
            self.for_loop()
        elif kind == "while":
            self.while_loop()
        else:
            self.branch()

    def fresh_shape(self) -> tuple:
        if (self.use("arrays") or self.arrays_visible()) and self.chance(0.45):
            return self.pick(self.array_shapes() + ([(3, 4)] if self.use("broadcast") else []))
        return ()

    def expression(self, shape: tuple) -> Expr:
        return self.scalar() if shape == () else self.array(shape)

    def assign(self) -> None:
        shape = self.fresh_shape()
        value = self.expression(shape)
        name = self.new_name()
        self.emit(f"{name} = {value.text}")
        self.bind(name, shape)

    def rebind(self) -> None:
        """Reassign or augment a name already bound: x = ..., x += ... (numbers only)."""
        targets = [v for v in self.values if v.writable]
        if not targets:
            return self.assign()
        target = self.pick(targets[-4:])
        if self.carried is not None and target.name in self.carried:
            return self.update(target)
        if target.shape == () and self.chance(0.4):
            self.emit(f"{target.name} {self.pick(['+', '-', '*'])}= {self.scalar().text}")
        else:
            value = self.expression(target.shape)
            if value.text == target.name:  # not `x = x`
                value = self.fill("0.5 * {p}", True, value)
            self.emit(f"{target.name} = {value.text}")
        self.bind(target.name, target.shape)

    def update(self, target: Value) -> None:
        """A contracting or squashed update of a value carried around a loop."""
        name, shape = target.name, target.shape
        if shape == ():
            m = self.lib()
            squash = f"{m}.{self.pick(SQUASH)}({self.scalar().text})"
            forms = [
                f"{name} = 0.5 * {name} + {squash}",
                f"{name} = {squash}",
                f"{name} = {name} / (1.0 + {self.scalar().operand()} ** 2)",
                f"{name} += {squash}",
                f"{name} *= {m}.{self.pick(['cos', 'tanh'])}({self.scalar().text})",
            ]
            if self.ints:
                forms.append(f"{name} = {name} * 0.9 + {self.pick(self.ints)} * {squash}")
        else:
            squash = f"np.{self.pick(SQUASH)}({self.array(shape).text})"
            forms = [
                f"{name} = 0.5 * {name} + {squash}",
                f"{name} = {squash}",
                f"{name} = {name} * np.cos({self.array(shape).text})",
            ]
        self.emit(self.pick(forms))
        self.bind(name, shape)

    def tuples(self) -> None:
        """Tuples and small lists of active numbers: packing, unpacking, constant indices."""
        self.mark("tuples")
        numbers = [v for v in self.values if v.shape == () and v.writable]
        form = self.rng.randint(0, 2)
        if form == 0 and len(numbers) >= 2:  # a swap or a parallel assignment
            a, b = self.rng.sample(numbers[-4:] if len(numbers) >= 4 else numbers, 2)
            if self.carried is not None and (a.name in self.carried or b.name in self.carried):
                return self.update(a if a.name in self.carried else b)
            self.emit(f"{a.name}, {b.name} = {b.name}, {self.scalar().text}")
            self.bind(a.name, ())
            self.bind(b.name, ())
            return
        items = [self.scalar().text for _ in range(self.rng.randint(2, 3))]
        container = self.new_name()
        if form == 1:
            self.emit(f"{container} = ({', '.join(items)})")
        else:
            self.emit(f"{container} = [{', '.join(items)}]")
        reader = self.new_name()
        k = self.rng.randint(0, len(items) - 1)
        options = [
            f"{container}[{k}] * {container}[-1]",
            f"sum({container})",
            f"{container}[{k}] + 1.0",
        ]
        self.emit(f"{reader} = {self.pick(options)}")
        self.bind(reader, ())
        if len(items) == 2 and self.chance(0.5):
            first, second = self.new_name(), self.new_name()
            self.emit(f"{first}, {second} = {container}")
            self.bind(first, ())
            self.bind(second, ())

    def setitem(self) -> None:
        """An array the function makes (zeros, or computed), written element by element (in a loop,
        sometimes). Not
        analytic: a complex number written into a float array loses its imaginary part."""
        self.mark("setitem", analytic=False)
        name = self.new_name()
        size = self.pick([3, 4])
        if self.chance(0.5):
            self.emit(f"{name} = np.zeros({size})")
        else:  # an array computed by arithmetic: a new one, the function's own
            self.emit(f"{name} = np.tanh({self.array((size,), 2).text}) * 0.5")
        if self.use("for") and self.chance(0.5) and self.carried is None:
            self.mark("for")
            index = f"i{next(self.module.fresh)}"
            self.emit(f"for {index} in range({size}):")
            self.depth += 1
            saved = self.save()
            self.ints.append(index)
            self.emit(f"{name}[{index}] = {self.scalar().text} * {index}")
            self.restore(saved)
            self.depth -= 1
        else:
            for k in sorted(self.rng.sample(range(size), 2)):
                self.emit(f"{name}[{k}] = {self.scalar().text}")
        self.bind(name, (size,))

    def loop_targets(self) -> list:
        """One or two values to carry around a loop: numbers or arrays bound before it."""
        targets = [v for v in self.values if v.writable]
        self.rng.shuffle(targets)
        return targets[: self.rng.randint(1, 2)]

    def range_arguments(self) -> str:
        forms = ["0", "1", "2", "3", "5", "1, 4", "4, 0, -1", "0, 5, 2"]
        forms += list(self.module.int_params) * 3
        return self.pick(forms)

    def for_loop(self) -> None:
        self.mark("for")
        targets = self.loop_targets()
        if not targets:
            return self.assign()
        index = f"i{next(self.module.fresh)}"
        arguments = self.range_arguments()
        if arguments in self.module.int_params:
            self.mark("int_param")
        self.emit(f"for {index} in range({arguments}):")
        self.body(targets, extra_ints=[index], stop=self.use("break"))

    def while_loop(self) -> None:
        self.mark("while", analytic=False)
        numbers = [v for v in self.values if v.shape == () and v.writable]
        if not numbers:
            return self.assign()
        carried = self.pick(numbers)
        counter = f"k{next(self.module.fresh)}"
        threshold = self.pick(["1.0", "2.5", "3.0"])
        bound = self.pick(["4", "8"] if self.loops else ["4", "8", "20"])
        test = f"{carried.name} < {threshold}"
        if self.chance(0.5):
            test = f"{test} and {counter} < {bound}"
        else:
            test = f"{counter} < {bound} and {test}"
        self.emit(f"{counter} = 0")
        self.emit(f"while {test}:")
        saved = self.save()
        outer = self.carried
        self.depth += 1
        self.loops += 1
        self.carried = {carried.name}
        self.ints.append(counter)
        for _ in range(self.rng.randint(0, 1)):
            self.statement()
        m = self.lib()
        self.emit(
            f"{carried.name} = {carried.name} + 0.5 + {m}.{self.pick(SQUASH)}({self.scalar().text}) ** 2"
        )
        self.emit(f"{counter} += 1")
        self.depth -= 1
        self.loops -= 1
        self.carried = outer
        self.restore(saved)
        self.ints.append(counter)

    def body(self, targets: list, extra_ints: list, stop: bool) -> None:
        saved = self.save()
        outer = self.carried
        self.depth += 1
        self.loops += 1
        self.carried = {t.name for t in targets} | (outer or set())
        self.ints.extend(extra_ints)
        for _ in range(self.rng.randint(0, 1)):
            self.statement()
        for target in targets:
            self.update(target)
        if stop and self.chance(0.6):
            self.mark("break", analytic=False)
            self.emit(f"if {self.condition()}:")
            self.depth += 1
            self.emit("break")
            self.depth -= 1
        self.depth -= 1
        self.loops -= 1
        self.carried = outer
        self.restore(saved)

    def branch(self) -> None:
        """if/else: a new name bound in both branches, and carried values updated in one."""
        self.mark("branches", analytic=False)
        shape = self.fresh_shape()
        joint = self.new_name()
        early = (
            self.loops == 0
            and self.depth == 0
            and self.module.output == "scalar"
            and self.chance(0.2)
        )
        self.emit(f"if {self.condition()}:")
        for arm in range(2):
            saved = self.save()
            self.depth += 1
            for _ in range(self.rng.randint(0, 1)):
                self.statement()
            if arm == 0 and early:
                self.emit(f"return {self.scalar().text}")
            else:
                self.emit(f"{joint} = {self.expression(shape).text}")
            self.depth -= 1
            self.restore(saved)
            if arm == 0:
                self.emit("else:")
        self.bind(joint, shape)


def _wrap(text: str) -> str:
    return text if text.replace(".", "").replace("_", "").isalnum() else f"({text})"


class ModuleWriter:
    """The module: constants, helpers and ``f``."""

    def __init__(self, rng: random.Random, families: set):
        self.rng = rng
        self.families = families
        self.used = set()
        self.analytic = True
        self.fresh = itertools.count(1)
        self.numpy_style = "numpy_scalars" in families and rng.random() < 0.6
        self.scalar_helpers = []
        self.array_helpers = {}
        self.rebindable = []
        self.int_params = []
        self.reserved = {"f", "np", "math"} | {c for c, _ in CONSTANT_ARRAYS.values()}
        self.output = "scalar"
        self.blocks = []

    def helper(self, shape: tuple) -> None:
        """A helper function (and an alternative body, NAME_alt, of the same signature)."""
        number = len(self.scalar_helpers) + sum(map(len, self.array_helpers.values())) + 1
        name = f"h{number}" if shape == () else f"g{number}"
        self.reserved |= {name, f"{name}_alt"}
        bodies = []
        for variant in (name, f"{name}_alt"):
            writer = Writer(self.rng, self.families - {"for", "while", "branches", "setitem"}, self)
            if shape == ():
                writer.values = [Value("a", ()), Value("b", ())]
                header = f"def {variant}(a, b=0.5):"
            else:
                writer.values = [Value("A", shape), Value("s", ())]
                header = f"def {variant}(A, s=1.0):"
            for _ in range(self.rng.randint(0, 2)):
                writer.statement()
            result = writer.expression(shape)
            bodies.append("\n".join([header, *writer.lines, f"    return {result.text}"]))
        self.blocks.extend(bodies)
        self.rebindable.append(name)
        if shape == ():
            self.scalar_helpers.append(name)
        else:
            self.array_helpers.setdefault(shape, []).append(name)

    def function(self) -> tuple:
        """The text of ``f``, its parameters with the call's arguments, and the positions of the
        differentiated arguments."""
        rng, families = self.rng, self.families
        params = []  # (name, kind, value, passed): kind is "number", shape, "dict", "int"
        names = iter(["x", "y", "z", "u"])
        count = rng.randint(1, 3)
        pool = [n for n in PARAM_POOL] if "naming" in families else []
        rng.shuffle(pool)
        for k in range(count):
            if "self_param" in families and k == 0 and rng.random() < 0.7:
                self.used.add("self_param")
                name = "self"
            elif pool and rng.random() < 0.5:
                self.used.add("naming")
                name = pool.pop()
            else:
                name = next(names)
            params.append((name, (), None))
        if "arrays" in families:
            for _ in range(rng.randint(1, 2)):
                shape = rng.choice([(3,), (4,), (3, 4)])
                params.append((f"v{len(params)}", shape, None))
        if "structured" in families and rng.random() < 0.8:
            self.used.add("structured")
            layout = rng.choice([{"a": (), "b": (4,)}, {"a": (), "c": ()}, {"w": (3,), "s": ()}])
            params.append(("p", layout, None))
        if "int_param" in families and ("for" in families) and rng.random() < 0.7:
            params.append(("n", "int", None))
            self.int_params.append("n")
        if "list_params" in families and rng.random() < 0.8:
            self.used.add("list_params")
            params.append(("q", ("list", rng.choice([3, 4])), None))
        default = None
        if "keyword_only" in families and rng.random() < 0.7:
            self.used.add("keyword_only")  # never passed: the call gives arguments by position
            default = ("k", rng.choice(["2.0", "0.5", "-1.5"]), False, "keyword")
        elif "defaults" in families and rng.random() < 0.8:
            self.used.add("defaults")
            default = ("k", rng.choice(["2.0", "0.5", "-1.5"]), rng.random() < 0.5)
        return params, default

    def list_reads(self, writer: "Writer", length: int) -> None:
        """Numbers made from the list parameter ``q`` of ``length`` numbers, as writer values."""
        rng = self.rng
        for _ in range(rng.randint(1, 2)):
            name = writer.new_name()
            form = rng.choice(["slice", "zip", "enumerate", "index", "append"])
            if form == "slice":
                writer.emit(f"{name} = sum(q[1:]) - q[0] * q[-1]")
            elif form == "append":  # a list grown in a loop over a list: unrolled
                writer.emit(f"{name}_terms = []")
                writer.emit("for a in q:")
                writer.emit(f"    {name}_terms.append(a * a - 0.5 * a)")
                writer.emit(f"{name}_terms.extend([q[0] * q[-1]])")
                writer.emit(f"{name} = sum({name}_terms)")
            else:
                writer.emit(f"{name} = 0.0")
                if form == "zip":
                    writer.emit("for a, b in zip(q[:-1], q[1:]):")
                    writer.emit(f"    {name} = {name} + a * b")
                elif form == "enumerate":
                    writer.emit("for i, a in enumerate(q):")
                    writer.emit(f"    {name} = {name} + (i + 1) * a * a")
                else:
                    writer.emit(f"for i in range(len(q) - {rng.choice([1, 2])}):")
                    writer.emit(f"    {name} = {name} + q[i + 1] * q[i] / (1.0 + q[i] * q[i])")
            writer.values.append(Value(name, ()))

    def input_checks(self, writer: "Writer", params: list) -> None:
        """Checks of the number inputs that hold at every drawn point (|x| <= 1.5): an assert and
        an if/raise, run in the primal, that derivatives run too."""
        numbers = [name for name, kind, _ in params if kind == ()]
        if not numbers:
            return
        self.used.add("input_checks")
        self.analytic = False  # a comparison of a complex number raises
        name = self.rng.choice(numbers)
        if self.rng.random() < 0.5:
            writer.emit(f'assert {name} > -100.0, "{name} must be above -100"')
        else:
            writer.emit(f"if abs({name}) > 100.0:")
            writer.emit(f'    raise ValueError("{name} is out of range")')

    def write(self) -> tuple:
        rng, families = self.rng, self.families
        if "helpers" in families:
            for _ in range(rng.randint(1, 2)):
                self.helper(())
            if "arrays" in families and rng.random() < 0.5:
                self.helper(rng.choice([(3,), (4,)]))
        outputs = ["scalar"] * 3
        outputs += ["tuple"] if "tuple_output" in families else []
        outputs += ["array"] if "array_output" in families else []
        self.output = rng.choice(outputs)
        params, default = self.function()
        writer = Writer(rng, families, self)
        if "input_checks" in families and rng.random() < 0.8:
            self.input_checks(writer, params)
        for name, kind, _ in params:
            if kind == "int":
                continue
            if isinstance(kind, tuple) and kind[:1] == ("list",):
                self.list_reads(writer, kind[1])
                continue
            if isinstance(kind, dict):
                for key, shape in kind.items():
                    writer.values.append(Value(f'p["{key}"]', shape, writable=False))
            else:
                writer.values.append(Value(name, kind))
        if default is not None:
            writer.values.append(Value(default[0], ()))
        for _ in range(rng.randint(2, 6)):
            writer.statement()
        writer.lines.append("    return " + self.result(writer))
        signature = [name for name, _, _ in params]
        if default is not None:
            signature += ["*"] if default[3:] == ("keyword",) else []
            signature.append(f"{default[0]}={default[1]}")
        header = f"def f({', '.join(signature)}):"
        self.blocks.append("\n".join([header, *writer.lines]))
        if self.output != "scalar":
            self.used.add("tuple_output" if self.output == "tuple" else "array_output")
        return params, default

    def result(self, writer: Writer) -> str:
        numbers = [v.name for v in writer.values if v.shape == ()]
        arrays = [v for v in writer.values if v.shape != ()]
        if self.output == "array":
            shape = writer.pick(sorted({v.shape for v in arrays})) if arrays else (3,)
            return f"{writer.array(shape).operand()} * {writer.scalar().operand()}"
        terms = numbers[-4:]
        for array in arrays[-2:]:
            if writer.chance(0.7):
                terms.append(f"np.sum({array.name})")
        writer.rng.shuffle(terms)
        first = " + ".join(terms[:-1] if len(terms) > 1 else terms)
        if self.output == "tuple":
            return f"{first}, {terms[-1]}"
        return " + ".join(terms)


def header() -> str:
    lines = ["import math", "", "import numpy as np", ""]
    for name, value in CONSTANT_ARRAYS.values():
        lines.append(f"{name} = np.array({value!r})")
    return "\n".join(lines) + "\n"


def draw_arguments(rng: random.Random, params: list, default) -> tuple:
    def number():
        return rng.uniform(-1.5, 1.5)

    args, wrt = [], []
    for name, kind, _ in params:
        if kind == "int":
            args.append(rng.randint(0, 4))
            continue
        wrt.append(len(args))
        if kind == ():
            args.append(number())
        elif isinstance(kind, dict):
            args.append({key: number() if s == () else _array(rng, s) for key, s in kind.items()})
        elif kind[:1] == ("list",):
            args.append([number() for _ in range(kind[1])])
        else:
            args.append(_array(rng, kind))
    if default is not None and default[2]:
        wrt.append(len(args))
        args.append(number())
    return tuple(args), tuple(wrt)


def _array(rng: random.Random, shape: tuple) -> np.ndarray:
    return np.array([rng.uniform(-1.5, 1.5) for _ in range(int(np.prod(shape)))]).reshape(shape)


def generate(seed: int, families) -> Program:
    """The program of ``seed`` using only ``families`` (each drawn with probability 1/2)."""
    rng = random.Random(seed)
    allowed = sorted(set(families) & set(FAMILIES))
    for _ in range(ATTEMPTS):
        chosen = {family for family in allowed if rng.random() < 0.45}
        if chosen & NEEDS_ARRAYS and "arrays" in allowed:
            chosen.add("arrays")
        module = ModuleWriter(rng, chosen)
        params, default = module.write()
        source = header() + "\n\n" + "\n\n\n".join(module.blocks) + "\n"
        args, wrt = draw_arguments(rng, params, default)
        if _acceptable(source, args):
            names = tuple(name for name, _, _ in params) + ((default[0],) if default else ())
            return Program(
                seed=seed,
                source=source,
                args=args,
                params=names,
                wrt=wrt,
                features=frozenset(module.used),
                analytic=module.analytic,
                output=module.output,
                helpers=tuple(module.rebindable),
                sources_take_args=bool(module.used & {"structured", "list_params"})
                or rng.random() < 0.5,
            )
    raise RuntimeError(f"seed {seed}: no acceptable program in {ATTEMPTS} attempts")


def _acceptable(source: str, args: tuple) -> bool:
    """Whether ``f`` runs at ``args`` without floating-point trouble, to values below MAX_VALUE."""
    namespace = {"__name__": "_screened"}
    exec(compile(source, "<generated program>", "exec"), namespace)
    try:
        with np.errstate(all="raise"):
            value = namespace["f"](*args)
    except (ArithmeticError, ValueError):
        return False
    values = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in _leaves(value)])
    return bool(np.all(np.isfinite(values)) and np.all(np.abs(values) <= MAX_VALUE))


def _leaves(value) -> list:
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


_modules = itertools.count()


def load(program: Program, workdir: Path):
    """Write ``program`` to a fresh module file in ``workdir`` (s2sad reads source text), import
    it under a unique name registered in ``sys.modules`` (exported derivative modules import from
    it), and return the module."""
    seed = str(program.seed).replace("-", "pinned")  # a module name is an identifier
    name = f"s2sad_differential_{seed}_{next(_modules)}"
    path = Path(workdir) / f"{name}.py"
    path.write_text(program.source)
    if str(workdir) not in sys.path:
        sys.path.insert(0, str(workdir))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def from_source(
    seed: int, source: str, args: tuple, features=(), output: str = "scalar"
) -> Program:
    """A program written out by hand (a pinned failure): every non-int argument is differentiated."""
    import ast

    tree = ast.parse(source)
    (fn,) = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "f"]
    params = tuple(a.arg for a in fn.args.args)
    wrt = tuple(k for k, a in enumerate(args) if not isinstance(a, int))
    analytic = "analytic" in features
    return Program(seed, source, tuple(args), params, wrt, frozenset(features) - {"analytic"},
                   analytic, output)  # fmt: skip
