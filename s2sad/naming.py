"""Names for the variables a transform adds to a program, never one the program already uses.

Every transform (tangent, adjoint, flattening) starts a :class:`Names` from the program it
transforms: the allocator knows every name in it (parameters, every variable bound or read, the
module globals generated code reads by their own name), so whatever the user called a parameter,
and whatever names lowering or an earlier transform gave the program, a new variable never captures
a value the code still reads. A name is handed out once; a *derived* name, like the adjoint
``w3_bar`` of ``w3``, is the same each time it is asked for, so that every statement that mentions
the adjoint of ``w3`` means the same variable.

>>> names = Names({"x", "x_bar"})
>>> names.bar("x"), names.bar("x"), names.dot("x"), names.fresh("_tape1")
('x_bar_', 'x_bar_', 'x_dot', '_tape1')
"""

from __future__ import annotations

from .ir import Call, Function, Ref, Var
from .traversal import defines, stmt_exprs, subexprs, walk


class Names:
    """The names taken in one program, and the allocator of new ones."""

    def __init__(self, taken=()):
        self.taken = set(taken)
        self._derived: dict = {}

    @classmethod
    def of(cls, fn: Function) -> "Names":
        return cls(used_names(fn))

    def fresh(self, stem: str) -> str:
        """``stem``, or ``stem_``, ``stem__``… if that spelling is taken; taken from now on."""
        name = stem
        while name in self.taken:
            name += "_"
        self.taken.add(name)
        return name

    def numbered(self, stem: str) -> str:
        """``stem_1``, or the first of ``stem_2``, ``stem_3``… that is free."""
        k = 1
        while f"{stem}_{k}" in self.taken:
            k += 1
        return self.fresh(f"{stem}_{k}")

    def derived(self, name: str, suffix: str) -> str:
        """``{name}_{suffix}``, made free once and the same every time after."""
        key = (name, suffix)
        if key not in self._derived:
            self._derived[key] = self.fresh(f"{name}_{suffix}")
        return self._derived[key]

    def bar(self, name: str) -> str:
        """The adjoint of ``name``: ``w3_bar``, as the notes write w̄3."""
        return self.derived(name, "bar")

    def dot(self, name: str) -> str:
        """The tangent of ``name``: ``w3_dot``, as the notes write ẇ3."""
        return self.derived(name, "dot")

    def discard(self) -> str:
        """A name for values nobody reads (``for _ in range(n)``): ``_``, or ``__``… if the program
        uses that (see :func:`is_discard`)."""
        if "_" not in self._derived:
            self._derived["_"] = self.fresh("_")
        return self._derived["_"]


def is_discard(name: str) -> bool:
    """Whether a generated name stands for a value nobody reads (``_``, ``__``…)."""
    return set(name) == {"_"}


def used_names(fn: Function) -> set:
    """Every name ``fn`` uses: its name, its parameters, every variable it binds or reads, and the
    outside objects it refers to by name (a dataclass it returns included)."""
    names = {fn.name, *fn.params}
    for stmt in walk(fn.body):
        names.update(v.name for v in defines(stmt))
        for expr in stmt_exprs(stmt):
            for sub in subexprs(expr):
                if isinstance(sub, (Var, Ref)):
                    names.add(sub.name)
                elif isinstance(sub, Call):
                    names.update(v.name for _, v in sub.params if isinstance(v, Ref))
    return names
