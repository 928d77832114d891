"""s2sad: source-to-source automatic differentiation for Python.

Reads a plain Python function, lowers it to an SSA primal trace in the notation of the lecture notes
(``w1 = x1``, ``w3 = w1 * w2``), and generates Python source for its tangent (forward mode, ``w3_dot``)
and adjoint (reverse mode, ``w3_bar``) programs, which it compiles and runs.

>>> import math, s2sad
>>> def f(x1, x2):
...     return x1 * x2 + math.sin(x1)
>>> s2sad.grad(f, wrt=(0, 1))(2.0, 5.0) == (5 + math.cos(2.0), 2.0)
True
"""

from .api import (
    Trace,
    adjoint_source,
    explain,
    grad,
    tangent_source,
    trace,
    value_and_grad,
)
from .higher import hessian, hvp, hvp_source
from .batching import vmap
from .jacobians import elementwise_grad, jacobian, jvp, vector_tangent_source, vjp
from .chain import ChainOrder, chain_order, chain_product
from .check import GradientCheck, GradientCheckError, check_grad
from .custom import CustomRuleError, custom_rule, stop_gradient
from .export import ExportError, export_source
from .graph import Graph, GraphvizNotFoundError, graph
from .errors import (
    ArgumentError,
    NonScalarOutputError,
    NoDerivativeHereError,
    NotDifferentiableError,
    S2SADError,
    SourceNotFoundError,
    StaleTraceError,
    StructureNeededError,
    UnknownFunctionError,
    UnsupportedSyntaxError,
)

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "ChainOrder",
    "CustomRuleError",
    "ExportError",
    "GradientCheck",
    "GradientCheckError",
    "Graph",
    "GraphvizNotFoundError",
    "NonScalarOutputError",
    "NoDerivativeHereError",
    "NotDifferentiableError",
    "S2SADError",
    "SourceNotFoundError",
    "StaleTraceError",
    "StructureNeededError",
    "Trace",
    "UnknownFunctionError",
    "UnsupportedSyntaxError",
    "adjoint_source",
    "chain_order",
    "chain_product",
    "check_grad",
    "custom_rule",
    "elementwise_grad",
    "explain",
    "export_source",
    "grad",
    "graph",
    "stop_gradient",
    "hessian",
    "hvp",
    "hvp_source",
    "jacobian",
    "jvp",
    "tangent_source",
    "trace",
    "value_and_grad",
    "vector_tangent_source",
    "vjp",
    "vmap",
]
