"""Split generated lines too long to fit exactly as black splits them, without running black.

The printer writes black's layout for every line that fits (spacing, ``x**2``, quotes, the fewest
parentheses), one statement a line. A statement longer than black's 88 columns is split here by the
rules of black's stable style, restricted to the statements generated code has: an assignment, a
``return``, an expression, ``if``/``elif``/``while``/``for`` headers and a ``def`` line. As black
does, the right-hand side is split at its last bracket pair (invisible parentheses around an
assigned or returned value, or a condition, count as one), trying first to keep trailing calls
whole; a body still too long is split at its loosest operators or commas, one operand a line,
commas trailing; a ``def`` line is split at its parameters. Black is imported and run only for a
statement outside that grammar (a ``lambda``, a magic trailing comma, a ``*args`` call, a tuple
of one expression such as ``(a + b,)``, wide characters), so it stays off the path of a first
call: it costs more to import than s2sad, and about 0.3 ms a line. The tests check, over
thousands of random statements and over generated programs, that the output is black's.
"""

from __future__ import annotations

from .layout_tokens import (
    CLOSING,
    COMMA,
    DOT,
    LINE_LENGTH,
    OPENING,
    CannotSplit,
    Leaf,
    Line,
    Unsupported,
    parse,
)

__all__ = ["LINE_LENGTH", "Unsupported", "split_statement"]


def fits(line, length: int = LINE_LENGTH) -> bool:
    return len(str(line)) <= length


def split_statement(text: str) -> list:
    """The lines black makes of the one-line statement ``text``; :class:`Unsupported` if it is
    not one this module lays out."""
    return [str(part) for part in _transform(parse(text), False)]


def _transform(line: Line, force: bool) -> list:
    """black's ``transform_line``: ``line`` if it fits, else the lines of the first split that
    works, each transformed in turn."""
    text = str(line)
    if not line.split_rhs and fits(text):
        return [line]
    if line.is_def:
        transforms = [_left_hand_split]
    elif line.inside:
        transforms = [_delimiter_split, _right_hand_split_with_omits]
    else:
        transforms = [_right_hand_split_with_omits]
    for transform in transforms:
        try:
            return _run(line, transform, force, text)
        except CannotSplit:
            continue
    return [line]


def _run(line: Line, transform, force: bool, text: str) -> list:
    optional = [bracket for bracket in line.invisible if bracket.depth == 0]
    result = []
    for part in transform(line, force):
        if str(part) == text:
            raise CannotSplit("unchanged")
        result.extend(_transform(part, force))
    if (
        force
        or transform is not _right_hand_split_with_omits
        or not line.invisible
        or any(bracket.value for bracket in optional)
        or fits(result[0])
    ):
        return result
    copy = Line(line.depth, line.inside)
    copy.split_rhs = line.split_rhs
    copies = {}
    for leaf in line.leaves:
        new = copies[id(leaf)] = Leaf(leaf.type, leaf.value, leaf.prefix if copies else "")
        new.before, new.after, new.atom = leaf.before, leaf.after, leaf.atom
        new.opening = copies.get(id(leaf.opening)) if leaf.opening is not None else None
        copy.append(new, True)
    second = _run(copy, transform, True, text)
    return second if all(fits(part) for part in second) else result


def _left_hand_split(line: Line, force: bool) -> list:
    opening = next((leaf for leaf in line.leaves if leaf.type == "("), None)
    if opening is None:
        raise CannotSplit("no brackets")
    start = line.leaves.index(opening) + 1
    stop = next(i for i, leaf in enumerate(line.leaves) if leaf.opening is opening)
    head, body, tail = line.leaves[:start], line.leaves[start:stop], line.leaves[stop:]
    if body and not any(leaf.type == "," for leaf in body):
        body = body + [Leaf(",", ",")]  # a def's lone parameter takes a trailing comma too
    return _built(line, head, body, tail, opening)


def _built(line: Line, head: list, body: list, tail: list, opening: Leaf) -> list:
    """Head, body and tail lines of a bracket split, as ``bracket_split_build_line`` builds them."""
    tracked = _inside_matching(head)
    head_line = Line(line.depth)
    for leaf in head:
        head_line.append(leaf, id(leaf) in tracked)
    body_line = Line(line.depth + 1, inside=True)
    for leaf in body:
        body_line.append(leaf, True)
    tail_line = Line(line.depth)
    for leaf in tail:
        tail_line.append(leaf, False)
    if not body_line.leaves:
        size = len(str(tail_line).strip())
        if size < 3:
            raise CannotSplit("not worth it")
    if opening.atom and opening.value in "[{(" and body_line.leaves:
        last = body_line.leaves[-1]
        exclude = {id(last)} if last.type == "," else set()
        body_line.split_rhs = body_line.max_priority(exclude) == COMMA
    return [head_line, body_line, tail_line]


def _inside_matching(leaves: list) -> set:
    ids, stack = set(), []
    for leaf in leaves:
        if leaf.type in OPENING:
            stack.append([id(leaf)])
        elif leaf.type in CLOSING:
            if stack and leaf.opening is not None and id(leaf.opening) == stack[-1][0]:
                level = stack.pop()
                level.append(id(leaf))
                ids.update(level)
                if stack:
                    stack[-1].extend(level)
        elif stack:
            stack[-1].append(id(leaf))
    return ids


def _right_hand_split_with_omits(line: Line, force: bool) -> list:
    prefix_lengths, length = {}, 4 * line.depth
    for leaf in line.leaves:
        prefix_lengths[id(leaf)] = length
        length += len(leaf.prefix) + len(leaf.value)
    first_lines = None
    for omit in _trailers_to_omit(line):
        if omit:
            target = next(
                (
                    l.opening
                    for l in reversed(line.leaves)
                    if l.type in CLOSING and id(l) not in omit
                ),
                None,
            )
            if (
                target is not None
                and target.value
                and prefix_lengths.get(id(target), 0) > LINE_LENGTH
            ):
                continue
        lines = _right_hand_split(line, force, omit)
        if first_lines is None and not omit:
            first_lines = lines
        if fits(lines[0]):
            return lines
    return first_lines if first_lines is not None else _right_hand_split(line, force, set())


def _first_right_hand_split(line: Line, omit) -> tuple:
    """Head, body and tail at the last bracket pair not in ``omit`` with something inside."""
    tail, body, head = [], [], []
    current, opening, closing = tail, None, None
    for leaf in reversed(line.leaves):
        if current is body and leaf is opening:
            current = head if body else tail
        current.append(leaf)
        if current is tail and leaf.type in CLOSING and id(leaf) not in omit:
            opening, closing, current = leaf.opening, leaf, body
    if not (opening and closing and head):
        raise CannotSplit("no brackets")
    head.reverse(), body.reverse(), tail.reverse()
    return (*_built(line, head, body, tail, opening), opening, closing)


def _right_hand_split(line: Line, force: bool, omit) -> list:
    return _maybe_omitting_optional_parens(_first_right_hand_split(line, omit), line, force, omit)


def _maybe_omitting_optional_parens(rhs: tuple, line: Line, force: bool, omit) -> list:
    head, body, tail, opening, closing = rhs
    if (
        not force
        and opening.type == "("
        and not opening.value
        and closing.type == ")"
        and not closing.value
        and _can_omit_invisible_parens(rhs)
    ):
        omit = {id(closing), *omit}
        try:
            without = _first_right_hand_split(line, omit)
            if _prefer_without(without, rhs):
                return _maybe_omitting_optional_parens(without, line, force, omit)
        except CannotSplit:
            if not _can_be_split(body) and not fits(body):
                raise
    for bracket in (opening, closing):  # black's ensure_visible
        if bracket.type in "()":
            bracket.value = bracket.type
    return [part for part in (head, body, tail) if part.leaves]


def _can_omit_invisible_parens(rhs: tuple) -> bool:
    line = rhs[1]
    if not line.delimiters:
        return True
    priority = line.max_priority()
    if line.count(priority) > 1:
        return False
    if priority == DOT:
        return True
    first, second = line.leaves[0], line.leaves[1]
    if first.type in OPENING and second.type not in CLOSING and _can_omit_opening(line, first):
        return True
    penultimate, last = line.leaves[-2], line.leaves[-1]
    if last.type in (")", "}") or (last.type == "]" and last.atom):
        if penultimate.type in OPENING:
            return False
        if _can_omit_closing(line, last):
            return True
    return False


def _can_omit_opening(line: Line, first: Leaf) -> bool:
    remainder, length = False, 4 * line.depth
    for index, leaf in enumerate(line.leaves):
        if leaf.type in CLOSING and leaf.opening is first:
            remainder = True
        if remainder:
            length += len(leaf.prefix) + len(leaf.value)
            if length > LINE_LENGTH:
                return False
            if leaf.type in OPENING:
                remainder = False
    return True


def _can_omit_closing(line: Line, last: Leaf) -> bool:
    length, seen_other_brackets = 4 * line.depth, False
    for leaf in line.leaves:
        length += len(leaf.prefix) + len(leaf.value)
        if leaf is last.opening:
            if seen_other_brackets or length <= LINE_LENGTH:
                return True
        elif leaf.type in OPENING:
            seen_other_brackets = True
    return False


def _prefer_without(without: tuple, rhs: tuple) -> bool:
    """black's ``_prefer_split_rhs_oop_over_rhs``, for the statements generated code has."""
    head = rhs[0].leaves
    if not (len(head) >= 2 and head[-2].type == "="):
        return True
    if not any(leaf.type in OPENING or leaf.type in CLOSING for leaf in head[:-1]):
        return True
    if not fits(rhs[0], LINE_LENGTH - 1):
        return True
    after_assign = False
    for leaf in reversed(without[0].leaves):
        if leaf.type == "=":
            break
        if leaf.type in CLOSING:
            after_assign = True
            break
    return after_assign or (
        any(leaf.type == "=" for leaf in without[0].leaves) and fits(without[0])
    )


def _can_be_split(line: Line) -> bool:
    leaves = line.leaves
    if len(leaves) < 2:
        return False
    if leaves[0].type == "STRING" and leaves[1].type == ".":
        calls = dots = 0
        following = leaves[-1]
        for leaf in leaves[-2::-1]:
            if leaf.type in OPENING:
                if following.type not in CLOSING:
                    return False
                calls += 1
            elif leaf.type == ".":
                dots += 1
            elif leaf.type == "NAME":
                if not (following.type == "." or following.type in OPENING):
                    return False
            elif leaf.type not in CLOSING:
                return False
            if dots > 1 and calls > 1:
                return False
            following = leaf
    return True


def _trailers_to_omit(line: Line):
    """black's ``generate_trailers_to_omit``: ever larger sets of closing brackets to keep whole."""
    omit: set = set()
    yield omit
    length, opening, closing, inner = 4 * line.depth, None, None, set()
    leaves = line.leaves
    for index in range(len(leaves) - 1, -1, -1):
        leaf = leaves[index]
        length += len(leaf.prefix) + len(leaf.value)
        if length > LINE_LENGTH:
            return
        previous = leaves[index - 1] if index > 0 else None
        trailing_comma = previous is not None and previous.type == ","
        if opening is not None:
            if leaf is opening:
                opening = None
            elif leaf.type in CLOSING:
                if trailing_comma and not _one_sequence_between(leaf.opening, leaf, leaves):
                    return  # a pair with a trailing comma is never kept whole
                inner.add(id(leaf))
        elif leaf.type in CLOSING:
            if previous is not None and previous.type in OPENING:
                inner.add(id(leaf))
                continue
            if closing is not None:
                omit.add(id(closing))
                omit.update(inner)
                inner.clear()
                yield omit
            if trailing_comma and not _one_sequence_between(leaf.opening, leaf, leaves):
                return
            if leaf.value:
                opening, closing = leaf.opening, leaf


def _one_sequence_between(opening: Leaf, closing: Leaf, leaves: list) -> bool:
    """black's ``is_one_sequence_between``: parentheses holding one item and a comma. It reads
    the depths the leaves were last marked with, by whichever line marked them last, as black's
    does: the splits tried before this one decide them."""
    if (opening.type, closing.type) != ("(", ")") or opening not in leaves:
        return False
    depth, commas = closing.depth + 1, 0
    for leaf in leaves[leaves.index(opening) + 1 :]:
        if leaf is closing:
            break
        if leaf.depth == depth and leaf.type == ",":
            commas += 1
            if not opening.atom:  # a call's arguments
                commas += 1
                break
    return commas < 2


def _delimiter_split(line: Line, force: bool) -> list:
    last = line.leaves[-1] if line.leaves else None
    if last is None:
        raise CannotSplit("empty")
    priority = line.max_priority({id(last)})
    if not priority:
        raise CannotSplit("no delimiters")
    if priority == DOT and line.count(priority) == 1:
        raise CannotSplit("a single attribute")
    lines, current = [], Line(line.depth, line.inside)
    for leaf in line.leaves:
        current.append(leaf, line.inside)
        if line.delimiters.get(id(leaf)) == priority:
            lines.append(current)
            current = Line(line.depth, line.inside)
    if current.leaves:
        if priority == COMMA and current.leaves[-1].type != ",":
            current.append(Leaf(",", ","), True)
        lines.append(current)
    for part in lines:
        part.leaves[0].prefix = ""
    return lines
