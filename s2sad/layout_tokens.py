"""Generated statements as black sees them: tokens with their spacing, bracket pairs, delimiter
priorities, and the invisible parentheses black puts around an assigned or returned value, a
condition, a loop's target and iterable, and each conditional expression (see :mod:`s2sad.layout`).
"""

from __future__ import annotations

import io
import tokenize

LINE_LENGTH = 88  # black's default, which the generated code follows

COMMA, TERNARY, LOGIC, STRING, COMPARATOR, DOT = 18, 16, 14, 12, 10, 1
MATH = {"|": 9, "^": 8, "&": 7, "<<": 6, ">>": 6, "+": 5, "-": 5}
MATH.update({"*": 4, "/": 4, "//": 4, "%": 4, "@": 4, "**": 2})
OPENING, CLOSING = "([{", ")]}"
COMPARATORS = {"<", ">", "==", "!=", "<=", ">="}
KEYWORDS = {"return", "if", "elif", "else", "while", "for", "in", "and", "or", "not", "is"}
ASSIGNMENTS = {"=", "+=", "-=", "*=", "/=", "//=", "%=", "@=", "**=", "|=", "&=", "^="}
UNSUPPORTED = {"lambda", "yield", "await", "async", "import", "from", "with", "del", "assert"}
UNSUPPORTED |= {"raise", "global", "nonlocal", "class", "try", "except", ":="}


class Unsupported(Exception):
    """A statement outside the grammar laid out here: black lays it out instead."""


class CannotSplit(Exception):
    pass


class Leaf:
    """A token. ``before``/``after``: its priority as a delimiter split before or after it."""

    __slots__ = ("type", "value", "prefix", "before", "after", "atom", "opening", "depth")

    def __init__(self, type_: str, value: str, prefix: str = ""):
        self.type, self.value, self.prefix = type_, value, prefix
        self.before = self.after = 0
        self.atom = True  # a bracket of a display or of invisible parentheses, not of a call
        self.opening = None  # a closing bracket's opening bracket
        self.depth = 0


class Line:
    """A line of leaves with black's bracket tracking over the leaves it marks."""

    def __init__(self, depth: int, inside: bool = False):
        self.depth, self.inside = depth, inside
        self.leaves: list = []
        self.delimiters: dict = {}
        self.invisible: list = []
        self.split_rhs = False
        self._depth = 0  # black's bracket depth: brackets open, and a loop target being read
        self._loop_targets: list = []  # the depths of loop targets being read
        self._open = 0  # brackets open
        self._previous = None

    def append(self, leaf: Leaf, track: bool) -> None:
        """Add ``leaf``; ``track``: mark its depth and delimiters, as black's BracketTracker does
        (between a loop's ``for`` and ``in`` one level deeper)."""
        if not track or (leaf.type in CLOSING and not self._open and not self._depth):
            self.leaves.append(leaf)
            return
        if self._loop_targets and self._loop_targets[-1] == self._depth and leaf.value == "in":
            self._depth -= 1
            self._loop_targets.pop()
        if leaf.type in CLOSING:
            self._depth -= 1
            self._open -= 1
            if not leaf.value:
                self.invisible.append(leaf)
        leaf.depth = self._depth
        if not self._depth:
            if leaf.before and self._previous is not None:
                self.delimiters[id(self._previous)] = leaf.before
            elif leaf.after:
                self.delimiters[id(leaf)] = leaf.after
        if leaf.type in OPENING:
            self._depth += 1
            self._open += 1
            if not leaf.value:
                self.invisible.append(leaf)
        self._previous = leaf
        self.leaves.append(leaf)
        if leaf.type == "NAME" and leaf.value == "for":
            self._depth += 1
            self._loop_targets.append(self._depth)

    @property
    def is_def(self) -> bool:
        return bool(self.leaves) and self.leaves[0].value == "def"

    def __str__(self) -> str:
        if not self.leaves:
            return ""
        first, rest = self.leaves[0], self.leaves[1:]
        return (
            first.prefix
            + "    " * self.depth
            + first.value
            + "".join(leaf.prefix + leaf.value for leaf in rest)
        )

    def max_priority(self, exclude=()) -> int:
        return max((p for k, p in self.delimiters.items() if k not in exclude), default=0)

    def count(self, priority: int) -> int:
        return sum(1 for p in self.delimiters.values() if p == priority)


def parse(text: str) -> Line:
    """The statement ``text`` (one line, indented by multiples of four spaces) as black's line."""
    indent = len(text) - len(text.lstrip(" "))
    if indent % 4 or not text.isascii():
        raise Unsupported(text)
    line = Line(indent // 4)
    for leaf in _statement(_tokens(text.strip())):
        line.append(leaf, True)
    return line


def _tokens(text: str) -> list:
    leaves, end = [], 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
                continue
            if tok.type not in (tokenize.NAME, tokenize.NUMBER, tokenize.STRING, tokenize.OP):
                raise Unsupported(text)  # a comment, f-string parts (Python 3.12), an indent
            if tok.start[0] != 1:
                raise Unsupported(text)
            kind = tok.string if tok.type == tokenize.OP else tokenize.tok_name[tok.type]
            leaves.append(Leaf(kind, tok.string, " " * (tok.start[1] - end)))
            end = tok.end[1]
    except (tokenize.TokenError, SyntaxError):
        raise Unsupported(text) from None
    if not leaves or any(leaf.value in UNSUPPORTED for leaf in leaves):
        raise Unsupported(text)
    leaves[0].prefix = ""
    return leaves


def _statement(leaves: list) -> list:
    """Match brackets, give each leaf its delimiter priorities, and add black's invisible
    parentheses around the parts of the statement that take them."""
    stack = []
    for i, leaf in enumerate(leaves):
        previous = leaves[i - 1] if i else None
        if leaf.type in OPENING:
            leaf.atom = not (
                previous is not None
                and (previous.type in CLOSING or previous.type in ("NAME", "STRING"))
                and previous.value not in KEYWORDS
            )
            stack.append(leaf)
        elif leaf.type in CLOSING:
            leaf.opening = stack.pop()
            leaf.atom = leaf.opening.atom
            if previous.type == "," and not _one_tuple(leaves, leaf):
                raise Unsupported("magic trailing comma")
            if previous.type == "," and not _plain(leaves[leaves.index(leaf.opening) + 1 : i - 1]):
                # black splits around a tuple of one expression by depths its earlier tries left
                raise Unsupported("a tuple of one expression")
        leaf.before = _priority_before(
            leaf, previous, leaves[i + 1] if i + 1 < len(leaves) else None
        )
        leaf.after = COMMA if leaf.type == "," else 0
    top = [i for i, leaf in enumerate(leaves) if _depth(leaves, i) == 0]
    if leaves[0].value == "def":
        return leaves
    return _ternaries_wrapped(_wrapped_statement(leaves, top))


def _wrapped_statement(leaves: list, top: list) -> list:
    first = leaves[0].value
    if first in ("if", "elif", "while"):
        return _wrapped(leaves, 1, len(leaves) - 1)
    if first == "for":
        inside = next(i for i in top if leaves[i].value == "in")
        leaves[inside].before = 0  # the loop's `in` is no comparison
        leaves = _wrapped(leaves, inside + 1, len(leaves) - 1)
        return _wrapped(leaves, 1, inside, target=True)
    if first == "return":
        return _wrapped(leaves, 1, len(leaves)) if len(leaves) > 1 else leaves
    equals = [i for i in top if leaves[i].value in ASSIGNMENTS]
    if len(equals) > 1:
        raise Unsupported("chained assignment")
    if equals:
        (at,) = equals
        leaves = _wrapped(leaves, at + 1, len(leaves))
        if any(leaves[i].type == "," for i in top if i < at):
            leaves = _wrapped(leaves, 0, at, target=True)
    return leaves


def _ternaries_wrapped(leaves: list) -> list:
    """Invisible parentheses around each conditional expression that is not already the one thing
    in a pair of parentheses, as black's ``visit_test`` puts them: a nested one splits whole."""
    where = {id(leaf): i for i, leaf in enumerate(leaves)}
    spans = []
    for i, leaf in enumerate(leaves):
        if leaf.value != "if" or leaf.before != TERNARY:
            continue
        start = i - 1
        while start >= 0 and not _starts_after(leaves[start]):
            opening = leaves[start].opening
            start = (where[id(opening)] if opening is not None else start) - 1
        end = i + 1
        while end < len(leaves) and not _ends_before(leaves[end]):
            closing = leaves[end].type in OPENING and next(
                j for j in range(end, len(leaves)) if leaves[j].opening is leaves[end]
            )
            end = (closing or end) + 1
        before = leaves[start] if start >= 0 else None
        after = leaves[end] if end < len(leaves) else None
        if before is not None and before.type == "(" and after is not None:
            if after.opening is before:
                continue
        spans.append((start + 1, end))
    if not spans:
        return leaves
    out, stack = [], []
    for i, leaf in enumerate(leaves + [None]):
        for _ in range(sum(1 for _, end in spans if end == i)):
            rpar = Leaf(")", "")
            rpar.opening, rpar.atom = stack.pop(), False
            out.append(rpar)
        if leaf is None:
            break
        for _ in range(sum(1 for start, _ in spans if start == i)):
            lpar = Leaf("(", "", leaf.prefix)
            lpar.atom, leaf.prefix = False, ""
            stack.append(lpar)
            out.append(lpar)
        out.append(leaf)
    return out


def _starts_after(leaf: Leaf) -> bool:
    """Whether a conditional expression ending later starts right after ``leaf``."""
    if leaf.type in OPENING or leaf.type in (",", ":") or leaf.value in ASSIGNMENTS:
        return True
    if leaf.value == "else":
        return True
    return leaf.value in ("return", "if", "elif", "while", "for", "in") and leaf.before == 0


def _ends_before(leaf: Leaf) -> bool:
    return leaf.type in CLOSING or leaf.type in (",", ":") or leaf.value in ASSIGNMENTS


def _depth(leaves: list, index: int) -> int:
    depth = 0
    for leaf in leaves[:index]:
        depth += leaf.type in OPENING
        depth -= leaf.type in CLOSING
    return depth


def _one_tuple(leaves: list, closing: Leaf) -> bool:
    """``(x,)``: a tuple of one, whose comma black does not take as a magic trailing comma."""
    if closing.type != ")" or not closing.atom:
        return False
    start = leaves.index(closing.opening)
    depth, commas = 0, 0
    for leaf in leaves[start + 1 : leaves.index(closing)]:
        depth += leaf.type in OPENING
        depth -= leaf.type in CLOSING
        commas += depth == 0 and leaf.type == ","
    return commas == 1


def _plain(item: list) -> bool:
    """``x`` or ``(a, b, c)``: one leaf, or one pair of brackets around leaves."""
    if len(item) == 1:
        return True
    inner = item[1:-1]
    return (
        item[0].type in OPENING
        and item[-1].opening is item[0]
        and not any(leaf.type in OPENING or leaf.type in CLOSING for leaf in inner)
    )


def _wrapped(leaves: list, start: int, stop: int, target: bool = False) -> list:
    """``leaves`` with invisible parentheses around ``leaves[start:stop]``, as black puts them
    around a statement's child; none around a tuple already in parentheses."""
    child = leaves[start:stop]
    if not child:
        return leaves
    if child[0].type == "(" and child[-1].opening is child[0]:
        empty = child[1] is child[-1]
        if empty or _one_tuple(leaves, child[-1]) or (_commas(child) and not target):
            return leaves
        raise Unsupported("parentheses black would remove")
    if child[0].type in ("*", "**"):
        raise Unsupported("starred value")
    lpar, rpar = Leaf("(", "", child[0].prefix), Leaf(")", "")
    child[0].prefix = ""
    rpar.opening = lpar
    return leaves[:start] + [lpar, *child, rpar] + leaves[stop:]


def _commas(child: list) -> bool:
    depth = 0
    for leaf in child[1:-1]:
        depth += leaf.type in OPENING
        depth -= leaf.type in CLOSING
        if depth == 0 and leaf.type == ",":
            return True
    return False


def _unary(previous) -> bool:
    return previous is None or (
        previous.type not in CLOSING
        and previous.type not in ("NAME", "NUMBER", "STRING")
        or previous.value in KEYWORDS
    )


def _priority_before(leaf: Leaf, previous, following) -> int:
    if leaf.type in ("*", "**") and _unary(previous):
        raise Unsupported("unpacking")
    if leaf.type == "." and (previous is None or previous.type in CLOSING):
        return DOT
    if leaf.type in MATH and not _unary(previous):
        return MATH[leaf.type]
    if leaf.type in COMPARATORS:
        return COMPARATOR
    if leaf.type == "STRING" and previous is not None and previous.type == "STRING":
        return STRING
    if leaf.type != "NAME" or previous is None:
        return 0
    value = leaf.value
    if value in ("if", "else") or value in ("and", "or"):
        return TERNARY if value in ("if", "else") else LOGIC
    if value == "is" or (value == "in" and previous.value != "not"):
        return COMPARATOR
    if value == "not" and following is not None and following.value == "in":
        return COMPARATOR if previous.value != "is" else 0
    return 0
