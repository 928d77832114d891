"""``x is None`` and ``x is not None``: tests on parameters that default to None, decided while
lowering.

Library code gives optional parameters the default None and tests them (``if w is None: w =
np.ones(n)``). An argument that is None is a structure with no leaves (see
:class:`s2sad.trees.Tree`), so code is specialised on it as on any structure: the parameter is the
constant None there, a value everywhere else, and the test is decided while lowering, so only the
branch Python takes is lowered. A value of the function's own making that may or may not be None
(the result of an unknown function) is tested when the code runs.
"""

from __future__ import annotations

import operator

import libcst as cst

from .derivatives import NO_DERIVATIVE
from .ir import PREC_COMPARE, Const, Primitive, Ref, Var

IS = Primitive("is", operator.is_, "infix", "is", PREC_COMPARE, foldable=False)
IS_NOT = Primitive("is not", operator.is_not, "infix", "is not", PREC_COMPARE, foldable=False)
NO_DERIVATIVE.update({IS.name, IS_NOT.name})
_SINGLETONS = (None, True, False)


class IdentityLowering:
    """The ``is`` part of :class:`s2sad.lower.Lowering`."""

    def identity(self, left, target: cst.ComparisonTarget, node, hint: str = ""):
        """``left is right`` (or ``is not``): a constant where it is known while lowering."""
        negated = isinstance(target.operator, cst.IsNot)
        right = self.expr(target.comparator)
        known = self._identical(left, right, node)
        if known is not None:
            return Const(known != negated)
        args = tuple(self.atom(v, target.comparator) for v in (left, right))
        return self.emit(IS_NOT if negated else IS, args, node, hint)

    def _identical(self, left, right, node):
        """Whether ``left is right``, if known now; ``None`` if only the running code knows."""
        singleton = [v for v in (left, right) if isinstance(v, Const) and v.value in _SINGLETONS]
        if not singleton:
            return None
        other = right if singleton[0] is left else left
        value = singleton[0].value
        if isinstance(other, Const):
            return other.value is value
        if isinstance(other, Ref):
            return other.obj is value if other.origin == "value" else None
        if not isinstance(other, Var):  # a tuple, a dict, a function
            return False
        parameter = self.parameter_vars.get(other.name)
        if parameter is not None and self.structures is None:
            raise self.structure_needed(node, parameter, "something that may be None")
        source = self.sources.get(other.name)
        if isinstance(source, Var) and source.name in self.arguments:
            return False  # an argument's value: None arguments are constants (see above)
        return None
